// One case: its facts, alerts, tasks, notes and timeline, evidence with
// hashes, and for a privacy case the four-factor assessment, the patients
// and the notification clock; the report as PDF or HTML.
import { useState } from "preact/hooks";
import { apiDownload, apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { fmtEventTime } from "../lib/time";
import { useCan } from "../lib/session";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Facts, Field, Level, useAction } from "../components/triage";
import type { PageProps } from "../pages";

interface FactorV {
  risk: string;
  notes: string;
}

interface Case {
  id: number;
  title: string;
  description: string;
  kind: string;
  owner: string;
  severity: string;
  status: string;
  created: string;
  created_by: string;
  discovered: string;
  alerts: number[];
  tasks?: { id: number; title: string; assignee?: string; done: boolean }[];
  timeline?: { id: number; time: string; actor: string; kind: string; text: string }[];
  evidence?: { id: number; kind: string; name: string; query?: string; events?: number; size: number; sha256: string; added_by: string; time: string }[];
  assessment?: { nature_extent: FactorV; unauthorized_person: FactorV; acquired_viewed: FactorV; mitigation: FactorV; exception?: string; by?: string };
  breach?: {
    conclusion: string;
    patients?: { count: number; by_state: Record<string, number>; truncated?: boolean };
    deadlines: { who: string; required: boolean; due: string; rule: string; done?: string; days_left: number; overdue: boolean }[];
  };
}

const FACTORS: [keyof NonNullable<Case["assessment"]>, string][] = [
  ["nature_extent", "(i) Nature and extent of the PHI, identifiers, likelihood of re-identification"],
  ["unauthorized_person", "(ii) The unauthorized person who used it or to whom it was disclosed"],
  ["acquired_viewed", "(iii) Whether the PHI was actually acquired or viewed"],
  ["mitigation", "(iv) Extent to which the risk has been mitigated"],
];

export default function CasePage({ params }: PageProps) {
  const id = params.id;
  const canWrite = useCan("cases:write");
  const f = useFetch((signal) => apiJSON<Case>("/api/v1/cases/" + encodeURIComponent(id), { signal }), [id]);
  const act = useAction(f.reload);
  const [note, setNote] = useState("");
  const [task, setTask] = useState("");
  const [search, setSearch] = useState({ name: "", query: "", start: "-24h", end: "now" });
  if (f.loading && !f.data) return <Loading />;
  if (!f.data) return <ErrorBox error={f.error} onRetry={f.reload} />;
  const c = f.data;
  const patch = (body: Record<string, unknown>) => act.run(() => apiJSON("/api/v1/cases/" + id, { method: "PATCH", body }));
  return (
    <>
      <PageHeader title={`Case ${c.id}: ${c.title}`}>
        {canWrite && (
          <select aria-label="Status" value={c.status} onChange={(e) => patch({ status: (e.target as HTMLSelectElement).value })}>
            <option value="open">open</option>
            <option value="in_progress">in progress</option>
            <option value="closed">closed</option>
          </select>
        )}
        <button type="button" class="btn" onClick={() => act.run(() => apiDownload(`/api/v1/cases/${id}/report`, { query: { format: "pdf" } }, `case-${id}.pdf`))}>
          Report (PDF)
        </button>
        <button type="button" class="btn" onClick={() => act.run(() => apiDownload(`/api/v1/cases/${id}/report`, { query: { format: "html" } }, `case-${id}.html`))}>
          Report (HTML)
        </button>
      </PageHeader>
      <ErrorBox error={act.error} />
      <div class="triage-grid">
        <div>
          <div class="card">
            <Facts
              items={[
                ["Kind", c.kind],
                ["Severity", <Level level={c.severity} />],
                ["Owner", c.owner || "nobody"],
                ["Opened", fmtEventTime(c.created) + " by " + c.created_by],
                ["Discovered", fmtEventTime(c.discovered)],
              ]}
            />
            {c.description && <p>{c.description}</p>}
          </div>
          {c.kind === "privacy" && c.breach && <Breach c={c} onSave={(a) => patch({ assessment: a })} canWrite={canWrite} />}
          <div class="card">
            <h2>Timeline</h2>
            <SimpleTable
              caption="Timeline"
              rows={c.timeline ?? []}
              rowKey={(e) => e.id}
              columns={[
                { key: "time", label: "When", render: (e) => fmtEventTime(e.time) },
                { key: "actor", label: "Who" },
                { key: "kind", label: "What" },
                { key: "text", label: "Details" },
              ]}
            />
            {canWrite && (
              <form class="modal-form" onSubmit={(e) => (e.preventDefault(), patch({ note }).then((ok) => ok && setNote("")))}>
                <textarea rows={2} aria-label="New note" value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
                <button type="submit" class="btn small" disabled={!note.trim()}>
                  Add note
                </button>
              </form>
            )}
          </div>
          <div class="card">
            <h2>Evidence</h2>
            <SimpleTable
              caption="Evidence"
              rows={c.evidence ?? []}
              rowKey={(e) => e.id}
              empty="No evidence yet."
              columns={[
                { key: "name", label: "Name", render: (e) => <a href="#" onClick={(ev) => (ev.preventDefault(), apiDownload(`/api/v1/cases/${id}/evidence/${e.id}`, {}, e.name))}>{e.name}</a> },
                { key: "kind", label: "Kind" },
                { key: "events", label: "Events", num: true },
                { key: "size", label: "Bytes", num: true },
                { key: "sha256", label: "SHA-256", render: (e) => <code class="mono small">{e.sha256}</code> },
              ]}
            />
            {canWrite && (
              <form
                class="filter-bar"
                onSubmit={(e) => {
                  e.preventDefault();
                  act.run(() => apiJSON(`/api/v1/cases/${id}/evidence`, { method: "POST", body: { kind: "search", ...search } }));
                }}
              >
                <Field label="Name">
                  <input value={search.name} onInput={(e) => setSearch({ ...search, name: (e.target as HTMLInputElement).value })} />
                </Field>
                <Field label="Search (LogsQL)">
                  <input value={search.query} size={30} onInput={(e) => setSearch({ ...search, query: (e.target as HTMLInputElement).value })} />
                </Field>
                <Field label="From">
                  <input value={search.start} size={8} onInput={(e) => setSearch({ ...search, start: (e.target as HTMLInputElement).value })} />
                </Field>
                <button type="submit" class="btn small" disabled={!search.name || !search.query || act.busy}>
                  Keep as evidence
                </button>
              </form>
            )}
          </div>
        </div>
        <div>
          <div class="card">
            <h2>Alerts</h2>
            <ul class="note-list">
              {c.alerts.map((a) => (
                <li key={a}>
                  <a href={"/alerts/" + a}>Alert {a}</a>
                </li>
              ))}
            </ul>
          </div>
          <div class="card">
            <h2>Tasks</h2>
            <ul class="note-list">
              {(c.tasks ?? []).map((t) => (
                <li key={t.id}>
                  <label class="inline">
                    <input type="checkbox" checked={t.done} disabled={!canWrite} onChange={() => act.run(() => apiJSON(`/api/v1/cases/${id}/tasks/${t.id}`, { method: "PATCH", body: { done: !t.done } }))} />
                    {t.title} {t.assignee ? "(" + t.assignee + ")" : ""}
                  </label>
                </li>
              ))}
            </ul>
            {canWrite && (
              <form class="row-actions" onSubmit={(e) => (e.preventDefault(), act.run(() => apiJSON(`/api/v1/cases/${id}/tasks`, { method: "POST", body: { title: task } })).then((ok) => ok && setTask("")))}>
                <input aria-label="New task" value={task} onInput={(e) => setTask((e.target as HTMLInputElement).value)} />
                <button type="submit" class="btn small" disabled={!task.trim()}>
                  Add task
                </button>
              </form>
            )}
          </div>
        </div>
      </div>
    </>
  );
}

