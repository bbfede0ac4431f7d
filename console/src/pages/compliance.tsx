// Compliance evidence: the HIPAA evidence reports (generate, download,
// sign off), the integrity of stored events (the seal chain, its last
// checkpoint and verification, verify now), the backups, and retention
// (policies, legal holds, recorded disposals). Each card shows only
// what the signed-in principal may read.
import { useState } from "preact/hooks";
import { apiDownload, apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { useCan } from "../lib/session";
import { bytes } from "../lib/format";
import { fmtTime } from "../lib/time";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Modal } from "../components/modal";

interface Signoff {
  reviewer: string;
  role?: string;
  comment?: string;
  signed: string;
  sha256: string;
}

interface Stored {
  id: number;
  kind: string;
  period_from: string;
  period_to: string;
  generated: string;
  generated_by: string;
  sha256: string;
  signoffs: Signoff[];
}

interface ReportSchedule {
  every_seconds: number;
  email_to: string[];
  next: string;
  last?: string;
  last_error?: string;
}

interface Problem {
  kind: string;
  detail: string;
  seq?: number;
  event?: string;
}

interface Report {
  ok?: boolean;
  checked: string;
  batches: number;
  events: number;
  problems_total: number;
  problems: Problem[];
}

interface Integrity {
  entries: number;
  batches: number;
  events: number;
  key_id: string;
  last_checkpoint?: { number: number; time: string };
  last_checkpoint_timestamped: boolean;
  last_verify?: Report;
}

interface Backup {
  id?: string;
  target: string;
  started: string;
  snapshot?: string;
  files: number;
  bytes: number;
  new_bytes: number;
  encrypted?: string;
  error?: string;
}

interface Drill {
  backup: string;
  started: string;
  restore: number;
  verify: number;
  start: number;
  recovery: number;
  verified_events: number;
  ok: boolean;
  error?: string;
}

interface Policy {
  name: string;
  keep: number; // nanoseconds
  filter: string;
}

interface Hold {
  id: number;
  name: string;
  query: string;
  case?: string;
  reason: string;
  created_by: string;
  created: string;
}

interface Disposal {
  id: number;
  started: string;
  policy: string;
  filter: string;
  before: string;
  partition?: string;
  events: number;
  holds?: number[];
  error?: string;
}

interface Retention {
  store_retention: string;
  policies: Policy[];
  holds: Hold[];
  disposals: Disposal[];
}

const day = (s: string) => s.slice(0, 10);
// every reads a schedule's period in the largest whole unit.
const every = (secs: number) =>
  secs % 86400 === 0 ? plural(secs / 86400, "day") : secs % 3600 === 0 ? plural(secs / 3600, "hour") : secs % 60 === 0 ? plural(secs / 60, "minute") : plural(secs, "second");
const plural = (n: number, one: string, many = one + "s") => `${n.toLocaleString()} ${n === 1 ? one : many}`;
const keepDays = (ns: number) => {
  const d = Math.round(ns / 86400e9);
  return d >= 365 && d % 365 === 0 ? plural(d / 365, "year") : plural(d, "day");
};
// goDays reads a Go duration ("9600h0m0s") as days.
const goDays = (s: string) => {
  const m = /^(\d+)h/.exec(s);
  return m ? keepDays(Number(m[1]) * 3600e9) : s;
};

