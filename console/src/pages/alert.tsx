// One alert: what it is, its entities and their risk, the matched events,
// the rule, its history and notifications; triage (take, assign, close,
// reopen, note, tags), an exception in one step, response actions and
// cases.
import { useState } from "preact/hooks";
import { apiJSON, apiNDJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate, withQuery } from "../lib/router";
import { fmtEventTime } from "../lib/time";
import { useCan, useSessionCtx } from "../lib/session";
import { entityOf } from "../lib/entities";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { EntityLink } from "../components/entity-link";
import { Link } from "../components/link";
import { Modal } from "../components/modal";
import { type Alert, Facts, Field, Level, SlaDue, dispositionLabel, duration, slaDue, useAction } from "../components/triage";
import { CloseDialog } from "./alerts";
import type { PageProps } from "../pages";

interface HistoryEntry {
  id: number;
  time: string;
  actor: string;
  field: string;
  old: string;
  new: string;
}

interface Delivery {
  id: number;
  channel: string;
  status: string;
  attempts: number;
  last_error?: string;
  sent?: string;
}

interface ActionDef {
  name: string;
  description?: string;
  disruptive: boolean;
}

interface Run {
  id: number;
  action: string;
  status: string;
  requested_by: string;
  approval_required?: string;
  url: string;
  body?: string;
  error?: string;
}

