// The audit trail of Vigil's own use: who signed in, searched, exported,
// revealed PHI or changed what; filterable, exportable, verifiable.
import { useState } from "preact/hooks";
import { apiDownload, apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { fmtTime, iso, resolve, type Range } from "../lib/time";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { TimePicker } from "../components/timepicker";

interface Record {
  seq: number;
  time: string;
  actor: string;
  actor_kind: string;
  roles: string[];
  client_addr?: string;
  action: string;
  target?: string;
  outcome: string;
  details?: unknown;
}

export default function Audit() {
  const loc = useLocation();
  const q = loc.query;
  const range: Range = { start: q.get("start") ?? "-24h", end: q.get("end") ?? "now" };
  const [actor, setActor] = useState(q.get("actor") ?? "");
  const [action, setAction] = useState(q.get("action") ?? "");
  const [verify, setVerify] = useState<string | null>(null);
  const filters = { actor: q.get("actor") ?? undefined, action: q.get("action") ?? undefined, outcome: q.get("outcome") ?? undefined };
  const f = useFetch(
    (signal) =>
      apiJSON<{ records: Record[] }>("/api/v1/audit", {
        signal,
        query: { since: iso(resolve(range.start)), until: iso(resolve(range.end)), limit: 1000, ...filters },
      }),
    [range.start, range.end, filters.actor, filters.action, filters.outcome],
  );
  const set = (next: Record_) =>
    navigate(withQuery("/admin/audit", { start: range.start, end: range.end === "now" ? undefined : range.end, ...filters, ...next }), { replace: true });
  const doVerify = async () => {
    setVerify("Checking…");
    try {
      const r = await apiJSON<{ ok: boolean; records: number; last_seq: number; head_hash: string; broken_at?: number; problem?: string }>("/api/v1/audit/verify");
      setVerify(
        r.ok
          ? `The chain is intact: ${r.records.toLocaleString()} records checked up to #${r.last_seq}, head hash ${r.head_hash.slice(0, 16)}….`
          : `The chain is broken at record #${r.broken_at}: ${r.problem ?? "a record does not verify"}.`,
      );
    } catch (e) {
      setVerify(errorMessage(e));
    }
  };
  return (
    <>
      <PageHeader title="Audit trail">
        <TimePicker range={range} onChange={(r) => set({ start: r.start, end: r.end === "now" ? undefined : r.end })} />
        <button type="button" class="btn" onClick={doVerify}>
          Verify the chain
        </button>
        <button
          type="button"
          class="btn"
          onClick={() =>
            apiDownload("/api/v1/audit", { query: { since: iso(resolve(range.start)), until: iso(resolve(range.end)), format: "csv", ...filters } }, "vigil-audit.csv")
          }
        >
          Export CSV
        </button>
      </PageHeader>
      <form
        class="filter-bar"
        onSubmit={(e) => {
          e.preventDefault();
          set({ actor: actor || undefined, action: action || undefined });
        }}
      >
        <label>
          Actor
          <input value={actor} onInput={(e) => setActor((e.target as HTMLInputElement).value)} placeholder="user or token name" />
        </label>
        <label>
          Action
          <input value={action} onInput={(e) => setAction((e.target as HTMLInputElement).value)} placeholder="auth.login, events.search, phi.reveal…" />
        </label>
        <label>
          Outcome
          <select value={filters.outcome ?? ""} onChange={(e) => set({ outcome: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <button type="submit" class="btn primary">
          Filter
        </button>
      </form>
      {verify && (
        <p class="notice-line" role="status">
          {verify}
        </p>
      )}
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="Audit records, newest first"
          rows={f.data.records}
          rowKey={(r) => r.seq}
          initialSort={{ key: "seq", desc: true }}
          empty="No record matches."
          columns={[
            { key: "seq", label: "#", num: true },
            { key: "time", label: "Time", render: (r) => <span class="nowrap">{fmtTime(Date.parse(r.time))}</span> },
            { key: "actor", label: "Actor", render: (r) => <span title={r.roles.join(", ")}>{r.actor || r.actor_kind}</span> },
            { key: "client_addr", label: "From" },
            { key: "action", label: "Action", render: (r) => <code>{r.action}</code> },
            { key: "target", label: "Target" },
            { key: "outcome", label: "Outcome", render: (r) => <span class={"badge " + (r.outcome === "success" ? "ok" : "bad")}>{r.outcome}</span> },
            { key: "details", label: "Details", render: (r) => (r.details ? <code class="details">{JSON.stringify(r.details)}</code> : null) },
          ]}
        />
      )}
    </>
  );
}

type Record_ = { [k: string]: string | undefined };
