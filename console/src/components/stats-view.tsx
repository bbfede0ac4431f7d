// StatsView shows the rows of a stats (or other transforming) pipe as a
// table and, where they have a time or a group, as a chart.
import { useMemo } from "preact/hooks";
import { BarList, TimeChart } from "./chart";
import { SimpleTable } from "./table";
import { fmtEventTime } from "../lib/time";

type Row = Record<string, string>;

const MAX_TABLE = 2000;
const MAX_BARS = 30;

export interface Shape {
  columns: string[];
  numeric: string[];
  labels: string[];
  time?: string;
}

// shapeOf tells which columns are numbers, which are labels and which is
// time.
export function shapeOf(rows: Row[]): Shape {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of rows.slice(0, 1000)) for (const k of Object.keys(r)) if (!seen.has(k)) seen.add(k), columns.push(k);
  const isNum = (c: string) => rows.every((r) => r[c] === undefined || r[c] === "" || (isFinite(Number(r[c])) && !/^\s*$/.test(r[c])));
  const time = columns.find((c) => c === "@timestamp" || c === "_time");
  const numeric = columns.filter((c) => c !== time && isNum(c));
  const labels = columns.filter((c) => c !== time && !numeric.includes(c));
  return { columns, numeric, labels, time };
}

export function StatsView({ rows, query }: { rows: Row[]; query: string }) {
  const shape = useMemo(() => shapeOf(rows), [rows]);
  if (!rows.length) return <p class="empty">The query returned no rows.</p>;
  return (
    <div class="stats-view">
      <StatsChart rows={rows} shape={shape} query={query} />
      <div class="card">
        {rows.length > MAX_TABLE && <p class="hint">Showing the first {MAX_TABLE.toLocaleString()} of {rows.length.toLocaleString()} rows.</p>}
        <SimpleTable
          caption="Query results"
          rows={rows.slice(0, MAX_TABLE)}
          rowKey={(r) => rows.indexOf(r)}
          initialSort={shape.time ? { key: shape.time } : shape.numeric[0] ? { key: shape.numeric[0], desc: true } : undefined}
          columns={shape.columns.map((c) => ({
            key: c,
            label: c,
            num: shape.numeric.includes(c),
            value: shape.numeric.includes(c) ? (r: Row) => Number(r[c] ?? 0) : (r: Row) => r[c] ?? "",
            render: c === shape.time ? (r: Row) => fmtEventTime(r[c]) : undefined,
          }))}
        />
      </div>
    </div>
  );
}

function StatsChart({ rows, shape, query }: { rows: Row[]; shape: Shape; query: string }) {
  const chart = useMemo(() => {
    const metric = shape.numeric[0];
    if (!metric) return null;
    if (shape.time) {
      const tcol = shape.time;
      const times = [...new Set(rows.map((r) => Date.parse(r[tcol]) / 1000).filter((t) => isFinite(t)))].sort((a, b) => a - b);
      const idx = new Map(times.map((t, i) => [t, i]));
      const groups = new Map<string, (number | null)[]>();
      const metrics = shape.labels.length ? [metric] : shape.numeric.slice(0, 6);
      for (const r of rows) {
        const i = idx.get(Date.parse(r[tcol]) / 1000);
        if (i === undefined) continue;
        for (const m of metrics) {
          const key = shape.labels.length ? shape.labels.map((l) => r[l] ?? "").join(", ") : m;
          if (!groups.has(key)) groups.set(key, new Array(times.length).fill(null));
          groups.get(key)![i] = Number(r[m] ?? 0);
        }
      }
      // The largest groups, at most 8.
      const series = [...groups.entries()]
        .map(([label, values]) => ({ label, values, sum: values.reduce<number>((a, v) => a + (v ?? 0), 0) }))
        .sort((a, b) => b.sum - a.sum)
        .slice(0, 8);
      return { kind: "time" as const, times, series };
    }
    if (!shape.labels.length) return null;
    const bars = rows
      .map((r) => ({ label: shape.labels.map((l) => r[l] ?? "").join(", "), value: Number(r[metric] ?? 0) }))
      .sort((a, b) => b.value - a.value)
      .slice(0, MAX_BARS);
    return { kind: "bars" as const, bars, metric };
  }, [rows, shape]);
  if (!chart) return null;
  return (
    <div class="card stats-chart">
      {chart.kind === "time" ? (
        <TimeChart times={chart.times} series={chart.series} kind="lines" stacked={false} height={220} label={`Chart of the query results over time: ${query}`} />
      ) : (
        <BarList rows={chart.bars} label={`${chart.metric} by ${shape.labels.join(", ")}`} />
      )}
    </div>
  );
}