export default function AlertPage({ params }: PageProps) {
  const id = params.id;
  const me = useSessionCtx().principal.name;
  const canWrite = useCan("alerts:write");
  const f = useFetch((signal) => apiJSON<Alert>("/api/v1/alerts/" + encodeURIComponent(id), { signal }), [id]);
  const hist = useFetch((signal) => apiJSON<{ history: HistoryEntry[] }>(`/api/v1/alerts/${id}/history`, { signal }), [id, f.data?.updated]);
  const act = useAction(f.reload);
  const [closing, setClosing] = useState(false);
  const [excepting, setExcepting] = useState(false);
  const [note, setNote] = useState("");
  const patch = (body: Record<string, unknown>) => act.run(() => apiJSON("/api/v1/alerts/" + id, { method: "PATCH", body }));
  if (f.loading && !f.data) return <Loading />;
  if (!f.data) return <ErrorBox error={f.error} onRetry={f.reload} />;
  const a = f.data;
  const all = { ...(a.fields ?? {}), ...(a.group_by ?? {}) };
  return (
    <>
      <PageHeader title={a.rule_title}>
        {canWrite && a.status !== "closed" && (
          <>
            {a.assignee !== me && (
              <button type="button" class="btn" disabled={act.busy} onClick={() => patch({ status: "in_progress", assignee: me })}>
                Take
              </button>
            )}
            <button type="button" class="btn" disabled={act.busy} onClick={() => {
              const who = prompt("Assign to (user name; empty to unassign)", a.assignee ?? "");
              if (who !== null) patch({ assignee: who });
            }}>
              Assign…
            </button>
            <button type="button" class="btn primary" onClick={() => setClosing(true)}>
              Close…
            </button>
          </>
        )}
        {canWrite && a.status === "closed" && (
          <button type="button" class="btn" disabled={act.busy} onClick={() => patch({ status: "in_progress" })}>
            Reopen
          </button>
        )}
        {canWrite && (
          <button type="button" class="btn" onClick={() => setExcepting(true)}>
            Exception…
          </button>
        )}
      </PageHeader>
      <ErrorBox error={act.error} />
      <div class="triage-grid">
        <div>
          <div class="card">
            <Facts
              items={[
                ["Level", <Level level={a.level} />],
                ["Status", a.status.replace("_", " ")],
                ["Disposition", a.disposition ? dispositionLabel(a.disposition) + (a.reason ? ": " + a.reason : "") : ""],
                ["Assignee", a.assignee || "nobody"],
                ["Events", (a.count ?? 1).toLocaleString() + (a.value ? " (measured " + a.value.toLocaleString() + ")" : "")],
                ["First seen", a.first_seen && fmtEventTime(a.first_seen)],
                ["Last seen", fmtEventTime(a.time)],
                ["Raised", fmtEventTime(a.created)],
                ["Kind", a.kind],
                ["SLA", slaDue(a).text ? <SlaDue a={a} /> : ""],
                ["Acknowledged in", duration(a.sla?.acknowledged_in_seconds) + (a.sla?.acknowledge_breached ? " (past target)" : "")],
                ["Closed in", duration(a.sla?.closed_in_seconds) + (a.sla?.close_breached ? " (past target)" : "")],
                ["Rule", <a href={"/rules?q=" + encodeURIComponent(a.rule_id)}>{a.rule_id}</a>],
                ["Tags", (a.tags ?? []).join(", ")],
              ]}
            />
          </div>
          {a.kind === "privacy" && <PrivacyCard a={a} />}
          <div class="card">
            <h2>Matched events</h2>
            <MatchedEvents a={a} />
          </div>
          <RuleCard a={a} />
          <div class="card">
            <h2>History</h2>
            <ErrorBox error={hist.error} />
            {hist.data && (
              <SimpleTable
                caption="History"
                rows={hist.data.history}
                rowKey={(h) => h.id}
                empty="No change yet."
                columns={[
                  { key: "time", label: "When", render: (h) => fmtEventTime(h.time) },
                  { key: "actor", label: "Who" },
                  { key: "field", label: "What" },
                  { key: "change", label: "Change", render: (h) => (h.field === "note" ? h.new : `${h.old || "—"} → ${h.new || "—"}`) },
                ]}
              />
            )}
          </div>
        </div>
        <div>
          <div class="card">
            <h2>Entities</h2>
            <ul class="note-list">
              {Object.entries(all)
                .filter(([k]) => entityOf(k))
                .map(([k, v]) => (
                  <li key={k}>
                    {k}: <EntityLink kind={entityOf(k)!} value={v} /> <Risk field={k} value={v} />
                  </li>
                ))}
            </ul>
          </div>
          <div class="card">
            <h2>Notes</h2>
            <ul class="note-list">
              {(a.notes ?? []).map((n) => (
                <li key={n.id}>
                  <small class="muted">
                    {fmtEventTime(n.time)} · {n.author}
                  </small>
                  <br />
                  {n.text}
                </li>
              ))}
            </ul>
            {canWrite && (
              <form class="modal-form" onSubmit={(e) => (e.preventDefault(), patch({ note }).then((ok) => ok && setNote("")))}>
                <textarea rows={3} aria-label="New note" value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
                <button type="submit" class="btn small" disabled={!note.trim() || act.busy}>
                  Add note
                </button>
              </form>
            )}
          </div>
          <Actions alertID={a.id} />
          <Cases alertID={a.id} title={a.rule_title} />
          <Deliveries alertID={a.id} />
        </div>
      </div>
      {closing && <CloseDialog ids={[a.id]} onClose={() => setClosing(false)} onDone={() => (setClosing(false), f.reload())} />}
      {excepting && <ExceptionDialog a={a} onClose={() => setExcepting(false)} onDone={() => (setExcepting(false), f.reload())} />}
    </>
  );
}

const RISK_TYPES: Record<string, string> = { "user.name": "user", "host.name": "host", "source.ip": "ip", "healthcare.patient.id": "patient" };

function Risk({ field, value }: { field: string; value: string }) {
  const typ = RISK_TYPES[field];
  const f = useFetch(
    (signal) => (typ ? apiJSON<{ entity: { score: number }; threshold: number }>(`/api/v1/risk/${typ}/${encodeURIComponent(value)}`, { signal }) : Promise.resolve(undefined)),
    [typ, value],
  );
  if (!f.data) return null;
  const hot = f.data.threshold > 0 && f.data.entity.score >= f.data.threshold;
  return <span class={"badge " + (hot ? "bad" : "ok")} title="Entity risk (decaying)">risk {f.data.entity.score}</span>;
}

