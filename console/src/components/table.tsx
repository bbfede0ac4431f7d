// SimpleTable: a sortable table for lists of a few thousand rows at most
// (sources, rules, users). Search results use VirtualTable instead.
import { useMemo, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";

export interface Column<T> {
  key: string;
  label: string;
  render?: (row: T) => ComponentChildren;
  value?: (row: T) => string | number;
  num?: boolean;
  width?: string;
}

export function SimpleTable<T>({
  columns,
  rows,
  caption,
  rowKey,
  initialSort,
  empty = "Nothing to show.",
}: {
  columns: Column<T>[];
  rows: T[];
  caption: string;
  rowKey: (r: T) => string | number;
  initialSort?: { key: string; desc?: boolean };
  empty?: string;
}) {
  const [sort, setSort] = useState(initialSort ?? null);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const col = columns.find((c) => c.key === sort.key);
    if (!col) return rows;
    const val = col.value ?? ((r: T) => (r as Record<string, unknown>)[col.key] as string | number);
    const out = [...rows].sort((a, b) => {
      const x = val(a) ?? "";
      const y = val(b) ?? "";
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return sort.desc ? out.reverse() : out;
  }, [rows, sort, columns]);
  if (!rows.length) return <p class="empty">{empty}</p>;
  return (
    <table class="grid">
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => {
            const active = sort?.key === c.key;
            return (
              <th
                key={c.key}
                class={c.num ? "num" : undefined}
                style={c.width ? { width: c.width } : undefined}
                aria-sort={active ? (sort!.desc ? "descending" : "ascending") : undefined}
              >
                <button
                  type="button"
                  class="th-sort"
                  onClick={() => setSort({ key: c.key, desc: active ? !sort!.desc : !!c.num })}
                >
                  {c.label}
                  <span aria-hidden="true">{active ? (sort!.desc ? " ▾" : " ▴") : ""}</span>
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {sorted.map((r) => (
          <tr key={rowKey(r)}>
            {columns.map((c) => (
              <td key={c.key} class={c.num ? "num" : undefined}>
                {c.render ? c.render(r) : String((r as Record<string, unknown>)[c.key] ?? "")}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
