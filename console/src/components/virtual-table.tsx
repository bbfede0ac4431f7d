// VirtualTable shows many rows (10,000 and more) by rendering only those
// in view. Rows have one height except the expanded ones, whose height is
// measured; offsets are computed from the few expanded rows, so scrolling
// costs the same with 100 rows or 100,000.
import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";

interface Props<T> {
  rows: T[];
  columns: { key: string; label: string; width?: string }[];
  cell: (row: T, col: string) => ComponentChildren;
  detail: (row: T, index: number) => ComponentChildren;
  rowLabel: (row: T, index: number) => string;
  highlight?: (row: T) => boolean;
  height?: string;
  rowHeight?: number;
  caption: string;
}

const OVERSCAN = 10;

export function VirtualTable<T>({ rows, columns, cell, detail, rowLabel, highlight, height = "calc(100vh - 380px)", rowHeight = 28, caption }: Props<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  const [expanded, setExpanded] = useState<Map<number, number>>(new Map()); // index -> measured height
  const measure = useRef(new Map<number, HTMLDivElement>());

  // New rows: forget what was expanded.
  useLayoutEffect(() => {
    setExpanded(new Map());
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
  }, [rows]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight));
    ro.observe(el);
    setViewH(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  const sortedExp = useMemo(() => [...expanded.entries()].sort((a, b) => a[0] - b[0]), [expanded]);
  const offset = (i: number) => {
    let o = i * rowHeight;
    for (const [e, h] of sortedExp) if (e < i) o += h - rowHeight;
    return o;
  };
  const total = offset(rows.length);
  // First row whose bottom is below scrollTop (binary search on offset).
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offset(mid + 1) <= scrollTop) lo = mid + 1;
    else hi = mid;
  }
  const first = Math.max(0, lo - OVERSCAN);
  let last = lo;
  while (last < rows.length && offset(last) < scrollTop + viewH) last++;
  last = Math.min(rows.length, last + OVERSCAN);

  // Measure expanded rows after they render.
  useLayoutEffect(() => {
    let changed = false;
    const next = new Map(expanded);
    for (const [i, el] of measure.current) {
      if (!next.has(i)) continue;
      const h = el.offsetHeight;
      if (h && Math.abs((next.get(i) ?? 0) - h) > 0.5) {
        next.set(i, h);
        changed = true;
      }
    }
    if (changed) setExpanded(next);
  });

  const toggle = (i: number) => {
    const next = new Map(expanded);
    if (next.has(i)) next.delete(i);
    else next.set(i, rowHeight * 8);
    setExpanded(next);
  };

  const template = "32px " + columns.map((c) => c.width ?? "minmax(120px, 1fr)").join(" ");
  const visible: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    const r = rows[i];
    const isOpen = expanded.has(i);
    visible.push(
      <div
        key={i}
        class={"vt-row" + (isOpen ? " open" : "") + (highlight?.(r) ? " highlight" : "") + (i % 2 ? " odd" : "")}
        role="row"
        aria-rowindex={i + 2}
        ref={(el) => {
          if (el) measure.current.set(i, el as HTMLDivElement);
          else measure.current.delete(i);
        }}
      >
        <div class="vt-line" style={{ gridTemplateColumns: template, height: rowHeight + "px" }}>
          <div role="gridcell" class="vt-toggle">
            <button
              type="button"
              class="icon-btn"
              aria-expanded={isOpen}
              aria-label={(isOpen ? "Collapse " : "Expand ") + rowLabel(r, i)}
              onClick={() => toggle(i)}
            >
              <span aria-hidden="true">{isOpen ? "▾" : "▸"}</span>
            </button>
          </div>
          {columns.map((c) => (
            <div role="gridcell" class={"vt-cell col-" + c.key.replace(/[^a-z0-9]/gi, "_")} key={c.key}>
              {cell(r, c.key)}
            </div>
          ))}
        </div>
        {isOpen && <div class="vt-detail">{detail(r, i)}</div>}
      </div>,
    );
  }

  return (
    <div class="vt" role="grid" aria-label={caption} aria-rowcount={rows.length + 1}>
      <div class="vt-head" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
        <div role="columnheader">
          <span class="sr-only">Details</span>
        </div>
        {columns.map((c) => (
          <div role="columnheader" key={c.key} title={c.key}>
            {c.label}
          </div>
        ))}
      </div>
      <div class="vt-scroll" ref={scroller} style={{ height }} onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)} tabIndex={0} aria-label="Results, scrollable">
        <div class="vt-spacer" style={{ height: total + "px" }}>
          <div class="vt-window" style={{ transform: "translateY(" + offset(first) + "px)" }}>
            {visible}
          </div>
        </div>
      </div>
    </div>
  );
}
