// Explanation templates: what mining learnt about which departments and
// jobs routinely open which patients (with the support, confidence and
// lift it measured), for the privacy officer to approve, reject or hand
// back to mining; and the hand-written templates of the privacy
// configuration, read-only. Every decision goes through
// POST /api/v1/privacy/templates/{id}/approve|reject|reset, which records
// it in the audit trail with the reason.
import { useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { PATIENT_CLASS } from "../lib/hl7";
import { useFetch } from "../lib/hooks";
import { useCan } from "../lib/session";
import { navigate, useLocation, withQuery } from "../lib/router";
import { fmtTime } from "../lib/time";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable, type Column } from "../components/table";
import { Modal } from "../components/modal";
import { Facts, Field, useAction } from "../components/triage";
import type { Template } from "../components/privacy";

const STATUSES: [string, string][] = [
  ["", "any status"],
  ["explaining", "explaining"],
  ["proposed", "proposed"],
  ["active", "active"],
  ["approved", "approved"],
  ["rejected", "rejected"],
  ["retired", "retired"],
];

const STATUS_CLASS: Record<string, string> = { approved: "ok", active: "ok", configured: "ok", proposed: "medium", rejected: "bad", retired: "informational" };

type Decision = "approve" | "reject" | "reset";

// groupLabel reads "department:pharmacy" as "Department pharmacy" (when
// the API has not named the group with the directory's spelling).
function groupLabel(g: string): string {
  const i = g.indexOf(":");
  return i < 0 ? g : g.charAt(0).toUpperCase() + g.slice(1, i) + " " + g.slice(i + 1);
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

// who is the template's group as the directory spells its department and
// role ("Department Pharmacy in role Pharmacist").
const who = (t: Template) => (t.group_label ? capitalise(t.group_label) : groupLabel(t.group));

// patients reads "patients in a stay of class I" as "patients in an
// inpatient stay (class I)".
export function patients(s: string): string {
  return s.replace(/in a stay of class (\S+)/g, (all, c: string) => {
    const w = PATIENT_CLASS[c.toUpperCase()];
    return w ? `in ${/^[aeiou]/.test(w) ? "an" : "a"} ${w} stay (class ${c})` : all;
  });
}

// split reads a description ("users of department pharmacy open the
// records of patients in a stay of class I") as who and which patients.
function split(d: string): [string, string] {
  const m = /^users of (.*?) open the records of (.*)$/.exec(d);
  return m ? [m[1], patients(m[2])] : ["", patients(d)];
}

// sentence is the description with the directory's names and the
// classes in words.
function sentence(t: Template): string {
  const [, what] = split(t.description);
  return `${who(t)} open the records of ${what}`;
}

// STATUS_ORDER puts what waits for a decision first.
const STATUS_ORDER: Record<string, number> = { proposed: 0, active: 1, approved: 2, rejected: 3, retired: 4, configured: 5 };

export default function PrivacyTemplates() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "";
  const group = loc.query.get("group") ?? "";
  const canWrite = useCan("privacy:write");
  const f = useFetch(
    (signal) =>
      apiJSON<{ templates: Template[]; stats: { Explained: number; Unexplained: number; Minings: number } }>("/api/v1/privacy/templates", {
        signal,
        query: { status, group },
      }),
    [status, group],
  );
  const [deciding, setDeciding] = useState<{ t: Template; d: Decision } | null>(null);
  const mine = useAction(f.reload);
  const set = (k: string, v: string) => navigate(withQuery("/privacy/templates", { status, group, [k]: v }), { replace: true });
  const all = f.data?.templates ?? [];
  const mined = all.filter((t) => t.source !== "config");
  const configured = all.filter((t) => t.source === "config");
  const columns: Column<Template>[] = [
    { key: "id", label: "Id", num: true },
    { key: "group", label: "Users of", value: (t) => who(t), render: (t) => who(t) },
    { key: "description", label: "Open the records of", value: (t) => split(t.description)[1], render: (t) => <span title={t.feature}>{split(t.description)[1]}</span> },
    { key: "support", label: "Support", num: true, value: (t) => t.stats.support, render: (t) => Math.round(t.stats.support).toLocaleString() },
    { key: "confidence", label: "Confidence", num: true, value: (t) => t.stats.confidence, render: (t) => (100 * t.stats.confidence).toFixed(0) + "%" },
    { key: "lift", label: "Lift", num: true, value: (t) => t.stats.lift, render: (t) => <span class="nowrap">{!t.stats.lift ? "" : t.stats.lift >= 1000 ? "≥ 1000×" : t.stats.lift.toFixed(1) + "×"}</span> },
    { key: "users", label: "Users", num: true, value: (t) => t.stats.users, render: (t) => t.stats.users.toLocaleString() },
    {
      key: "status",
      label: "Status",
      value: (t) => STATUS_ORDER[t.status] ?? 9,
      render: (t) => (
        <>
          <span class={"badge " + (STATUS_CLASS[t.status] ?? "")} data-status={t.status}>
            {t.status}
          </span>
          {t.decided_by && (
            <div class="muted small" title={t.reason}>
              {t.decided_by}, {t.decided_at ? fmtTime(Date.parse(t.decided_at)) : ""}
              {t.reason ? ": " + t.reason : ""}
            </div>
          )}
        </>
      ),
    },
  ];
  if (canWrite)
    columns.push({
      key: "actions",
      label: "Decision",
      render: (t) => (
        <span class="row-actions">
          {t.status !== "approved" && (
            <button type="button" class="btn small primary" onClick={() => setDeciding({ t, d: "approve" })} aria-label={`Approve template ${t.id}`}>
              Approve
            </button>
          )}
          {t.status !== "rejected" && (
            <button type="button" class="btn small" onClick={() => setDeciding({ t, d: "reject" })} aria-label={`Reject template ${t.id}`}>
              Reject
            </button>
          )}
          {(t.status === "approved" || t.status === "rejected") && (
            <button type="button" class="btn small" onClick={() => setDeciding({ t, d: "reset" })} aria-label={`Reset template ${t.id}`}>
              Reset
            </button>
          )}
        </span>
      ),
    });
  return (
    <>
      <PageHeader title="Explanation templates">
        {canWrite && (
          <button type="button" class="btn" disabled={mine.busy} onClick={() => mine.run(() => apiJSON("/api/v1/privacy/mine", { method: "POST" }))}>
            {mine.busy ? "Mining…" : "Mine now"}
          </button>
        )}
      </PageHeader>
      <form class="filter-bar" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select name="status" value={status} onChange={(e) => set("status", (e.target as HTMLSelectElement).value)}>
            {STATUSES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Department or role">
          <input name="group" type="search" value={group} onChange={(e) => set("group", (e.target as HTMLInputElement).value)} placeholder="pharmacy" />
        </Field>
      </form>
      {mine.error ? (
        <p class="error-line" role="alert">
          {errorMessage(mine.error)}
        </p>
      ) : null}
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <>
          <p class="hint">
            A template says that users of a department or job routinely open the records of patients in some state; while it is active, approved or
            configured it explains such accesses, and the privacy rules do not judge them. Support is how many otherwise unexplained accesses it
            explains, confidence the share of the group's such accesses, lift how much more often than chance. Since start-up{" "}
            {f.data.stats.Explained.toLocaleString()} accesses were explained and {f.data.stats.Unexplained.toLocaleString()} not, over{" "}
            {f.data.stats.Minings.toLocaleString()} minings.
          </p>
          <section class="card entity-section" aria-labelledby="t-mined">
            <h2 id="t-mined">Learnt from the access history</h2>
            <p class="muted" data-k="counts">
              {mined.length.toLocaleString()} templates
              {mined.length > 0 && ": "}
              {Object.entries(
                mined.reduce<Record<string, number>>((m, t) => ((m[t.status] = (m[t.status] ?? 0) + 1), m), {}),
              )
                .sort(([a], [b]) => (STATUS_ORDER[a] ?? 9) - (STATUS_ORDER[b] ?? 9))
                .map(([k, n]) => `${n} ${k}`)
                .join(", ")}
              . Proposed templates wait for your decision; retired ones no longer meet the mining criteria.
            </p>
            <SimpleTable<Template>
              caption="Mined templates"
              rows={mined}
              rowKey={(t) => t.id}
              columns={columns}
              initialSort={{ key: "status" }}
              empty="Mining has not found a template yet: it needs the ADT feed and some accesses of each department."
            />
          </section>
          <section class="card entity-section" aria-labelledby="t-configured">
            <h2 id="t-configured">Configured by hand</h2>
            <p class="muted">From the privacy configuration file (privacy.config); change them there.</p>
            <SimpleTable<Template>
              caption="Configured templates"
              rows={configured}
              rowKey={(t) => t.id}
              columns={[
                { key: "name", label: "Name" },
                { key: "group", label: "Who", render: (t) => who(t) },
                { key: "description", label: "Template", render: (t) => sentence(t) },
              ]}
              empty="No hand-written template."
            />
          </section>
        </>
      )}
      {deciding && (
        <Decide
          t={deciding.t}
          d={deciding.d}
          onClose={() => setDeciding(null)}
          onDone={() => {
            setDeciding(null);
            f.reload();
          }}
        />
      )}
    </>
  );
}

