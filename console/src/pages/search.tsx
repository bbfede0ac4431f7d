// Search: a LogsQL query over a time range; the hits histogram (drag to
// zoom), the fields of the matching events (click to filter), the events
// themselves (virtualised, expandable) or, for stats and other pipes, their
// result as a table and a chart. The URL holds the whole state.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, apiDownload, apiJSON, apiNDJSON, errorMessage } from "../lib/api";
import { navigate, useLocation } from "../lib/router";
import { DEFAULT_COLS, fmtStep, LIMITS, parseStep, readState, searchHref, type SearchState } from "../lib/searchurl";
import { useCan } from "../lib/session";
import { addFilter, isTransforming, splitPipes } from "../lib/logsql";
import { fmtEventTime, iso, resolve } from "../lib/time";
import { entityHref, entityOf } from "../lib/entities";
import { QueryEditor } from "../components/query-editor";
import { TimePicker } from "../components/timepicker";
import { TimeChart } from "../components/chart";
import { FieldsSidebar, type FieldSummary } from "../components/fields-sidebar";
import { VirtualTable } from "../components/virtual-table";
import { EventDetail, MASKED } from "../components/event-detail";
import { Loading, PageHeader } from "../components/status";
import { Link } from "../components/link";
import { SavedSearches } from "../components/saved-searches";
import { StatsView } from "../components/stats-view";
import { AddToDashboard } from "../components/add-to-dashboard";

type Row = Record<string, string>;

interface Hits {
  step: string;
  hits: { fields: Record<string, string>; timestamps: string[]; values: number[]; total: number }[];
}

// COMMON_FIELDS complete the editor before any result names fields.
const COMMON_FIELDS = [
  "@timestamp", "message", "host.name", "user.name", "source.ip", "destination.ip", "event.action", "event.category",
  "event.dataset", "event.module", "event.outcome", "process.name", "log.syslog.appname", "healthcare.patient.id",
  "healthcare.break_glass", "healthcare.workforce.department", "winlog.event_id", "vigil.parse_error",
];

interface Result {
  rows: Row[];
  hits?: Hits;
  fields?: FieldSummary[];
  tookMs: number;
  transforming: boolean;
  xRange: [number, number];
}

