// Access reports: every access to one patient's record over a period
// (when, who, role, department, action, explained or not and why — the
// accounting HIPAA's proposed 164.528(b) describes), or every patient one
// user opened, the unexplained first. Both download as CSV or PDF through
// the same API (GET /api/v1/privacy/reports/…), which records every
// generation in the audit trail.
import { useEffect, useState } from "preact/hooks";
import { apiDownload, apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { entityHref } from "../lib/entities";
import { fmtTime } from "../lib/time";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable, type Column } from "../components/table";
import { Link } from "../components/link";
import { Facts, Field, useAction } from "../components/triage";
import { Explained, explanationLabel, PeriodPicker, usePeriod, type AccessRow, type PatientReport, type Period, type UserReport } from "../components/privacy";

type Kind = "patient" | "user";

export default function PrivacyReports() {
  const loc = useLocation();
  const [period, setPeriod] = usePeriod();
  const kind: Kind = loc.query.has("user") ? "user" : "patient";
  const id = loc.query.get(kind) ?? "";
  const [draft, setDraft] = useState<{ kind: Kind; id: string }>({ kind, id });
  useEffect(() => setDraft({ kind, id }), [kind, id]);
  const open = (e: Event) => {
    e.preventDefault();
    navigate(withQuery("/privacy/reports", { [draft.kind]: draft.id.trim(), from: period.from, to: period.to }));
  };
  return (
    <>
      <PageHeader title="Access reports">
        <PeriodPicker value={period} onChange={setPeriod} />
      </PageHeader>
      <form class="filter-bar" onSubmit={open}>
        <Field label="Report on">
          <select name="kind" value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: (e.target as HTMLSelectElement).value as Kind })}>
            <option value="patient">a patient (every access to the record)</option>
            <option value="user">a user (every patient opened)</option>
          </select>
        </Field>
        <Field label={draft.kind === "patient" ? "Patient identifier (MRN)" : "User name"}>
          <input name="id" required value={draft.id} onInput={(e) => setDraft({ ...draft, id: (e.target as HTMLInputElement).value })} />
        </Field>
        <button type="submit" class="btn primary">
          Open report
        </button>
      </form>
      {!id && <p class="hint">Choose a patient or a user. Reports are also linked from the privacy overview and from patient pages.</p>}
      {id && kind === "patient" && <PatientView key={id} patient={id} period={period} />}
      {id && kind === "user" && <UserView key={id} user={id} period={period} />}
    </>
  );
}

function Downloads({ path, period, name }: { path: string; period: Period; name: string }) {
  const act = useAction();
  return (
    <span class="row-actions">
      {["csv", "pdf"].map((format) => (
        <button
          key={format}
          type="button"
          class="btn small"
          disabled={act.busy}
          onClick={() => act.run(() => apiDownload(path, { query: { ...period, format } }, `${name}.${format}`))}
        >
          Download {format.toUpperCase()}
        </button>
      ))}
      {act.error ? (
        <span class="error-line" role="alert">
          {errorMessage(act.error)}
        </span>
      ) : null}
    </span>
  );
}

const when = (r: AccessRow) => fmtTime(Date.parse(r.time));

const accessColumns = (show: "user" | "patient", period: Period): Column<AccessRow>[] => [
  { key: "time", label: "When", render: (r) => <span class="nowrap">{when(r)}</span> },
  show === "user"
    ? { key: "user", label: "Who", render: (r) => <Link href={withQuery("/privacy/reports", { user: r.user, ...period })}>{r.user_name ? `${r.user_name} (${r.user})` : r.user}</Link> }
    : { key: "patient", label: "Patient", render: (r) => <Link href={withQuery("/privacy/reports", { patient: r.patient, ...period })}>{r.patient}</Link> },
  { key: "role", label: "Role" },
  { key: "department", label: "Department" },
  { key: "action", label: "Action", render: (r) => (r.break_glass ? <>{r.action} <span class="badge bad" title={r.break_glass_reason}>break-glass</span></> : r.action) },
  {
    key: "explained",
    label: "Explanation",
    value: (r) => (r.explained ? 1 : 0) + (r.explanation ?? ""),
    render: (r) => <Explained explained={r.explained} code={r.explanation} detail={r.explanation_detail} />,
  },
  { key: "access_id", label: "Access id", render: (r) => <code class="nowrap">{r.access_id}</code> },
];