function MatchedEvents({ a }: { a: Alert }) {
  const ids = (a.event_ids ?? []).slice(0, 200);
  const f = useFetch(
    async (signal) => {
      const rows: Record<string, string>[] = [];
      if (!ids.length) return rows;
      const q = "vigil.id:in(" + ids.map((x) => JSON.stringify(x)).join(",") + ")";
      const start = new Date(Date.parse(a.first_seen ?? a.time) - 86400_000).toISOString();
      const end = new Date(Date.parse(a.time) + 86400_000).toISOString();
      await apiNDJSON("/api/v1/search", { signal, query: { q, start, end, limit: 200 } }, (r) => rows.push(r));
      return rows;
    },
    [a.id, a.updated],
  );
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  return (
    <>
      <SimpleTable
        caption="Matched events"
        rows={f.data}
        rowKey={(r) => r["vigil.id"] ?? r["@timestamp"]}
        empty="The events are not in the store (retention, or not yet written)."
        initialSort={{ key: "@timestamp" }}
        columns={[
          { key: "@timestamp", label: "Time", render: (r) => fmtEventTime(r["@timestamp"]) },
          { key: "host.name", label: "Host" },
          { key: "user.name", label: "User" },
          { key: "source.ip", label: "Source" },
          { key: "message", label: "Message" },
        ]}
      />
      <p class="muted">
        {(a.event_ids ?? []).length < (a.count ?? 1) ? `The first ${(a.event_ids ?? []).length} of ${a.count} events. ` : ""}
        <a href={"/search?q=" + encodeURIComponent("vigil.id:in(" + ids.map((x) => JSON.stringify(x)).join(",") + ")") + "&start=" + encodeURIComponent("-30d")}>Open in search</a>
      </p>
    </>
  );
}

function Actions({ alertID }: { alertID: number }) {
  const canRun = useCan("response:run");
  const canApprove = useCan("response:approve");
  const f = useFetch((signal) => apiJSON<{ attached: ActionDef[]; other: ActionDef[]; runs: Run[] }>(`/api/v1/alerts/${alertID}/actions`, { signal }), [alertID]);
  const act = useAction(f.reload);
  const [result, setResult] = useState<Run | null>(null);
  if (!f.data || (f.data.attached.length + f.data.other.length === 0 && f.data.runs.length === 0)) return null;
  const run = (name: string, dry: boolean) =>
    act.run(async () => setResult(await apiJSON<Run>(`/api/v1/alerts/${alertID}/actions/${encodeURIComponent(name)}`, { method: "POST", body: { dry_run: dry } })));
  return (
    <div class="card">
      <h2>Response actions</h2>
      <ErrorBox error={act.error} />
      {canRun &&
        [...f.data.attached, ...f.data.other].map((x) => (
          <div key={x.name} class="row-actions wrap">
            <strong>{x.name}</strong>
            {x.disruptive && <span class="badge warn">needs approval</span>}
            <button type="button" class="btn small" disabled={act.busy} onClick={() => run(x.name, true)}>
              Dry run
            </button>
            <button type="button" class="btn small" disabled={act.busy} onClick={() => confirm(`Run ${x.name}?`) && run(x.name, false)}>
              Run
            </button>
          </div>
        ))}
      {result && (
        <p class="notice">
          {result.action}: {result.status.replace("_", " ")} {result.approval_required ? "(" + result.approval_required + ")" : ""} — {result.url}
        </p>
      )}
      {f.data.runs.length > 0 && (
        <SimpleTable
          caption="Runs"
          rows={f.data.runs}
          rowKey={(r) => r.id}
          columns={[
            { key: "action", label: "Action" },
            { key: "status", label: "Status", render: (r) => r.status.replace("_", " ") + (r.error ? ": " + r.error : "") },
            { key: "requested_by", label: "By" },
            {
              key: "decide",
              label: "",
              render: (r) =>
                canApprove && r.status === "pending_approval" ? (
                  <span class="row-actions" title={r.approval_required}>
                    <button type="button" class="btn small" disabled={act.busy} onClick={() => act.run(() => apiJSON(`/api/v1/response/runs/${r.id}/approve`, { method: "POST", body: {} }))}>
                      Approve
                    </button>
                    <button type="button" class="btn small" disabled={act.busy} onClick={() => act.run(() => apiJSON(`/api/v1/response/runs/${r.id}/reject`, { method: "POST", body: {} }))}>
                      Reject
                    </button>
                  </span>
                ) : null,
            },
          ]}
        />
      )}
    </div>
  );
}