function Breach({ c, onSave, canWrite }: { c: Case; onSave: (a: unknown) => void; canWrite: boolean }) {
  const b = c.breach!;
  const [a, setA] = useState(
    c.assessment ?? { nature_extent: { risk: "", notes: "" }, unauthorized_person: { risk: "", notes: "" }, acquired_viewed: { risk: "", notes: "" }, mitigation: { risk: "", notes: "" } },
  );
  return (
    <div class="card">
      <h2>Breach assessment (45 CFR 164.402) and notification clock</h2>
      <p>
        Conclusion: <strong>{b.conclusion}</strong>
        {b.patients && (
          <>
            {" "}
            · {b.patients.count.toLocaleString()} distinct patients
            {Object.entries(b.patients.by_state).length > 0 && " (" + Object.entries(b.patients.by_state).map(([s, n]) => `${s}: ${n}`).join(", ") + ")"}
          </>
        )}
      </p>
      <SimpleTable
        caption="Notifications"
        rows={b.deadlines}
        rowKey={(d) => d.who}
        columns={[
          { key: "who", label: "Notify" },
          { key: "required", label: "Required", render: (d) => (d.required ? "yes" : "no") },
          { key: "due", label: "Due", render: (d) => d.due.slice(0, 10) },
          { key: "state", label: "State", render: (d) => (d.done ? "done " + d.done.slice(0, 10) : d.overdue ? <span class="badge bad">overdue</span> : d.required ? d.days_left + " days left" : "") },
          { key: "rule", label: "Rule" },
        ]}
      />
      <form
        class="modal-form"
        onSubmit={(e) => {
          e.preventDefault();
          onSave(a);
        }}
      >
        {FACTORS.map(([k, label]) => {
          const v = (a as unknown as Record<string, FactorV>)[k];
          return (
            <fieldset key={k}>
              <legend>{label}</legend>
              <select aria-label={label + " risk"} disabled={!canWrite} value={v.risk} onChange={(e) => setA({ ...a, [k]: { ...v, risk: (e.target as HTMLSelectElement).value } })}>
                <option value="">not assessed</option>
                <option value="low">low</option>
                <option value="medium">medium</option>
                <option value="high">high</option>
              </select>
              <textarea aria-label={label + " findings"} rows={2} disabled={!canWrite} value={v.notes} onInput={(e) => setA({ ...a, [k]: { ...v, notes: (e.target as HTMLTextAreaElement).value } })} />
            </fieldset>
          );
        })}
        {canWrite && (
          <button type="submit" class="btn small">
            Save assessment
          </button>
        )}
      </form>
    </div>
  );
}