export default function Compliance() {
  const canWrite = useCan("reports:write");
  const canAudit = useCan("audit:read");
  const canSystem = useCan("system:read");
  const canConfig = useCan("config:read");
  const reports = useFetch((signal) => apiJSON<{ reports: Stored[]; schedule?: ReportSchedule | null }>("/api/v1/reports", { signal }), []);
  const [since, setSince] = useState("-30d");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [signing, setSigning] = useState<Stored | null>(null);

  const generate = async () => {
    setBusy(true);
    setError(null);
    try {
      await apiDownload("/api/v1/reports/hipaa", { method: "POST", query: { since, format: "pdf" } }, `vigil-hipaa-${new Date().toISOString().slice(0, 10)}.pdf`);
      reports.reload();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const download = (r: Stored, format: string) =>
    apiDownload(`/api/v1/reports/${r.id}`, { query: { format } }, `vigil-${r.kind}-${r.id}.${format}`).catch((e) => setError(errorMessage(e)));

  return (
    <>
      <PageHeader title="Compliance evidence">
        {canWrite && (
          <>
            <label class="inline">
              Period
              <select value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}>
                <option value="-7d">last 7 days</option>
                <option value="-30d">last 30 days</option>
                <option value="-90d">last 90 days</option>
                <option value="-365d">last year</option>
              </select>
            </label>
            <button type="button" class="btn primary" disabled={busy} onClick={generate}>
              {busy ? "Generating…" : "Generate HIPAA report"}
            </button>
          </>
        )}
      </PageHeader>
      {error && (
        <p class="error-line" role="alert">
          {error}
        </p>
      )}
      <div class="compliance-stack">
        <ErrorBox error={reports.error} onRetry={reports.reload} />
        {!reports.data && reports.loading && <Loading />}
        {reports.data && (
          <section class="card entity-section" aria-labelledby="c-reports">
            <h2 id="c-reports">HIPAA evidence reports</h2>
            <p class="muted">Each report is kept with the SHA-256 of its PDF; a reviewer's sign-off is bound to that hash and never changed.</p>
            <ScheduleLine schedule={reports.data.schedule} />
            <SimpleTable<Stored>
              caption="Kept reports"
              rows={reports.data.reports}
              rowKey={(r) => r.id}
              empty="No report yet: generate one."
              columns={[
                { key: "id", label: "Report", num: true },
                { key: "period", label: "Period", render: (r) => `${day(r.period_from)} – ${day(r.period_to)}`, value: (r) => r.period_from },
                { key: "generated", label: "Generated", render: (r) => `${fmtTime(Date.parse(r.generated))} by ${r.generated_by}`, value: (r) => r.generated },
                { key: "sha256", label: "SHA-256", render: (r) => <code title={r.sha256}>{r.sha256.slice(0, 16)}…</code> },
                {
                  key: "signoffs",
                  label: "Signed off",
                  render: (r) =>
                    r.signoffs.length === 0 ? (
                      <span class="warn-text">not yet</span>
                    ) : (
                      r.signoffs.map((s) => (
                        <div key={s.signed}>
                          {s.reviewer}
                          {s.role ? ` (${s.role})` : ""}, {fmtTime(Date.parse(s.signed))}
                          {s.comment ? <span class="muted">: {s.comment}</span> : null}
                        </div>
                      ))
                    ),
                  value: (r) => r.signoffs.length,
                },
                {
                  key: "actions",
                  label: "",
                  render: (r) => (
                    <span class="row-actions">
                      {["pdf", "html", "csv"].map((f) => (
                        <button key={f} type="button" class="btn small" onClick={() => download(r, f)}>
                          {f.toUpperCase()}
                        </button>
                      ))}
                      {canWrite && (
                        <button type="button" class="btn small primary" onClick={() => setSigning(r)}>
                          Sign off
                        </button>
                      )}
                    </span>
                  ),
                },
              ]}
            />
          </section>
        )}
        {canAudit && <IntegrityCard />}
        {canSystem && <BackupsCard />}
        {canConfig && <RetentionCard />}
      </div>
      {signing && (
        <SignOff
          report={signing}
          onClose={() => setSigning(null)}
          onDone={() => {
            setSigning(null);
            reports.reload();
          }}
        />
      )}
    </>
  );
}

// ScheduleLine says how reports are generated without anyone asking:
// reports.interval and reports.email_to, the next run, the last one.
function ScheduleLine({ schedule: s }: { schedule?: ReportSchedule | null }) {
  if (!s) {
    return <p class="report-schedule">Not scheduled: reports are generated on demand only (reports.interval, reports.email_to).</p>;
  }
  return (
    <p class="report-schedule">
      Scheduled every {every(s.every_seconds)}, covering the {every(s.every_seconds)} before
      {s.email_to.length > 0 ? `, e-mailed to ${s.email_to.join(", ")}` : ", kept here (no e-mail recipient)"}. Next {fmtTime(Date.parse(s.next))}.
      {s.last && !s.last_error && ` Last run ${fmtTime(Date.parse(s.last))}: ok.`}
      {s.last && s.last_error && (
        <span class="warn-text">
          {" "}
          Last run {fmtTime(Date.parse(s.last))} failed: {s.last_error}
        </span>
      )}
    </p>
  );
}

function IntegrityCard() {
  const f = useFetch((signal) => apiJSON<Integrity>("/api/v1/integrity", { signal }), []);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const verify = async () => {
    setRunning(true);
    setError(null);
    try {
      setResult(await apiJSON<Report>("/api/v1/integrity/verify", { method: "POST", query: { since: "-2d" } }));
      f.reload();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setRunning(false);
    }
  };
  const s = f.data;
  const last = result ?? s?.last_verify;
  return (
    <section class="card entity-section" aria-labelledby="c-integrity">
      <h2 id="c-integrity">Integrity of stored events</h2>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {s && (
        <dl class="kv">
          <dt>Sealed</dt>
          <dd>
            {plural(s.events, "event")} in {plural(s.batches, "batch", "batches")} ({plural(s.entries, "chain entry", "chain entries")})
          </dd>
          <dt>Last signed checkpoint</dt>
          <dd>
            {s.last_checkpoint ? `#${s.last_checkpoint.number}, ${fmtTime(Date.parse(s.last_checkpoint.time))}` : <span class="warn-text">none yet</span>}
            {s.last_checkpoint && (s.last_checkpoint_timestamped ? ", RFC 3161 timestamped" : ", not timestamped")}
          </dd>
          <dt>Signing key</dt>
          <dd>
            <code>{s.key_id}</code>
          </dd>
          <dt>Last verification</dt>
          <dd>
            {!last && <span class="warn-text">never run</span>}
            {last && last.problems_total === 0 && (
              <span>
                passed {fmtTime(Date.parse(last.checked))}: {plural(last.events, "event")} of {plural(last.batches, "batch", "batches")}
              </span>
            )}
            {last && last.problems_total > 0 && (
              <span class="warn-text">
                FAILED {fmtTime(Date.parse(last.checked))}: {plural(last.problems_total, "problem")}
              </span>
            )}
          </dd>
        </dl>
      )}
      {last && last.problems_total > 0 && (
        <ul class="problems">
          {last.problems.slice(0, 10).map((p, i) => (
            <li key={i}>
              <strong>{p.kind}</strong> {p.event ? `event ${p.event}` : p.seq ? `batch ${p.seq}` : ""}: {p.detail}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error-line" role="alert">
          {error}
        </p>
      )}
      <div class="row-actions">
        <button type="button" class="btn" disabled={running} onClick={verify}>
          {running ? "Verifying…" : "Verify the last 2 days now"}
        </button>
      </div>
    </section>
  );
}

function BackupsCard() {
  const f = useFetch((signal) => apiJSON<{ backups: Backup[]; drills?: Drill[] }>("/api/v1/backups", { signal }), []);
  const canWrite = useCan("config:write");
  const [drilling, setDrilling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const secs = (s: number) => `${s.toFixed(2)} s`;
  const latest = f.data?.backups?.find((b) => !b.error);
  // A drill restores the latest good backup into a scratch dir, verifies
  // it and starts a server on it: it takes as long as a recovery does.
  const drill = async () => {
    setDrilling(true);
    setError(null);
    try {
      await apiJSON<Drill>("/api/v1/backups/drill", { method: "POST", body: { from: latest?.target ?? "" } });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setDrilling(false);
      f.reload();
    }
  };
  return (
    <section class="card entity-section" aria-labelledby="c-backups">
      <h2 id="c-backups">Backups</h2>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {error && (
        <p class="error-line" role="alert">
          {error}
        </p>
      )}
      {f.data && (
        <SimpleTable<Backup>
          caption="Backups"
          rows={(f.data.backups ?? []).slice(0, 50)}
          rowKey={(b) => b.started}
          empty="No backup yet (vigil backup --to DIR, or backup.to and backup.interval)."
          columns={[
            { key: "started", label: "Started", render: (b) => fmtTime(Date.parse(b.started)), value: (b) => b.started },
            { key: "target", label: "Target" },
            { key: "files", label: "Files", num: true },
            { key: "bytes", label: "Size", render: (b) => `${bytes(b.bytes)} (${bytes(b.new_bytes)} new)`, value: (b) => b.bytes },
            { key: "encrypted", label: "Encrypted", render: (b) => (b.encrypted ? `key ${b.encrypted}` : <span class="warn-text">no</span>) },
            { key: "result", label: "Result", render: (b) => (b.error ? <span class="warn-text">failed: {b.error}</span> : "ok") },
          ]}
        />
      )}
      {f.data && (
        <>
          <h3>Restore drills</h3>
          <SimpleTable<Drill>
            caption="Restore drills"
            rows={(f.data.drills ?? []).slice(0, 20)}
            rowKey={(d) => d.started}
            empty="No restore drill yet (vigil restore --drill --from TARGET, or backup.drill_interval)."
            columns={[
              { key: "started", label: "Started", render: (d) => fmtTime(Date.parse(d.started)), value: (d) => d.started },
              { key: "backup", label: "Backup", render: (d) => d.backup || "–" },
              { key: "recovery", label: "Recovery time", num: true, render: (d) => (d.ok ? secs(d.recovery) : "–"), value: (d) => d.recovery },
              { key: "steps", label: "Restore / verify / start", render: (d) => (d.ok ? `${secs(d.restore)} / ${secs(d.verify)} / ${secs(d.start)}` : "") },
              { key: "verified_events", label: "Events verified", num: true, render: (d) => d.verified_events.toLocaleString() },
              { key: "result", label: "Result", render: (d) => (d.ok ? "passed" : <span class="warn-text">failed: {d.error}</span>) },
            ]}
          />
          {canWrite && latest && (
            <div class="row-actions">
              <button type="button" class="btn" disabled={drilling} aria-busy={drilling} onClick={drill}>
                {drilling ? "Restoring, verifying, starting…" : "Run a restore drill now"}
              </button>
              <span class="muted">of the latest backup, {latest.target}: restored into a scratch directory, verified, started, then removed.</span>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function RetentionCard() {
  const f = useFetch((signal) => apiJSON<Retention>("/api/v1/retention", { signal, query: { since: "-90d" } }), []);
  const canWrite = useCan("config:write");
  const [placing, setPlacing] = useState(false);
  const [releasing, setReleasing] = useState<Hold | null>(null);
  const s = f.data;
  return (
    <section class="card entity-section" aria-labelledby="c-retention">
      <h2 id="c-retention">Retention and legal holds</h2>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {s && (
        <>
          <p class="muted">
            Events are kept {goDays(s.store_retention)} unless a policy below disposes of them sooner; an active legal hold suspends disposal of what its query matches. Every disposal is recorded here and in the audit trail.
          </p>
          <SimpleTable<Policy>
            caption="Retention policies"
            rows={s.policies ?? []}
            rowKey={(p) => p.name}
            empty="No per-dataset policy (retention.policies): everything is kept for the store's retention."
            columns={[
              { key: "name", label: "Dataset" },
              { key: "keep", label: "Kept for", render: (p) => keepDays(p.keep), value: (p) => p.keep },
              { key: "filter", label: "Events (LogsQL)", render: (p) => <code>{p.filter}</code> },
            ]}
          />
          <h3>Active legal holds</h3>
          <SimpleTable<Hold>
            caption="Active legal holds"
            rows={s.holds}
            rowKey={(h) => h.id}
            empty="No active legal hold."
            columns={[
              { key: "name", label: "Hold" },
              { key: "query", label: "Keeps (LogsQL)", render: (h) => <code>{h.query}</code> },
              { key: "case", label: "Case", render: (h) => h.case ?? "" },
              { key: "reason", label: "Reason" },
              { key: "created", label: "Placed", render: (h) => `${fmtTime(Date.parse(h.created))} by ${h.created_by}`, value: (h) => h.created },
              {
                key: "actions",
                label: "",
                render: (h) =>
                  canWrite ? (
                    <button type="button" class="btn small" onClick={() => setReleasing(h)}>
                      Release
                    </button>
                  ) : null,
              },
            ]}
          />
          {canWrite && (
            <div class="row-actions">
              <button type="button" class="btn" onClick={() => setPlacing(true)}>
                Place a legal hold
              </button>
            </div>
          )}
          <h3>Disposals in the last 90 days</h3>
          <SimpleTable<Disposal>
            caption="Recorded disposals"
            rows={s.disposals}
            rowKey={(d) => d.id}
            empty="Nothing disposed of in the last 90 days."
            initialSort={{ key: "started", desc: true }}
            columns={[
              { key: "started", label: "When", render: (d) => fmtTime(Date.parse(d.started)), value: (d) => d.started },
              { key: "policy", label: "Policy" },
              { key: "before", label: "Older than", render: (d) => day(d.before), value: (d) => d.before },
              { key: "events", label: "Events deleted", num: true },
              { key: "holds", label: "Spared by holds", render: (d) => (d.holds?.length ? d.holds.map((id) => `#${id}`).join(", ") : "") },
              { key: "result", label: "Result", render: (d) => (d.error ? <span class="warn-text">failed: {d.error}</span> : "ok") },
            ]}
          />
        </>
      )}
      {placing && (
        <PlaceHold
          onClose={() => setPlacing(false)}
          onDone={() => {
            setPlacing(false);
            f.reload();
          }}
        />
      )}
      {releasing && (
        <ReleaseHold
          hold={releasing}
          onClose={() => setReleasing(null)}
          onDone={() => {
            setReleasing(null);
            f.reload();
          }}
        />
      )}
    </section>
  );
}

// ReleaseHold asks why a legal hold ends (kept with the release in the
// audit trail) before releasing it: disposal of what it kept resumes.
function ReleaseHold({ hold, onClose, onDone }: { hold: Hold; onClose: () => void; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await apiJSON(`/api/v1/legal-holds/${hold.id}/release`, { method: "POST", body: { reason: reason.trim() } });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <Modal title="Release a legal hold" onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <p>
          Release <strong>{hold.name}</strong>, which keeps <code>{hold.query}</code>
          {hold.case ? ` for case ${hold.case}` : ""}?
        </p>
        <p class="muted">Retention policies may then dispose of those events. The release, with who released it and why, is kept in the audit trail.</p>
        <label>
          Reason
          <textarea required name="release-reason" value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} rows={2} autoFocus placeholder="Why the hold ends, e.g. the matter is closed" />
        </label>
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn danger" disabled={busy}>
            Release hold
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PlaceHold({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [query, setQuery] = useState("");
  const [kase, setCase] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await apiJSON("/api/v1/legal-holds", { method: "POST", body: { name: name.trim(), query: query.trim(), case: kase.trim(), reason: reason.trim() } });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Modal title="Place a legal hold" onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <p class="muted">While the hold is active, no retention policy deletes the events its query matches.</p>
        <label>
          Name
          <input required name="hold-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} autoFocus placeholder="Litigation 2026-14" />
        </label>
        <label>
          Events to keep (LogsQL)
          <input required name="hold-query" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} placeholder="user.name:jdoe" />
        </label>
        <label>
          Case
          <input name="hold-case" value={kase} onInput={(e) => setCase((e.target as HTMLInputElement).value)} placeholder="optional" />
        </label>
        <label>
          Reason
          <textarea required name="hold-reason" value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} rows={2} />
        </label>
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary">
            Place hold
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

function SignOff({ report, onClose, onDone }: { report: Stored; onClose: () => void; onDone: () => void }) {
  const [reviewer, setReviewer] = useState("");
  const [role, setRole] = useState("");
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await apiJSON(`/api/v1/reports/${report.id}/signoff`, { method: "POST", body: { reviewer: reviewer.trim(), role: role.trim(), comment: comment.trim(), sha256: report.sha256 } });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Modal title={`Sign off report ${report.id}`} onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <p class="muted">
          You attest that you reviewed the report of {day(report.period_from)} – {day(report.period_to)} whose PDF has SHA-256 <code>{report.sha256}</code>.
        </p>
        <label>
          Reviewer
          <input required value={reviewer} onInput={(e) => setReviewer((e.target as HTMLInputElement).value)} autoFocus placeholder="Full name" />
        </label>
        <label>
          Role
          <input value={role} onInput={(e) => setRole((e.target as HTMLInputElement).value)} placeholder="Security officer" />
        </label>
        <label>
          Comment
          <textarea value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} rows={3} />
        </label>
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary">
            Sign off
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