function Cases({ alertID, title }: { alertID: number; title: string }) {
  const canWrite = useCan("cases:write");
  const canRead = useCan("cases:read");
  const f = useFetch(
    (signal) => (canRead ? apiJSON<{ cases: { id: number; title: string; status: string }[] }>("/api/v1/cases", { signal, query: { alert: alertID } }) : Promise.resolve({ cases: [] })),
    [alertID],
  );
  const act = useAction(f.reload);
  if (!canRead) return null;
  return (
    <div class="card">
      <h2>Cases</h2>
      <ErrorBox error={act.error} />
      <ul class="note-list">
        {(f.data?.cases ?? []).map((c) => (
          <li key={c.id}>
            <a href={"/cases/" + c.id}>
              #{c.id} {c.title}
            </a>{" "}
            ({c.status.replace("_", " ")})
          </li>
        ))}
      </ul>
      {canWrite && (
        <div class="row-actions">
          <button type="button" class="btn small" disabled={act.busy} onClick={() =>
            act.run(async () => {
              const c = await apiJSON<{ id: number }>("/api/v1/cases", { method: "POST", body: { title, alerts: [alertID] } });
              navigate("/cases/" + c.id);
            })
          }>
            New case
          </button>
          <button type="button" class="btn small" disabled={act.busy} onClick={() => {
            const cid = prompt("Add to case number");
            if (cid) act.run(() => apiJSON(`/api/v1/cases/${encodeURIComponent(cid)}/alerts`, { method: "POST", body: { ids: [alertID] } }));
          }}>
            Add to case…
          </button>
        </div>
      )}
    </div>
  );
}

function Deliveries({ alertID }: { alertID: number }) {
  const f = useFetch((signal) => apiJSON<{ deliveries: Delivery[] }>(`/api/v1/alerts/${alertID}/deliveries`, { signal }), [alertID]);
  if (!f.data || f.data.deliveries.length === 0) return null;
  return (
    <div class="card">
      <h2>Notifications</h2>
      <SimpleTable
        caption="Notifications"
        rows={f.data.deliveries}
        rowKey={(d) => d.id}
        columns={[
          { key: "channel", label: "Channel" },
          { key: "status", label: "Status", render: (d) => <span class={"badge " + (d.status === "sent" ? "ok" : d.status === "dead" ? "bad" : "warn")}>{d.status}</span> },
          { key: "attempts", label: "Tries", num: true },
          { key: "last_error", label: "Last error" },
        ]}
      />
    </div>
  );
}

