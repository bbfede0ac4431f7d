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

// usePeriod reads ?from= (default the last 30 days) and gives a setter
// that keeps the page's other parameters.
export function usePeriod(): [string, (from: string) => void] {
  const loc = useLocation();
  const from = loc.query.get("from") ?? "-30d";
  const set = (v: string) => {
    const next: Record<string, string> = {};
    loc.query.forEach((val, key) => (next[key] = val));
    next.from = v;
    navigate(withQuery(loc.path, next), { replace: true });
  };
  return [from, set];
}

export function PeriodPicker({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <label class="inline">
      Period
      <select name="period" value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {PERIODS.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
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
