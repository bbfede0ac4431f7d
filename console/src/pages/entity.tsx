// Entity pages: a user, a host, an IP address or a patient, reached from
// any value that names one. Each shows what the directory knows, the
// events around it, and the alerts that name it.
import { useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { ApiError, apiJSON, apiNDJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { useCan } from "../lib/session";
import { useLocation, navigate, withQuery } from "../lib/router";
import { ENTITY_LABEL, entityHref, type EntityKind } from "../lib/entities";
import { exactFilter } from "../lib/logsql";
import { careTeamByPerson, formatLocation, hl7Date, patientClass, type CareTeamMember } from "../lib/hl7";
import { fmtEventTime, fmtTime, iso, resolve, type Range } from "../lib/time";
import { searchHref } from "../lib/searchurl";
import { stepFor } from "../lib/step";
import type { PageProps } from "../pages";
import { TimeChart, BarList } from "../components/chart";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { TimePicker } from "../components/timepicker";
import { Link } from "../components/link";
import { MASKED } from "../components/event-detail";
import type { Alert } from "./alerts";

type Row = Record<string, string>;

// The fields whose value names each kind of entity, for the event filter.
const FILTER_FIELDS: Record<EntityKind, string[]> = {
  user: ["user.name", "user.target.name", "source.user.name", "winlog.event_data.TargetUserName"],
  host: ["host.name", "log.syslog.hostname", "host.hostname"],
  ip: ["source.ip", "destination.ip", "client.ip", "host.ip"],
  patient: ["healthcare.patient.id"],
};

export function entityFilter(kind: EntityKind, id: string): string {
  const fs = FILTER_FIELDS[kind];
  return fs.length === 1 ? exactFilter(fs[0], id) : "(" + fs.map((f) => exactFilter(f, id)).join(" or ") + ")";
}

export default function Entity({ params }: PageProps) {
  const kind = params.kind as EntityKind;
  const id = params.id;
  const loc = useLocation();
  const range: Range = { start: loc.query.get("start") ?? "-7d", end: loc.query.get("end") ?? "now" };
  if (!FILTER_FIELDS[kind]) return <ErrorBox error={new Error(`"${kind}" is not a kind of entity: user, host, ip or patient.`)} />;
  let abs: { start: string; end: string };
  try {
    abs = { start: iso(resolve(range.start)), end: iso(resolve(range.end)) };
  } catch (e) {
    return <ErrorBox error={e} />;
  }
  const filter = entityFilter(kind, id);
  return (
    <>
      <PageHeader title={`${ENTITY_LABEL[kind]} ${kind === "patient" ? "" : id}`.trim()}>
        <TimePicker range={range} onChange={(r) => navigate(withQuery(loc.path, { start: r.start, end: r.end === "now" ? undefined : r.end }), { replace: true })} />
        <Link class="btn" href={searchHref({ q: filter, range, cols: ["@timestamp", "host.name", "user.name", "message"], limit: 1000 })}>
          Search its events
        </Link>
      </PageHeader>
      <div class="entity-grid">
        {kind === "user" && <WorkerCard id={id} />}
        {kind === "patient" && <PatientCard mrn={id} />}
        {kind === "host" && <HostCard host={id} />}
        <RiskCard kind={kind} id={id} />
        <Section title="Activity over time" wide={kind !== "patient"}>
          <Activity filter={filter} start={abs.start} end={abs.end} />
        </Section>
        {kind === "user" && (
          <>
            <Section title="Recent logons">
              <Rows
                q={`${filter} event.category:authentication | fields _time, event.outcome, host.name, source.ip, winlog.logon.type | sort by (_time desc) | limit 50`}
                start={abs.start}
                end={abs.end}
                empty="No logon in this range."
              />
            </Section>
            <Section title="EHR accesses: patients opened">
              <Rows
                q={`${filter} event.module:ehr | stats by (healthcare.patient.id) count() accesses, max(_time) last | sort by (accesses desc) | limit 50`}
                start={abs.start}
                end={abs.end}
                empty="No EHR access in this range."
              />
            </Section>
          </>
        )}
        {kind === "ip" && (
          <>
            <Section title="Users from this address">
              <Bars q={`${filter} user.name:* | stats by (user.name) count() events | sort by (events desc) | limit 10`} start={abs.start} end={abs.end} link="user" />
            </Section>
            <Section title="Authentication failures">
              <Rows
                q={`${filter} event.outcome:failure | fields _time, user.name, host.name, event.action | sort by (_time desc) | limit 50`}
                start={abs.start}
                end={abs.end}
                empty="No failure in this range."
              />
            </Section>
          </>
        )}
        {kind === "host" && (
          <Section title="Datasets">
            <Bars q={`${filter} | stats by (event.dataset) count() events | sort by (events desc) | limit 10`} start={abs.start} end={abs.end} />
          </Section>
        )}
        {kind === "patient" && <AccessReport mrn={id} start={abs.start} end={abs.end} />}
        <Section title="Alerts" wide>
          <EntityAlerts kind={kind} id={id} start={abs.start} end={abs.end} />
        </Section>
        {kind !== "patient" && (
          <Section title="Recent events" wide>
            <Rows q={`${filter} | fields _time, host.name, event.dataset, event.action, message | sort by (_time desc) | limit 50`} start={abs.start} end={abs.end} empty="No event in this range." />
          </Section>
        )}
      </div>
    </>
  );
}

// noun: the entity's kind inside a sentence ("this IP address").
function noun(kind: EntityKind): string {
  return kind === "ip" ? ENTITY_LABEL[kind] : ENTITY_LABEL[kind].toLowerCase();
}

function Section({ title, wide, children }: { title: string; wide?: boolean; children: ComponentChildren }) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <section class={"card entity-section" + (wide ? " wide" : "")} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function useRows(q: string, start: string, end: string, limit = 10000) {
  return useFetch(
    async (signal) => {
      const rows: Row[] = [];
      await apiNDJSON("/api/v1/search", { signal, query: { q, start, end, limit } }, (r) => rows.push(r));
      return rows;
    },
    [q, start, end],
  );
}

function Rows({ q, start, end, empty }: { q: string; start: string; end: string; empty: string }) {
  const f = useRows(q, start, end);
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  if (!f.data.length) return <p class="empty">{empty}</p>;
  const cols: string[] = [];
  for (const r of f.data) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return (
    <div class="scroll-box">
    <SimpleTable
      caption={q}
      rows={f.data}
      rowKey={(r) => f.data!.indexOf(r)}
      columns={cols.map((c) => ({
        key: c,
        label: c,
        num: /^(accesses|events|count)$/.test(c),
        value: /^(accesses|events|count)$/.test(c) ? (r: Row) => Number(r[c]) : undefined,
        render: (r: Row) => <Value field={c} value={r[c]} />,
      }))}
    />
    </div>
  );
}

function Value({ field, value }: { field: string; value?: string }) {
  if (value === undefined) return null;
  if (field === "@timestamp" || field === "last") return <>{fmtEventTime(value)}</>;
  if (value === MASKED) return <span class="masked">{value}</span>;
  const kind = (
    { "user.name": "user", "host.name": "host", "source.ip": "ip", "destination.ip": "ip", "healthcare.patient.id": "patient" } as Record<string, EntityKind>
  )[field];
  return kind ? <Link href={entityHref(kind, value)}>{value}</Link> : <>{value}</>;
}

function Bars({ q, start, end, link }: { q: string; start: string; end: string; link?: EntityKind }) {
  const f = useRows(q, start, end);
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  if (!f.data.length) return <p class="empty">Nothing in this range.</p>;
  return (
    <BarList
      label={q}
      rows={f.data.map((r) => {
        const label = Object.entries(r).find(([k]) => k !== "events")?.[1] ?? "";
        return { label, value: Number(r.events ?? 0), href: link && label ? entityHref(link, label) : undefined };
      })}
    />
  );
}

function Activity({ filter, start, end }: { filter: string; start: string; end: string }) {
  const step = stepFor(Date.parse(end) - Date.parse(start));
  const f = useFetch(
    (signal) => apiJSON<{ hits: { timestamps: string[]; values: number[]; total: number }[] }>("/api/v1/hits", { signal, query: { q: filter, start, end, step: step.text } }),
    [filter, start, end],
  );
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  const h = f.data.hits[0];
  if (!h || !h.total) return <p class="empty">No event in this range.</p>;
  return (
    <>
      <p class="muted">{h.total.toLocaleString()} events</p>
      <TimeChart
        times={h.timestamps.map((t) => Date.parse(t) / 1000)}
        series={[{ label: "events", values: h.values }]}
        kind="bars"
        height={140}
        stepSeconds={step.seconds}
        xRange={[Date.parse(start) / 1000, Date.parse(end) / 1000]}
        onZoom={(a, b) => navigate(withQuery(location.pathname, { start: iso(a), end: iso(b) }))}
        label={`${h.total} events over time; drag to zoom`}
      />
    </>
  );
}

function EntityAlerts({ kind, id, start, end }: { kind: EntityKind; id: string; start: string; end: string }) {
  const f = useFetch(
    (signal) => apiJSON<{ alerts: Alert[] }>("/api/v1/alerts", { signal, query: { since: start, until: end, entity: id, limit: 10000 } }),
    [start, end, id],
  );
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  const fields = FILTER_FIELDS[kind];
  const mine = f.data.alerts.filter((a) => {
    const all = { ...(a.fields ?? {}), ...(a.group_by ?? {}) };
    return fields.some((x) => all[x] === id);
  });
  if (!mine.length) return <p class="empty">No alert names this {noun(kind)} in this range.</p>;
  const bySev = ["critical", "high", "medium", "low", "informational"].map((l) => [l, mine.filter((a) => a.level === l).length] as const).filter(([, n]) => n);
  return (
    <>
      <p>
        {bySev.map(([l, n]) => (
          <span key={l} class={"badge " + l}>
            {n} {l}
          </span>
        ))}
      </p>
      <SimpleTable
        caption="Alerts"
        rows={mine}
        rowKey={(a) => a.id}
        initialSort={{ key: "time", desc: true }}
        columns={[
          { key: "time", label: "Time", render: (a) => fmtEventTime(a.time) },
          { key: "level", label: "Level", render: (a) => <span class={"badge " + a.level}>{a.level}</span> },
          { key: "rule_title", label: "Rule" },
          { key: "status", label: "Status" },
        ]}
      />
    </>
  );
}

interface Worker {
  employee_id: string;
  ehr_user_id?: string;
  full_name?: string;
  department?: string;
  role?: string;
  manager_id?: string;
  hire_date?: string;
  termination_date?: string;
  email?: string;
}

function WorkerCard({ id }: { id: string }) {
  const can = useCan("directory:read");
  const f = useFetch((signal) => (can ? apiJSON<Worker>("/api/v1/workforce/" + encodeURIComponent(id), { signal }) : Promise.resolve(null)), [id, can]);
  return (
    <Section title="Workforce record">
      {!can ? (
        <p class="muted">Your role does not read the workforce directory.</p>
      ) : f.error instanceof ApiError && f.error.status === 404 ? (
        <p class="muted">No workforce record for {id} (import the HR roster to link logins to people).</p>
      ) : f.error ? (
        <ErrorBox error={f.error} onRetry={f.reload} />
      ) : !f.data ? (
        <Loading />
      ) : (
        <dl class="kv">
          <KV k="Name" v={f.data.full_name} />
          <KV k="Employee id" v={f.data.employee_id} />
          <KV k="EHR login" v={f.data.ehr_user_id} />
          <KV k="Department" v={f.data.department} />
          <KV k="Role" v={f.data.role} />
          <KV k="Manager" v={f.data.manager_id} />
          <KV k="Hired" v={f.data.hire_date} />
          {f.data.termination_date && <KV k="Terminated" v={f.data.termination_date} warn />}
        </dl>
      )}
    </Section>
  );
}

function HostCard({ host }: { host: string }) {
  const can = useCan("sources:read");
  const f = useFetch(
    (signal) => (can ? apiJSON<{ sources: { dataset: string; last_seen: string; count: number; silent: boolean }[] }>("/api/v1/sources", { signal, query: { host } }) : Promise.resolve(null)),
    [host, can],
  );
  if (!can) return null;
  return (
    <Section title="As a source">
      {f.error ? (
        <ErrorBox error={f.error} />
      ) : !f.data ? (
        <Loading />
      ) : !f.data.sources.length ? (
        <p class="muted">This host is not a source of its own.</p>
      ) : (
        <ul class="plain">
          {f.data.sources.map((s) => (
            <li key={s.dataset}>
              {s.dataset || "(no dataset)"}: {s.count.toLocaleString()} events, last {fmtTime(Date.parse(s.last_seen))}{" "}
              {s.silent && <span class="badge bad">silent</span>}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

interface Risk {
  entity: { score: number; alerts: number; last: string };
  contributions: { alert_id: number; rule_id: string; score: number; now: number; time: string }[];
  threshold: number;
}

// RiskCard: the entity's risk score, decaying over time, from the alerts
// that name it (risk-based alerting).
function RiskCard({ kind, id }: { kind: EntityKind; id: string }) {
  const can = useCan("alerts:read");
  const f = useFetch((signal) => (can ? apiJSON<Risk>("/api/v1/risk/" + kind + "/" + encodeURIComponent(id), { signal }) : Promise.resolve(null)), [kind, id, can]);
  if (!can) return null;
  if (f.error instanceof ApiError && f.error.status === 404) return null;
  const r = f.data;
  const pct = r && r.threshold > 0 ? Math.min(100, (100 * r.entity.score) / r.threshold) : 0;
  return (
    <Section title="Risk">
      {f.error ? (
        <ErrorBox error={f.error} onRetry={f.reload} />
      ) : !r ? (
        <Loading />
      ) : r.entity.alerts === 0 ? (
        <p class="muted">No alert added risk to this {noun(kind)} lately.</p>
      ) : (
        <>
          <p>
            <span class={"risk-score" + (r.entity.score >= r.threshold ? " over" : "")}>{r.entity.score.toFixed(1)}</span>
            <span class="muted">
              {" "}
              of {r.threshold} (the alerting threshold), from {r.entity.alerts} alert{r.entity.alerts === 1 ? "" : "s"}, the last {fmtTime(Date.parse(r.entity.last))}
            </span>
          </p>
          <div class="risk-bar" role="img" aria-label={`Risk ${r.entity.score.toFixed(1)} of a threshold of ${r.threshold}`}>
            <span style={{ width: pct + "%" }} class={r.entity.score >= r.threshold ? "over" : undefined} />
          </div>
        </>
      )}
    </Section>
  );
}

function KV({ k, v, warn }: { k: string; v?: string; warn?: boolean }) {
  if (!v) return null;
  return (
    <>
      <dt>{k}</dt>
      <dd class={warn ? "warn-text" : undefined}>{v === MASKED ? <span class="masked">{v}</span> : v}</dd>
    </>
  );
}

interface Patient {
  id: number;
  name: string;
  birth_date?: string;
  sex?: string;
  deceased?: boolean;
  vip?: string;
  protection?: string;
  identifiers?: { value: string; authority?: string; type_code?: string }[];
  addresses?: unknown[];
  phones?: unknown[];
  encounters?: Encounter[];
}

interface Encounter {
  id: number;
  visit_number?: string;
  class?: string;
  status: string;
  location?: string;
  hospital_service?: string;
  admit_time?: string;
  discharge_time?: string;
  care_team: CareTeamMember[];
}

function PatientCard({ mrn }: { mrn: string }) {
  const can = useCan("directory:read");
  const canReveal = useCan("phi:reveal");
  const [revealed, setRevealed] = useState<Patient | null>(null);
  const f = useFetch(
    async (signal) => {
      if (!can) return null;
      const l = await apiJSON<{ patients: { id: number }[] }>("/api/v1/patients", { signal, query: { identifier: mrn } });
      if (!l.patients.length) return undefined;
      const p = await apiJSON<Patient>("/api/v1/patients/" + l.patients[0].id, { signal });
      const e = await apiJSON<{ encounters: Encounter[] }>("/api/v1/encounters", { signal, query: { patient: String(l.patients[0].id) } }).catch(() => ({ encounters: [] }));
      return { ...p, encounters: e.encounters ?? p.encounters ?? [] };
    },
    [mrn, can],
  );
  const p = revealed ? { ...revealed, encounters: f.data?.encounters } : f.data;
  const masked = !!p && JSON.stringify(p).includes(MASKED);
  return (
    <>
      <Section title="Patient record">
        {!can ? (
          <p class="muted">Your role does not read the patient directory.</p>
        ) : f.error ? (
          <ErrorBox error={f.error} onRetry={f.reload} />
        ) : f.loading && !f.data ? (
          <Loading />
        ) : !p ? (
          <p class="muted">No patient with the identifier in the directory (it fills from HL7 ADT feeds).</p>
        ) : (
          <>
            <dl class="kv">
              <KV k="Name" v={p.name} />
              <KV k="Birth date" v={hl7Date(p.birth_date)} />
              <KV k="Sex" v={p.sex} />
              <KV k="Identifiers" v={(p.identifiers ?? []).map((i) => i.value + (i.type_code ? " (" + i.type_code + ")" : "")).join(", ")} />
              {p.deceased && <KV k="Deceased" v="yes" warn />}
              {(p.vip || p.protection) && <KV k="Flags" v={[p.vip && "VIP", p.protection && "protected"].filter(Boolean).join(", ")} warn />}
            </dl>
            {masked && (
              <p class="notice-line phi-note" role="note">
                Protected health information is masked for your role.
              </p>
            )}
            {masked && canReveal && <RevealPatient id={p.id} onRevealed={setRevealed} />}
          </>
        )}
      </Section>
      {p && (p.encounters ?? []).length > 0 && (
        <Section title="Encounters and care teams">
          <SimpleTable
            caption="Encounters"
            rows={p.encounters!}
            rowKey={(e) => e.id}
            initialSort={{ key: "admit_time", desc: true }}
            columns={[
              { key: "admit_time", label: "Admitted", render: (e) => (e.admit_time ? fmtTime(Date.parse(e.admit_time)) : "") },
              { key: "discharge_time", label: "Discharged", render: (e) => (e.discharge_time ? fmtTime(Date.parse(e.discharge_time)) : "") },
              { key: "class", label: "Class", render: (e) => <span title={e.class}>{patientClass(e.class)}</span> },
              { key: "location", label: "Location", render: (e) => <span title={e.location}>{formatLocation(e.location)}</span>, value: (e) => formatLocation(e.location) },
              {
                key: "care_team",
                label: "Care team",
                value: (e) => careTeamByPerson(e.care_team).length,
                render: (e) => careTeamByPerson(e.care_team).map((m) => m.name + (m.roles.length ? " (" + m.roles.join(", ") + ")" : "")).join("; "),
              },
            ]}
          />
        </Section>
      )}
    </>
  );
}

function RevealPatient({ id, onRevealed }: { id: number; onRevealed: (p: Patient) => void }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await apiJSON<Patient | { patient: Patient }>("/api/v1/patients/" + id + "/reveal", { method: "POST", body: { reason } });
      onRevealed("patient" in r ? r.patient : r);
      setOpen(false);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  if (!open)
    return (
      <button type="button" class="btn small" onClick={() => setOpen(true)}>
        Reveal PHI…
      </button>
    );
  return (
    <form class="reveal-form" onSubmit={submit}>
      <label>
        Why do you need this patient's PHI? (recorded in the audit trail)
        <textarea required minLength={8} maxLength={500} rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} autoFocus />
      </label>
      {error && (
        <p class="error-line" role="alert">
          {error}
        </p>
      )}
      <div class="row-actions">
        <button type="submit" class="btn primary">
          Reveal
        </button>
        <button type="button" class="btn" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// AccessReport: who opened this patient's record, when, in which role and
// department, and how often — the accounting of disclosures a patient may
// ask for.
function AccessReport({ mrn, start, end }: { mrn: string; start: string; end: string }) {
  const canPrivacy = useCan("privacy:read");
  const q = `${exactFilter("healthcare.patient.id", mrn)} (event.module:ehr or event.module:fhir) | fields _time, user.name, healthcare.workforce.role, healthcare.workforce.department, event.action, healthcare.break_glass, healthcare.access.explained, healthcare.access.explanation | sort by (_time desc) | limit 500`;
  const who = `${exactFilter("healthcare.patient.id", mrn)} (event.module:ehr or event.module:fhir) | stats by (user.name) count() events | sort by (events desc) | limit 20`;
  return (
    <>
      <Section title="Who opened this record">
        <Bars q={who} start={start} end={end} link="user" />
      </Section>
      <Section title="Access report" wide>
        <p class="hint">Every EHR and FHIR access to this patient in the range, newest first (at most 500). Export it from the search page.</p>
        <Rows q={q} start={start} end={end} empty="Nobody opened this record in this range." />
        <Link class="btn small" href={searchHref({ q: q.replace(/ \| sort.*$/, ""), range: { start, end }, cols: ["@timestamp", "user.name", "healthcare.workforce.department", "event.action"], limit: 10000 })}>
          Open in search
        </Link>{" "}
        {canPrivacy && (
          <Link class="btn small" href={withQuery("/privacy/reports", { patient: mrn })}>
            Access report with explanations (CSV, PDF)
          </Link>
        )}
      </Section>
    </>
  );
}