function ExceptionDialog({ a, onClose, onDone }: { a: Alert; onClose: () => void; onDone: () => void }) {
  // correlation.* describe the alert itself (first match, count), never
  // an event: no exception can match on them.
  const values = Object.fromEntries(Object.entries({ ...(a.fields ?? {}), ...(a.group_by ?? {}) }).filter(([k]) => !k.startsWith("correlation.")));
  const grouped = Object.keys(a.group_by ?? {});
  const entity = (a.group_key ?? "").split("\u0000").slice(1).map((p) => p.split("=")[0]);
  const [fields, setFields] = useState<string[]>(grouped.length ? grouped : entity);
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const [close, setClose] = useState(a.status !== "closed");
  const act = useAction(onDone);
  return (
    <Modal title="Exception from this alert" onClose={onClose}>
      <form
        class="modal-form"
        onSubmit={(e) => {
          e.preventDefault();
          act.run(() => apiJSON(`/api/v1/alerts/${a.id}/exception`, { method: "POST", body: { fields, reason, expires: expires || undefined, close } }));
        }}
      >
        <p>
          Matches of <strong>{a.rule_title}</strong> with the same values of these fields will raise no alert (they are counted):
        </p>
        <fieldset>
          <legend>Fields</legend>
          {Object.entries(values).map(([k, v]) => (
            <label key={k} class="inline">
              <input type="checkbox" checked={fields.includes(k)} onChange={() => setFields(fields.includes(k) ? fields.filter((x) => x !== k) : [...fields, k])} />
              {k} = <code>{v}</code>
            </label>
          ))}
        </fieldset>
        <Field label="Reason">
          <textarea required rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <Field label="Expires (optional)">
          <input type="date" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />
        </Field>
        {a.status !== "closed" && (
          <label class="inline">
            <input type="checkbox" checked={close} onChange={() => setClose(!close)} />
            Also close this alert as a false positive
          </label>
        )}
        <ErrorBox error={act.error} />
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={act.busy || !reason.trim() || fields.length === 0}>
            Create exception
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

// RuleCard shows the rule that raised the alert: its description, false
// positives and logic, as its YAML (for those who may read rules).
function RuleCard({ a }: { a: Alert }) {
  const can = useCan("rules:read");
  const builtin = a.rule_id.startsWith("vigil.");
  const src = useFetch((signal) => (can && !builtin ? apiJSON<{ yaml: string }>(`/api/v1/rules/${encodeURIComponent(a.rule_id)}/source`, { signal }) : Promise.resolve(null)), [a.rule_id, can]);
  if (!can || builtin) return null;
  return (
    <div class="card rule-card">
      <h2>Rule</h2>
      {src.error ? <p class="muted">The rule's source is not available.</p> : null}
      {src.data && (
        <details open>
          <summary>{a.rule_title}</summary>
          <pre class="rule-source">{src.data.yaml}</pre>
        </details>
      )}
    </div>
  );
}

// list reads a JSON list of strings as "a, b" (and anything else as it is).
function list(v?: string): string {
  if (!v) return "";
  try {
    const l = JSON.parse(v);
    return Array.isArray(l) ? l.join(", ") : v;
  } catch {
    return v;
  }
}

// PrivacyCard: why a privacy alert was raised, the accesses it names, and
// the access reports of its user and patient over the 30 days before it
// (to the day after), for whoever may read them.
function PrivacyCard({ a }: { a: Alert }) {
  const canReports = useCan("privacy:read");
  const f = a.fields ?? {};
  const last = Date.parse(a.time);
  const period = isNaN(last)
    ? {}
    : { from: new Date(Date.parse(a.first_seen || a.time) - 30 * 86400e3).toISOString(), to: new Date(last + 86400e3).toISOString() };
  const user = f["user.name"];
  const patient = f["healthcare.patient.id"];
  return (
    <div class="card privacy-card">
      <h2>Privacy</h2>
      <Facts
        items={[
          ["Why", f["privacy.reason"]],
          ["Accesses", list(f["privacy.access_ids"]) || f["event.id"]],
          ["Patients", f["privacy.patients"]],
        ]}
      />
      {canReports && (user || patient) && (
        <p class="row-actions">
          {user && (
            <Link class="btn small" href={withQuery("/privacy/reports", { user, ...period })}>
              Access report of {user}
            </Link>
          )}
          {patient && (
            <Link class="btn small" href={withQuery("/privacy/reports", { patient, ...period })}>
              Access report of {patient}
            </Link>
          )}
        </p>
      )}
    </div>
  );
}