const VERB: Record<Decision, string> = { approve: "Approve", reject: "Reject", reset: "Reset" };

function Decide({ t, d, onClose, onDone }: { t: Template; d: Decision; onClose: () => void; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const act = useAction(onDone);
  return (
    <Modal title={`${VERB[d]} template ${t.id}`} onClose={onClose}>
      <form
        class="modal-form"
        onSubmit={(e) => {
          e.preventDefault();
          act.run(() => apiJSON(`/api/v1/privacy/templates/${t.id}/${d}`, { method: "POST", body: { reason } }));
        }}
      >
        <p>{sentence(t)}.</p>
        <Facts
          items={[
            ["Support", Math.round(t.stats.support).toLocaleString() + " accesses"],
            ["Confidence", (100 * t.stats.confidence).toFixed(0) + "% of the group's otherwise unexplained accesses"],
            ["Added", (100 * t.stats.gain).toFixed(0) + "% beyond the templates chosen before it"],
            ["Base rate", (100 * t.stats.base).toFixed(2) + "% of patients are in this state at a random time"],
            ["Lift", t.stats.lift ? t.stats.lift.toFixed(1) + "×" : ""],
            ["Users, patients", `${t.stats.users} users, ${t.stats.patients} patients in the sample of ${t.stats.sample}`],
            ["Mined", t.first_mined ? `first ${fmtTime(Date.parse(t.first_mined))}, last ${t.last_mined ? fmtTime(Date.parse(t.last_mined)) : ""}` : ""],
            ["Status", t.status + (t.decided_by ? ` (${t.decided_by}${t.reason ? ": " + t.reason : ""})` : "")],
          ]}
        />
        <p class="muted">
          {d === "approve" && "Approved, it explains such accesses whatever later mining finds."}
          {d === "reject" && "Rejected, it never explains an access; mining looks for other explanations."}
          {d === "reset" && "Reset, the template goes back to mining: it explains accesses again only while it meets the criteria."}
        </p>
        <Field label={d === "reset" ? "Reason (optional, recorded in the audit trail)" : "Reason (recorded in the audit trail)"}>
          <textarea name="reason" required={d !== "reset"} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
        </Field>
        {act.error ? (
          <p class="error-line" role="alert">
            {errorMessage(act.error)}
          </p>
        ) : null}
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={act.busy}>
            {VERB[d]}
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