function PatientView({ patient, period }: { patient: string; period: Period }) {
  const path = "/api/v1/privacy/reports/patients/" + encodeURIComponent(patient);
  const f = useFetch((signal) => apiJSON<PatientReport>(path, { signal, query: { ...period } }), [path, period.from, period.to]);
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  const r = f.data;
  return (
    <section class="card entity-section" aria-labelledby="r-patient">
      <div class="section-head">
        <h2 id="r-patient">
          Accesses to the record of <Link href={entityHref("patient", r.patient)}>{r.patient}</Link>
        </h2>
        <Downloads path={path} period={period} name={"access-report-" + r.patient} />
      </div>
      <Facts
        items={[
          ["Period", `${fmtTime(Date.parse(r.from))} – ${fmtTime(Date.parse(r.to))}`],
          ["Accesses", <span data-k="total">{r.total.toLocaleString()}</span>],
          ["Users", r.users.toLocaleString()],
          ["Unexplained", <span data-k="unexplained">{r.unexplained.toLocaleString()}</span>],
          ["Break-glass", r.break_glass.toLocaleString()],
        ]}
      />
      {r.total > r.accesses.length && <p class="notice-line">Showing the newest {r.accesses.length.toLocaleString()} of {r.total.toLocaleString()} accesses.</p>}
      <div class="scroll-box">
        <SimpleTable<AccessRow>
          caption={"Accesses to " + r.patient}
          rows={r.accesses}
          rowKey={(a) => a.event_id || a.time + a.user}
          columns={accessColumns("user", period)}
          empty="Nobody opened this record in this period."
        />
      </div>
    </section>
  );
}

function UserView({ user, period }: { user: string; period: Period }) {
  const path = "/api/v1/privacy/reports/users/" + encodeURIComponent(user);
  const f = useFetch((signal) => apiJSON<UserReport>(path, { signal, query: { ...period } }), [path, period.from, period.to]);
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  const r = f.data;
  return (
    <>
      <section class="card entity-section" aria-labelledby="r-user">
        <div class="section-head">
          <h2 id="r-user">
            Patients opened by <Link href={entityHref("user", r.user)}>{r.user}</Link>
          </h2>
          <Downloads path={path} period={period} name={"access-report-" + r.user} />
        </div>
        <Facts
          items={[
            ["Department", r.department],
            ["Role", r.role],
            ["Accesses", <span data-k="total">{r.total.toLocaleString()}</span>],
            ["Patients", r.patients.length.toLocaleString()],
            ["Unexplained", <span data-k="unexplained">{r.unexplained.toLocaleString()}</span>],
            ["Break-glass", r.break_glass.toLocaleString()],
          ]}
        />
        <SimpleTable
          caption={"Patients opened by " + r.user}
          rows={r.patients}
          rowKey={(p) => p.patient}
          empty="This user opened no patient record in this period."
          columns={[
            { key: "patient", label: "Patient", render: (p) => <Link href={withQuery("/privacy/reports", { patient: p.patient, ...period })}>{p.patient}</Link> },
            { key: "accesses", label: "Accesses", num: true },
            { key: "unexplained", label: "Unexplained", num: true, render: (p) => (p.unexplained ? <span class="warn-text">{p.unexplained}</span> : "0") },
            { key: "break_glass", label: "Break-glass", num: true },
            { key: "first", label: "First", render: (p) => fmtTime(Date.parse(p.first)) },
            { key: "last", label: "Last", render: (p) => fmtTime(Date.parse(p.last)) },
            { key: "explanations", label: "Explanations", value: (p) => p.explanations.join(","), render: (p) => p.explanations.map(explanationLabel).join(", ") },
          ]}
        />
      </section>
      <section class="card entity-section" aria-labelledby="r-user-accesses">
        <h2 id="r-user-accesses">Every access</h2>
        <div class="scroll-box">
          <SimpleTable<AccessRow>
            caption={"Accesses by " + r.user}
            rows={r.accesses}
            rowKey={(a) => a.event_id || a.time + a.patient}
            columns={accessColumns("patient", period)}
            empty="No access in this period."
          />
        </div>
      </section>
    </>
  );
}
