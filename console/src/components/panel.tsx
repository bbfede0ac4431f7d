// Panel draws one dashboard panel: it runs the panel's query over the
// dashboard's range (LogsQL through the search or hits API, or the alerts
// or sources API), draws the result, and shows the query it ran.
import { useMemo } from "preact/hooks";
import { apiJSON, apiNDJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { fmtEventTime } from "../lib/time";
import { stepFor, substitute } from "../lib/step";
import { entityHref, entityOf } from "../lib/entities";
import { parseStep, searchHref } from "../lib/searchurl";
import { BarList, TimeChart, type Series } from "./chart";
import { SimpleTable } from "./table";
import { shapeOf } from "./stats-view";
import { ErrorBox, Loading } from "./status";
import { Link } from "./link";
import { sourceHealth, type Source } from "../pages/sources";
import type { Alert } from "../pages/alerts";

export interface PanelDef {
  title: string;
  description?: string;
  type: "timeseries" | "bars" | "table" | "stat" | "hits" | "alerts" | "sources";
  query?: string;
  group_by?: string[];
  alerts?: { group: "level" | "rule" | "user" | "host" | "tactic"; over_time?: boolean; min_level?: string };
  unit?: string;
  width?: number;
}

type Row = Record<string, string>;

interface Props {
  def: PanelDef;
  start: string; // RFC 3339
  end: string;
  tick: number; // changes to reload
}

const LEVEL_ORDER = ["critical", "high", "medium", "low", "informational"];
// LEVEL_COLORS are theme variables for the severity levels.
export const LEVEL_COLORS: Record<string, string> = { critical: "--chart-5", high: "--chart-2", medium: "--chart-6", low: "--chart-1", informational: "--chart-4" };

export function Panel({ def, start, end, tick }: Props) {
  const span = Date.parse(end) - Date.parse(start);
  const step = stepFor(span);
  const query = def.query ? substitute(def.query, step.text) : "";
  const data = useFetch<unknown>(
    (signal): Promise<unknown> => {
      switch (def.type) {
        case "hits":
          return apiJSON<HitsResp>("/api/v1/hits", { signal, query: { q: query, start, end, step: step.text, field: def.group_by ?? [] } });
        case "alerts":
          return apiJSON<{ alerts: Alert[] }>("/api/v1/alerts", { signal, query: { since: start, until: end, limit: 10000, min_level: def.alerts?.min_level } });
        case "sources":
          return apiJSON<{ sources: Source[] }>("/api/v1/sources", { signal });
        default: {
          const rows: Row[] = [];
          return apiNDJSON("/api/v1/search", { signal, query: { q: query, start, end, limit: 10000 } }, (r) => rows.push(r)).then(() => rows);
        }
      }
    },
    [query, start, end, tick, def.type],
  );
  const apiCall =
    def.type === "alerts"
      ? `GET /api/v1/alerts?since=…&until=…${def.alerts?.min_level ? "&min_level=" + def.alerts.min_level : ""} — grouped by ${def.alerts?.group}${def.alerts?.over_time ? " over time" : ""}`
      : def.type === "sources"
        ? "GET /api/v1/sources"
        : def.type === "hits"
          ? `GET /api/v1/hits?q=${query}${(def.group_by ?? []).map((f) => "&field=" + f).join("")}&step=${step.text}`
          : query;
  return (
    <section class={"panel card w" + (def.width ?? 6)} aria-labelledby={"p-" + slug(def.title)}>
      <header class="panel-head">
        <h2 id={"p-" + slug(def.title)}>{def.title}</h2>
        {data.loading && <span class="spinner" role="status" aria-label="Loading" />}
      </header>
      {def.description && <p class="hint">{def.description}</p>}
      <div class="panel-body">
        {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
        {data.data === undefined && data.loading && <Loading />}
        {data.data !== undefined && <PanelBody def={def} data={data.data} step={step.seconds} xRange={[Date.parse(start) / 1000, Date.parse(end) / 1000]} />}
      </div>
      <details class="panel-query">
        <summary>Query</summary>
        <code class="mono">{apiCall}</code>
        {def.query && def.type !== "alerts" && def.type !== "sources" && (
          <Link href={searchHref({ q: query, range: { start, end }, cols: ["@timestamp", "host.name", "message"], limit: 1000 })} class="btn small">
            Open in search
          </Link>
        )}
      </details>
    </section>
  );
}

function slug(s: string) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

interface HitsResp {
  step: string;
  hits: { fields: Record<string, string>; timestamps: string[]; values: number[]; total: number }[];
}

type XRange = [number, number];

function PanelBody({ def, data, step, xRange }: { def: PanelDef; data: unknown; step: number; xRange: XRange }) {
  switch (def.type) {
    case "hits":
      return <HitsBody def={def} resp={data as HitsResp} xRange={xRange} />;
    case "alerts":
      return <AlertsBody def={def} alerts={(data as { alerts: Alert[] }).alerts} step={step} xRange={xRange} />;
    case "sources":
      return <SourcesBody sources={(data as { sources: Source[] }).sources} />;
    default:
      return <RowsBody def={def} rows={data as Row[]} xRange={xRange} />;
  }
}

const noData = <p class="empty">No data in this time range.</p>;

function HitsBody({ def, resp, xRange }: { def: PanelDef; resp: HitsResp; xRange: XRange }) {
  const per = def.unit === "per_second" ? parseStep(resp.step) : 1;
  const { times, series } = useMemo(() => {
    const all = new Set<number>();
    resp.hits.forEach((h) => h.timestamps.forEach((t) => all.add(Date.parse(t) / 1000)));
    const times = [...all].sort((a, b) => a - b);
    const idx = new Map(times.map((t, i) => [t, i]));
    const series: Series[] = resp.hits
      .map((h) => {
        const v: (number | null)[] = new Array(times.length).fill(0);
        h.timestamps.forEach((t, i) => (v[idx.get(Date.parse(t) / 1000)!] = +(h.values[i] / per).toFixed(3)));
        return { label: Object.values(h.fields).join(", ") || "(none)", values: v, total: h.total };
      })
      .sort((a, b) => b.total - a.total)
      .slice(0, 8);
    return { times, series };
  }, [resp, per]);
  if (!times.length) return noData;
  return (
    <TimeChart times={times} series={series} kind="bars" height={200} stepSeconds={parseStep(resp.step)} xRange={xRange} label={def.title + (per > 1 ? " (per second)" : "")} />
  );
}

function RowsBody({ def, rows, xRange }: { def: PanelDef; rows: Row[]; xRange: XRange }) {
  const shape = useMemo(() => shapeOf(rows), [rows]);
  if (!rows.length) return noData;
  if (def.type === "stat") {
    const v = shape.numeric[0] ? Number(rows[0][shape.numeric[0]]) : rows.length;
    return (
      <p class="stat" aria-label={def.title + ": " + v}>
        {v.toLocaleString()}
      </p>
    );
  }
  if (def.type === "timeseries" && shape.time && shape.numeric.length) {
    const tcol = shape.time;
    const metric = shape.numeric[0];
    const times = [...new Set(rows.map((r) => Date.parse(r[tcol]) / 1000))].filter(isFinite).sort((a, b) => a - b);
    const idx = new Map(times.map((t, i) => [t, i]));
    const groups = new Map<string, (number | null)[]>();
    for (const r of rows) {
      const key = shape.labels.map((l) => r[l] ?? "").join(", ") || metric;
      if (!groups.has(key)) groups.set(key, new Array(times.length).fill(0));
      groups.get(key)![idx.get(Date.parse(r[tcol]) / 1000)!] = Number(r[metric] ?? 0);
    }
    const series = [...groups.entries()]
      .map(([label, values]) => ({ label, values, sum: values.reduce<number>((a, v) => a + (v ?? 0), 0) }))
      .sort((a, b) => b.sum - a.sum)
      .slice(0, 8);
    return <TimeChart times={times} series={series} kind="bars" height={200} xRange={xRange} label={def.title} />;
  }
  if (def.type === "bars" && shape.numeric.length && shape.labels.length) {
    const metric = shape.numeric[0];
    const kind = shape.labels.length === 1 ? entityOf(shape.labels[0]) : undefined;
    return (
      <BarList
        label={def.title}
        rows={rows.slice(0, 30).map((r) => {
          const label = shape.labels.map((l) => r[l] ?? "").join(", ");
          return { label, value: Number(r[metric] ?? 0), href: kind && label ? entityHref(kind, label) : undefined };
        })}
      />
    );
  }
  return (
    <SimpleTable
      caption={def.title}
      rows={rows.slice(0, 200)}
      rowKey={(r) => rows.indexOf(r)}
      columns={shape.columns.map((c) => ({
        key: c,
        label: c,
        num: shape.numeric.includes(c),
        value: shape.numeric.includes(c) ? (r: Row) => Number(r[c] ?? 0) : undefined,
        render: c === shape.time ? (r: Row) => fmtEventTime(r[c]) : entityOf(c) ? (r: Row) => (r[c] ? <Link href={entityHref(entityOf(c)!, r[c])}>{r[c]}</Link> : null) : undefined,
      }))}
    />
  );
}

// alertKey is what an alert counts under for a grouping.
function alertKeys(a: Alert, group: string): string[] {
  const f = { ...(a.fields ?? {}), ...(a.group_by ?? {}) };
  switch (group) {
    case "level":
      return [a.level];
    case "rule":
      return [a.rule_title || a.rule_id];
    case "user":
      return [f["user.name"] ?? f["user.target.name"] ?? f["source.user.name"]].filter(Boolean) as string[];
    case "host":
      return [f["host.name"] ?? f["log.syslog.hostname"]].filter(Boolean) as string[];
    case "tactic":
      return (a.tags ?? []).filter((t) => /^attack\.[a-z_-]+$/.test(t) && !/^attack\.(t\d|g\d|s\d)/.test(t)).map((t) => t.slice(7).replace(/[_-]/g, " "));
  }
  return [];
}

function AlertsBody({ def, alerts, step, xRange }: { def: PanelDef; alerts: Alert[]; step: number; xRange: XRange }) {
  const group = def.alerts!.group;
  const view = useMemo(() => {
    if (def.alerts?.over_time) {
      const buckets = new Map<number, Map<string, number>>();
      for (const a of alerts) {
        const t = Math.floor(Date.parse(a.time) / 1000 / step) * step;
        if (!buckets.has(t)) buckets.set(t, new Map());
        for (const k of alertKeys(a, group)) buckets.get(t)!.set(k, (buckets.get(t)!.get(k) ?? 0) + 1);
      }
      const times = [...buckets.keys()].sort((a, b) => a - b);
      const keys = new Set<string>();
      buckets.forEach((m) => m.forEach((_, k) => keys.add(k)));
      const ordered = [...keys].sort((a, b) => (group === "level" ? LEVEL_ORDER.indexOf(a) - LEVEL_ORDER.indexOf(b) : a < b ? -1 : 1));
      const series = ordered.map((k) => ({ label: k, values: times.map((t) => buckets.get(t)!.get(k) ?? 0) }));
      return { times, series };
    }
    const counts = new Map<string, number>();
    for (const a of alerts) for (const k of alertKeys(a, group)) counts.set(k, (counts.get(k) ?? 0) + 1);
    return { bars: [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10) };
  }, [alerts, group, step, def.alerts?.over_time]);
  if (!alerts.length) return <p class="empty">No alert in this time range.</p>;
  if ("times" in view && view.times) {
    if (!view.times.length) return noData;
    return (
      <TimeChart
        times={view.times}
        series={view.series!}
        kind="bars"
        height={200}
        stepSeconds={step}
        xRange={xRange}
        label={def.title}
        colors={group === "level" ? LEVEL_COLORS : undefined}
      />
    );
  }
  const bars = (view as { bars: [string, number][] }).bars;
  if (!bars.length) return noData;
  const kind = group === "user" ? "user" : group === "host" ? "host" : undefined;
  return <BarList label={def.title} rows={bars.map(([label, value]) => ({ label, value, href: kind ? entityHref(kind, label) : undefined }))} />;
}

function SourcesBody({ sources }: { sources: Source[] }) {
  const counts = { sending: 0, silent: 0, failing: 0, "clock skewed": 0, "not watched": 0 } as Record<string, number>;
  const bad: Source[] = [];
  for (const s of sources) {
    const h = sourceHealth(s);
    counts[h.label] = (counts[h.label] ?? 0) + 1;
    if (h.cls === "bad" || h.cls === "warn") bad.push(s);
  }
  if (!sources.length) return <p class="empty">No source has sent events yet.</p>;
  return (
    <div class="sources-panel">
      <ul class="health-counts">
        <li>
          <span class="badge ok">sending</span> {counts.sending}
        </li>
        <li>
          <span class="badge bad">silent</span> {counts.silent}
        </li>
        <li>
          <span class="badge bad">failing</span> {counts.failing}
        </li>
        <li>
          <span class="badge warn">clock skewed</span> {counts["clock skewed"]}
        </li>
        <li>
          <span class="badge medium">not watched</span> {counts["not watched"]}
        </li>
      </ul>
      {bad.length > 0 ? (
        <ul class="bad-sources">
          {bad.slice(0, 8).map((s) => (
            <li key={s.host + s.dataset}>
              <Link href={entityHref("host", s.host)}>{s.host}</Link> <span class="muted">{s.dataset}</span> <span class={"badge " + sourceHealth(s).cls}>{sourceHealth(s).label}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">Every watched source is sending.</p>
      )}
      <Link href="/sources">All sources</Link>
    </div>
  );
}
