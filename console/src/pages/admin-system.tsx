// System status: version, uptime, disk, bus lag, retention, Vigil's own
// counters.
import { Fragment } from "preact";
import { apiJSON } from "../lib/api";
import { useFetch, useInterval } from "../lib/hooks";
import { bytes, duration } from "../lib/format";
import { fmtTime } from "../lib/time";
import { ErrorBox, Loading, PageHeader } from "../components/status";

interface Status {
  version: string;
  revision?: string;
  modified?: boolean;
  go_version: string;
  started?: string;
  uptime_seconds: number;
  data_dir: string;
  store_bytes: number;
  bus_bytes: number;
  database_bytes: number;
  disk_free_bytes: number;
  disk_size_bytes: number;
  retention: string;
  max_disk_bytes: string;
  bus_lag: Record<string, number>;
  counters: Record<string, number>;
  goroutines: number;
  heap_bytes: number;
  detection: boolean;
}

export default function System() {
  const f = useFetch((signal) => apiJSON<Status>("/api/v1/system", { signal }), []);
  useInterval(f.reload, 15_000);
  const s = f.data;
  const freePct = s && s.disk_size_bytes ? (100 * s.disk_free_bytes) / s.disk_size_bytes : 100;
  return (
    <>
      <PageHeader title="System status">
        <button type="button" class="btn" onClick={f.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {!s && f.loading && <Loading />}
      {s && (
        <div class="entity-grid">
          <section class="card entity-section" aria-labelledby="sys-version">
            <h2 id="sys-version">Vigil</h2>
            <dl class="kv">
              <dt>Version</dt>
              <dd>
                {s.version}
                {s.revision && <span class="muted"> ({s.revision.slice(0, 12)}{s.modified ? ", modified" : ""})</span>}
              </dd>
              <dt>Go</dt>
              <dd>{s.go_version}</dd>
              <dt>Running since</dt>
              <dd>{s.started ? fmtTime(Date.parse(s.started)) + " (" + duration(s.uptime_seconds) + ")" : "unknown"}</dd>
              <dt>Detection</dt>
              <dd>{s.detection ? "on" : <span class="warn-text">off</span>}</dd>
              <dt>Memory in use</dt>
              <dd>
                {bytes(s.heap_bytes)}, {s.goroutines.toLocaleString()} goroutines
              </dd>
            </dl>
          </section>
          <section class="card entity-section" aria-labelledby="sys-storage">
            <h2 id="sys-storage">Storage</h2>
            <dl class="kv">
              <dt>Data directory</dt>
              <dd>
                <code>{s.data_dir}</code>
              </dd>
              <dt>Event store</dt>
              <dd>{bytes(s.store_bytes)}</dd>
              <dt>Bus</dt>
              <dd>{bytes(s.bus_bytes)}</dd>
              <dt>Control database</dt>
              <dd>{bytes(s.database_bytes)}</dd>
              <dt>Disk free</dt>
              <dd class={freePct < 10 ? "warn-text" : undefined}>
                {bytes(s.disk_free_bytes)} of {bytes(s.disk_size_bytes)} ({freePct.toFixed(0)}%)
              </dd>
              <dt>Retention</dt>
              <dd>
                {s.retention}
                {s.max_disk_bytes && s.max_disk_bytes !== "0" && s.max_disk_bytes !== "0B" ? ", at most " + s.max_disk_bytes : ""}
              </dd>
            </dl>
          </section>
          <section class="card entity-section" aria-labelledby="sys-bus">
            <h2 id="sys-bus">Bus lag</h2>
            {Object.keys(s.bus_lag).length === 0 ? (
              <p class="muted">No consumer reports a lag.</p>
            ) : (
              <dl class="kv">
                {Object.entries(s.bus_lag).map(([c, v]) => (
                  <Fragment key={c}>
                    <dt>{c}</dt>
                    <dd class={v > 100 ? "warn-text" : undefined}>{v < 0 ? "unknown" : v.toLocaleString() + " batches behind"}</dd>
                  </Fragment>
                ))}
              </dl>
            )}
          </section>
          <section class="card entity-section" aria-labelledby="sys-counters">
            <h2 id="sys-counters">Counters</h2>
            <div class="scroll-box">
              <table class="grid">
                <caption class="sr-only">Vigil's counters</caption>
                <tbody>
                  {Object.entries(s.counters)
                    .sort()
                    .map(([k, v]) => (
                      <tr key={k}>
                        <th scope="row" class="mono small">
                          {k}
                        </th>
                        <td class="num">{Number.isInteger(v) ? v.toLocaleString() : v.toFixed(2)}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          </section>
        </div>
      )}
    </>
  );
}
