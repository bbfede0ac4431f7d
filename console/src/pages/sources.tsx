import { apiJSON } from "../lib/api";
import { useFetch, useInterval } from "../lib/hooks";
import { ago, fmtTime } from "../lib/time";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { EntityLink } from "../components/entity-link";

export interface Source {
  host: string;
  dataset: string;
  first_seen: string;
  last_seen: string;
  last_event: string;
  count: number;
  rate_per_min: number;
  window: string;
  watched: boolean;
  silent: boolean;
  silent_since?: string;
  parse_errors?: number;
  last_parse_error?: string;
  time_skew_events?: number;
  max_time_skew_seconds?: number;
}

// sourceHealth: silent (stopped sending), failing (events that did not
// parse within its window), clock skewed (events dated ahead of their
// arrival), sending.
export function sourceHealth(s: Source, now = Date.now()): { label: string; cls: string } {
  if (s.silent) return { label: "silent", cls: "bad" };
  const lastErr = s.last_parse_error ? Date.parse(s.last_parse_error) : NaN;
  const window = (s as { window_seconds?: number }).window_seconds ?? 3600;
  if ((s.parse_errors ?? 0) > 0 && now - lastErr < Math.max(window, 3600) * 1000) return { label: "failing", cls: "bad" };
  if ((s.time_skew_events ?? 0) > 0) return { label: "clock skewed", cls: "warn" };
  if (!s.watched) return { label: "not watched", cls: "medium" };
  return { label: "sending", cls: "ok" };
}

export default function Sources() {
  const f = useFetch((signal) => apiJSON<{ sources: Source[]; total: number; tracked: number }>("/api/v1/sources", { signal }), []);
  useInterval(f.reload, 30_000);
  return (
    <>
      <PageHeader title="Sources">
        <button type="button" class="btn" onClick={f.reload}>
          Refresh
        </button>
      </PageHeader>
      <p class="muted">
        Every host and dataset that sent events, with its health. A source that sent and then stays silent longer than its window raises a
        <code> source_silent</code> alert.
      </p>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="Sources"
          rows={f.data.sources}
          rowKey={(s) => s.host + "\u0000" + s.dataset}
          initialSort={{ key: "health" }}
          empty="No source has sent events yet."
          columns={[
            { key: "host", label: "Host", render: (s) => <EntityLink kind="host" value={s.host} /> },
            { key: "dataset", label: "Dataset" },
            {
              key: "health",
              label: "Health",
              value: (s) => sourceHealth(s).label,
              render: (s) => {
                const h = sourceHealth(s);
                return <span class={"badge " + h.cls}>{h.label}</span>;
              },
            },
            { key: "last_seen", label: "Last event received", render: (s) => <span title={fmtTime(Date.parse(s.last_seen))}>{ago(s.last_seen)}</span> },
            { key: "parse_errors", label: "Parse failures", num: true, render: (s) => (s.parse_errors ?? 0).toLocaleString() },
            { key: "time_skew_events", label: "Skewed events", num: true, render: (s) => (s.time_skew_events ? s.time_skew_events.toLocaleString() + " (max " + s.max_time_skew_seconds + " s)" : "0") },
            { key: "rate_per_min", label: "Events/min", num: true, render: (s) => s.rate_per_min.toFixed(1) },
            { key: "count", label: "Events", num: true, render: (s) => s.count.toLocaleString() },
            { key: "window", label: "Silence window" },
          ]}
        />
      )}
    </>
  );
}
