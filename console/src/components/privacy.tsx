// What the privacy pages share: the period picker (kept in the URL as
// ?from=, relative like -30d, so a view can be bookmarked), the types of
// the privacy API (/api/v1/privacy, docs/privacy.md) and how an access's
// explanation reads.
import { navigate, useLocation, withQuery } from "../lib/router";

export const PERIODS: [string, string][] = [
  ["-1d", "last 24 hours"],
  ["-7d", "last 7 days"],
  ["-30d", "last 30 days"],
  ["-90d", "last 90 days"],
  ["-365d", "last year"],
];

// Period is what the privacy API takes: from (relative like -30d, or RFC
// 3339) and to (absent: now).
export interface Period {
  from: string;
  to?: string;
}

// usePeriod reads ?from=&to= (default the last 30 days) and gives a
// setter that keeps the page's other parameters.
export function usePeriod(): [Period, (p: Period) => void] {
  const loc = useLocation();
  const period: Period = { from: loc.query.get("from") ?? "-30d", to: loc.query.get("to") ?? undefined };
  const set = (p: Period) => {
    const next: Record<string, string | undefined> = {};
    loc.query.forEach((val, key) => (next[key] = val));
    next.from = p.from;
    next.to = p.to;
    navigate(withQuery(loc.path, next), { replace: true });
  };
  return [period, set];
}

// day reads an RFC 3339 time as the local date of a date input.
function day(iso: string | undefined, fallback: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  const d = new Date(isNaN(t) ? fallback : t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// midnight is the start of a local date, as RFC 3339.
function midnight(date: string, plusDays = 0): string {
  const d = new Date(date + "T00:00");
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
}

// PeriodPicker chooses a recent period, or dates (the whole of both days,
// in the browser's time zone) for an accounting request.
export function PeriodPicker({ value, onChange }: { value: Period; onChange: (p: Period) => void }) {
  const preset = !value.to && PERIODS.some(([v]) => v === value.from);
  const now = Date.now();
  return (
    <span class="period-picker">
      <label class="inline">
        Period
        <select
          name="period"
          value={preset ? value.from : "custom"}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v !== "custom") onChange({ from: v });
            else onChange({ from: midnight(day(undefined, now - 30 * 86400e3)), to: midnight(day(undefined, now), 1) });
          }}
        >
          {PERIODS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
          <option value="custom">dates…</option>
        </select>
      </label>
      {!preset && (
        <>
          <label class="inline">
            From
            <input
              type="date"
              name="from"
              value={day(value.from, now)}
              onChange={(e) => {
                const v = (e.target as HTMLInputElement).value;
                if (v) onChange({ from: midnight(v), to: value.to });
              }}
            />
          </label>
          <label class="inline">
            to
            <input
              type="date"
              name="to"
              value={day(value.to ? new Date(Date.parse(value.to) - 1).toISOString() : undefined, now)}
              onChange={(e) => {
                const v = (e.target as HTMLInputElement).value;
                if (v) onChange({ from: value.from, to: midnight(v, 1) });
              }}
            />
          </label>
        </>
      )}
    </span>
  );
}

export interface CountRow {
  name: string;
  accesses: number;
  explained: number;
}

export interface Summary {
  from: string;
  to: string;
  accesses: number;
  explained: number;
  departments: CountRow[];
  explanations: CountRow[];
  unexplained_users: CountRow[];
  unexplained_reasons: CountRow[];
}

export interface AccessRow {
  time: string;
  user: string;
  user_name?: string;
  role?: string;
  department?: string;
  patient: string;
  action?: string;
  source?: string;
  explained: boolean;
  explanation?: string;
  explanation_detail?: string;
  break_glass?: boolean;
  break_glass_reason?: string;
  access_id?: string;
  event_id?: string;
  workstation?: string;
}

export interface PatientReport {
  patient: string;
  from: string;
  to: string;
  accesses: AccessRow[];
  total: number;
  users: number;
  unexplained: number;
  break_glass: number;
}

export interface PatientSummary {
  patient: string;
  accesses: number;
  unexplained: number;
  break_glass: number;
  first: string;
  last: string;
  explanations: string[];
  access_ids?: string[];
}

export interface UserReport {
  user: string;
  department?: string;
  role?: string;
  from: string;
  to: string;
  patients: PatientSummary[];
  total: number;
  unexplained: number;
  break_glass: number;
  accesses: AccessRow[];
}

export interface TemplateStats {
  support: number;
  users: number;
  patients: number;
  confidence: number;
  gain: number;
  base: number;
  lift: number;
  group_accesses: number;
  sample: number;
  rank: number;
}

export interface Template {
  id: number;
  group: string;
  feature: string;
  status: string;
  source: string;
  name?: string;
  description: string;
  group_label?: string;
  stats: TemplateStats;
  first_mined?: string;
  last_mined?: string;
  decided_by?: string;
  decided_at?: string;
  reason?: string;
}

export interface PrivacyRule {
  id: string;
  name: string;
  title: string;
  level: string;
  description: string;
  enabled: boolean;
}

// EXPLANATIONS: the explanation codes in words.
export const EXPLANATIONS: Record<string, string> = {
  care_team: "care team",
  consult: "consult",
  same_department_care_team: "care team of the user's department",
  department_pattern: "learnt routine of the department",
  configured_template: "configured template",
  none: "unexplained",
};

export function explanationLabel(code?: string): string {
  return (code && EXPLANATIONS[code]) || code || "";
}

export function pct(part: number, whole: number): string {
  if (!whole) return "–";
  return ((100 * part) / whole).toFixed(1) + "%";
}

// Explained shows whether an access was explained, with the reason.
// With full, the reason is given in words for explained accesses too.
export function Explained({ explained, code, detail, full }: { explained: boolean; code?: string; detail?: string; full?: boolean }) {
  return (
    <span title={detail}>
      <span class={"badge " + (explained ? "ok" : "warn")}>{explained ? "explained" : "unexplained"}</span>{" "}
      {explained && !full ? explanationLabel(code) : detail}
    </span>
  );
}
