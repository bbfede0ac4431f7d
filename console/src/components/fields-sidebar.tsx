// FieldsSidebar: the fields of the matching events with how many have
// them and their top values; a click on a value filters for it (+) or out
// of the results (−); a field can be shown as a column.
import { useMemo, useState } from "preact/hooks";
import { entityHref, entityOf } from "../lib/entities";
import { Link } from "./link";

export interface FieldSummary {
  name: string;
  hits: number;
  top_values?: { value: string; hits: number }[];
}

interface Props {
  fields: FieldSummary[];
  total: number;
  columns: string[];
  onFilter: (field: string, value: string, exclude: boolean) => void;
  onToggleColumn: (field: string) => void;
}

export function FieldsSidebar({ fields, total, columns, onFilter, onToggleColumn }: Props) {
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return fields.filter((x) => !f || x.name.toLowerCase().includes(f));
  }, [fields, filter]);
  return (
    <aside class="fields-sidebar" aria-label="Fields">
      <label>
        <span class="sr-only">Filter field names</span>
        <input type="search" placeholder="Filter fields" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </label>
      <ul class="field-list">
        {shown.map((f) => {
          const isOpen = open === f.name;
          const pct = total > 0 ? Math.round((100 * f.hits) / total) : 0;
          const kind = entityOf(f.name);
          return (
            <li key={f.name} class={isOpen ? "open" : undefined}>
              <div class="field-row">
                <button type="button" class="field-name-btn" aria-expanded={isOpen} onClick={() => setOpen(isOpen ? null : f.name)} title={f.name}>
                  <span class="mono">{f.name}</span>
                  <span class="field-pct">{pct}%</span>
                </button>
                <button
                  type="button"
                  class="icon-btn"
                  aria-pressed={columns.includes(f.name)}
                  aria-label={(columns.includes(f.name) ? "Remove column " : "Add column ") + f.name}
                  title={columns.includes(f.name) ? "Remove the column" : "Show as a column"}
                  onClick={() => onToggleColumn(f.name)}
                >
                  {columns.includes(f.name) ? "▣" : "▢"}
                </button>
              </div>
              {isOpen && (
                <ul class="top-values" aria-label={"Top values of " + f.name}>
                  {(f.top_values ?? []).map((v) => (
                    <li key={v.value}>
                      <span class="tv-value mono" title={v.value}>
                        {kind && v.value ? <Link href={entityHref(kind, v.value)}>{v.value}</Link> : v.value || "(empty)"}
                      </span>
                      <span class="tv-count">{v.hits.toLocaleString()}</span>
                      <button type="button" class="icon-btn" aria-label={`Filter for ${f.name} = ${v.value}`} title="Filter for this value" onClick={() => onFilter(f.name, v.value, false)}>
                        +
                      </button>
                      <button type="button" class="icon-btn" aria-label={`Filter out ${f.name} = ${v.value}`} title="Filter out this value" onClick={() => onFilter(f.name, v.value, true)}>
                        −
                      </button>
                    </li>
                  ))}
                  {!f.top_values?.length && <li class="muted">No values.</li>}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