export default function Search() {
  const loc = useLocation();
  const st = readState(loc.query);
  const [text, setText] = useState(st.q);
  const [run, setRun] = useState(0);
  const [result, setResult] = useState<Result | null>(null);
  const [rowsSoFar, setRowsSoFar] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const canExport = useCan("events:export");
  const started = useRef(0);

  useEffect(() => setText(st.q), [st.q]);

  const go = (next: Partial<SearchState>, replace = false) => navigate(searchHref({ ...st, around: undefined, ...next }), { replace });

  // Run the search whenever the query, the range or the limit change (or
  // the user asks again, which re-reads a relative range).
  useEffect(() => {
    const ac = new AbortController();
    let start: string, end: string;
    try {
      start = iso(resolve(st.range.start));
      end = iso(resolve(st.range.end));
    } catch (e) {
      setError(e);
      return;
    }
    setLoading(true);
    setError(null);
    setRowsSoFar(0);
    started.current = performance.now();
    const transforming = isTransforming(st.q);
    const filter = splitPipes(st.q).filter || "*";
    const rows: Row[] = [];
    let last = 0;
    const rowsP = apiNDJSON("/api/v1/search", { signal: ac.signal, query: { q: st.q, start, end, limit: st.limit } }, (r) => {
      rows.push(r);
      const now = performance.now();
      if (now - last > 250) {
        last = now;
        setRowsSoFar(rows.length);
      }
    });
    const hitsP = apiJSON<Hits>("/api/v1/hits", { signal: ac.signal, query: { q: filter, start, end } }).catch((e) => (transforming ? undefined : Promise.reject(e)));
    const fieldsP = transforming
      ? Promise.resolve(undefined)
      : apiJSON<{ fields: FieldSummary[] }>("/api/v1/fields", { signal: ac.signal, query: { q: filter, start, end, top: 10 } }).then((r) => r.fields);
    Promise.all([rowsP, hitsP, fieldsP]).then(
      ([, hits, fields]) => {
        if (ac.signal.aborted) return;
        const tookMs = Math.round(performance.now() - started.current);
        setResult({ rows, hits, fields, tookMs, transforming, xRange: [Date.parse(start) / 1000, Date.parse(end) / 1000] });
        setLoading(false);
        // For the page-timing measurements of the browser tests.
        performance.mark("vigil-search-done", { detail: { rows: rows.length, tookMs } });
      },
      (e) => {
        if (ac.signal.aborted || (e as Error)?.name === "AbortError") return;
        setError(e);
        setResult(null);
        setLoading(false);
      },
    );
    return () => ac.abort();
  }, [st.q, st.range.start, st.range.end, st.limit, run]);

  const submit = () => {
    if (text === st.q) setRun(run + 1);
    else go({ q: text });
  };
  const filterBy = (field: string, value: string, exclude: boolean) => go({ q: addFilter(st.q, field, value, exclude) });
  const toggleColumn = (f: string) => {
    const cols = st.cols.includes(f) ? st.cols.filter((c) => c !== f) : [...st.cols, f];
    go({ cols: cols.length ? cols : DEFAULT_COLS }, true);
  };
  const zoom = (fromMs: number, toMs: number) => go({ range: { start: iso(Math.floor(fromMs)), end: iso(Math.ceil(toMs)) } });

  const fieldNames = useMemo(() => {
    const s = new Set(COMMON_FIELDS);
    result?.fields?.forEach((f) => s.add(f.name));
    return [...s].sort();
  }, [result?.fields]);

  const total = result?.hits?.hits.reduce((a, h) => a + h.total, 0) ?? 0;
  const errorPos = error instanceof ApiError && error.status === 400 ? error.position : undefined;

  const [adding, setAdding] = useState(false);
  const exportAs = (format: "csv" | "ndjson") =>
    apiDownload(
      "/api/v1/export",
      {
        query: {
          q: st.q,
          start: iso(resolve(st.range.start)),
          end: iso(resolve(st.range.end)),
          format,
          limit: Math.max(st.limit, 10000),
          fields: format === "csv" ? st.cols.join(",") : undefined,
        },
      },
      "vigil-export." + format,
    ).catch((e) => setError(e));

  return (
    <div class="search-page">
      <PageHeader title="Search">
        <SavedSearches current={st} onOpen={(s) => navigate(searchHref(s))} />
        <button type="button" class="btn" onClick={() => setAdding(true)} disabled={!st.q.trim()}>
          Add to dashboard
        </button>
        {canExport && (
          <details class="menu">
            <summary class="btn">Export</summary>
            <div class="menu-items" role="menu">
              <button type="button" role="menuitem" class="btn link" onClick={() => exportAs("csv")}>
                CSV (the columns shown)
              </button>
              <button type="button" role="menuitem" class="btn link" onClick={() => exportAs("ndjson")}>
                NDJSON (every field)
              </button>
              <p class="hint">Exports are recorded in the audit trail.</p>
            </div>
          </details>
        )}
      </PageHeader>
      {adding && <AddToDashboard query={st.q} range={st.range.start} onClose={() => setAdding(false)} />}
      <form
        class="search-bar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <QueryEditor value={text} onInput={setText} onRun={submit} fields={fieldNames} errorPos={errorPos} />
        <TimePicker range={st.range} onChange={(range) => go({ range })} />
        <label class="inline">
          <span class="sr-only">Rows</span>
          <select value={String(st.limit)} onChange={(e) => go({ limit: Number((e.target as HTMLSelectElement).value) })}>
            {LIMITS.map((l) => (
              <option value={String(l)} key={l}>
                {l.toLocaleString()} rows
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="btn primary">
          Search
        </button>
      </form>
      {error ? (
        <div class="error-box" role="alert" id="query-error">
          <span>
            {errorPos !== undefined ? `Syntax error at character ${errorPos}: ` + errorMessage(error).replace(/^Invalid query: /, "").replace(/; context: \[.*\]$/s, "") : errorMessage(error)}
          </span>
        </div>
      ) : null}
      <div class="search-status" aria-live="polite">
        {loading ? (
          <Loading label={rowsSoFar ? `Searching… ${rowsSoFar.toLocaleString()} rows so far` : "Searching…"} />
        ) : result ? (
          <span class="muted">
            {result.transforming
              ? `${result.rows.length.toLocaleString()} result rows`
              : `${total.toLocaleString()} events match; showing the newest ${result.rows.length.toLocaleString()}`}
            {" · "}
            {result.tookMs} ms
          </span>
        ) : null}
      </div>
      {result && result.hits && result.hits.hits.length > 0 && !result.transforming && (
        <Histogram hits={result.hits} onZoom={zoom} xRange={result.xRange} />
      )}
      {result &&
        (result.transforming ? (
          <StatsView rows={result.rows} query={st.q} />
        ) : (
          <div class="search-body">
            <FieldsSidebar fields={result.fields ?? []} total={total} columns={st.cols} onFilter={filterBy} onToggleColumn={toggleColumn} />
            <div class="results">
              {result.rows.length === 0 ? (
                <p class="empty">No event matches in this time range. Widen the range or change the query.</p>
              ) : (
                <VirtualTable
                  caption="Matching events, newest first"
                  rows={result.rows}
                  columns={st.cols.map((c) => ({ key: c, label: c, width: c === "@timestamp" ? "200px" : c === "message" ? "minmax(240px, 3fr)" : undefined }))}
                  rowLabel={(r, i) => `event ${i + 1}, ${fmtEventTime(r["@timestamp"])}`}
                  highlight={st.around ? (r) => r["@timestamp"] === st.around : undefined}
                  cell={(r, c) => <Cell field={c} value={r[c]} />}
                  detail={(r) => <EventDetail row={r} onFilter={filterBy} onToggleColumn={toggleColumn} columns={st.cols} />}
                />
              )}
            </div>
          </div>
        ))}
    </div>
  );
}

function Cell({ field, value }: { field: string; value?: string }) {
  if (value === undefined) return null;
  if (field === "@timestamp") return <>{fmtEventTime(value)}</>;
  if (value === MASKED) return <span class="masked">{value}</span>;
  const kind = entityOf(field);
  if (kind) return <Link href={entityHref(kind, value)}>{value}</Link>;
  return <span title={value.length > 80 ? value.slice(0, 2000) : undefined}>{value}</span>;
}

function Histogram({ hits, onZoom, xRange }: { hits: Hits; onZoom: (a: number, b: number) => void; xRange: [number, number] }) {
  const { times, series, step } = useMemo(() => {
    const all = new Set<number>();
    hits.hits.forEach((h) => h.timestamps.forEach((t) => all.add(Date.parse(t) / 1000)));
    const times = [...all].sort((a, b) => a - b);
    const idx = new Map(times.map((t, i) => [t, i]));
    const series = hits.hits.map((h) => {
      const v: (number | null)[] = new Array(times.length).fill(0);
      h.timestamps.forEach((t, i) => (v[idx.get(Date.parse(t) / 1000)!] = h.values[i]));
      return { label: Object.values(h.fields).join(", ") || "events", values: v };
    });
    return { times, series, step: parseStep(hits.step) };
  }, [hits]);
  const total = hits.hits.reduce((a, h) => a + h.total, 0);
  return (
    <div class="histogram card">
      <TimeChart
        times={times}
        series={series}
        kind="bars"
        height={120}
        stepSeconds={step}
        xRange={xRange}
        onZoom={onZoom}
        label={`Histogram of ${total.toLocaleString()} matching events in ${times.length} buckets of ${fmtStep(hits.step)}. Drag across it to zoom into a time range.`}
      />
      <p class="hint chart-hint">Drag across the histogram to zoom in. Buckets of {fmtStep(hits.step)}.</p>
    </div>
  );
}

