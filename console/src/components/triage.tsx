// Shared pieces of the triage pages (alerts, cases, exceptions,
// notifications): the alert model, level badges, and a hook for buttons
// that call the API and show its errors.
import { useState } from "preact/hooks";
import type { ComponentChildren } from "preact";

export interface Alert {
  id: number;
  key?: string;
  kind: string;
  rule_id: string;
  rule_title: string;
  level: string;
  tags: string[] | null;
  analyst_tags?: string[] | null;
  time: string;
  first_seen?: string;
  created: string;
  updated?: string;
  event_ids: string[] | null;
  group_by?: Record<string, string>;
  fields?: Record<string, string>;
  group_key?: string;
  status: string;
  count?: number;
  value?: number;
  assignee?: string;
  disposition?: string;
  reason?: string;
  acknowledged_at?: string;
  closed_at?: string;
  sla?: {
    acknowledge_by?: string;
    close_by?: string;
    acknowledged_in_seconds?: number;
    closed_in_seconds?: number;
    acknowledge_breached: boolean;
    close_breached: boolean;
  };
  notes?: { id: number; time: string; author: string; text: string }[];
}

export const LEVELS = ["critical", "high", "medium", "low", "informational"];
export const DISPOSITIONS: [string, string][] = [
  ["true_positive", "True positive"],
  ["benign_true_positive", "Benign true positive"],
  ["false_positive", "False positive"],
  ["duplicate", "Duplicate"],
  ["not_evaluable", "Not evaluable"],
];

export function Level({ level }: { level: string }) {
  return <span class={"badge " + level}>{level}</span>;
}

// slaDue says what the alert waits for and by when: to be acknowledged
// (taken or assigned), then to be closed; "" once closed.
export function slaDue(a: Alert, now = Date.now()): { text: string; overdue: boolean } {
  const s = a.sla;
  if (!s || a.status === "closed") return { text: "", overdue: false };
  const [what, by, breached] = a.acknowledged_at ? ["close", s.close_by, s.close_breached] : ["acknowledge", s.acknowledge_by, s.acknowledge_breached];
  if (!by) return { text: "", overdue: breached };
  const left = (Date.parse(by) - now) / 1000;
  if (breached || left <= 0) return { text: what + " overdue by " + shortDuration(-left), overdue: true };
  return { text: what + " in " + shortDuration(left), overdue: false };
}

function shortDuration(s: number): string {
  s = Math.max(0, Math.round(s));
  if (s >= 86400) return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  if (s >= 3600) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.max(1, Math.floor(s / 60)) + " min";
}

// SlaDue shows slaDue, red when overdue.
export function SlaDue({ a }: { a: Alert }) {
  const d = slaDue(a);
  if (!d.text) return null;
  return <span class={d.overdue ? "badge bad sla-due" : "sla-due"}>{d.text}</span>;
}

export function dispositionLabel(d?: string): string {
  return DISPOSITIONS.find(([k]) => k === d)?.[1] ?? d ?? "";
}

// useAction runs an API call for a button, keeping its error and whether
// it is running; done runs after a success.
export function useAction(done?: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      done?.();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="form-field">
      <span>{label}</span>
      {children}
      {hint && <small class="muted">{hint}</small>}
    </label>
  );
}

export function duration(seconds?: number): string {
  if (seconds === undefined || seconds === null) return "";
  if (seconds < 90) return Math.round(seconds) + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
  return (seconds / 86400).toFixed(1) + " d";
}

export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items
        .filter(([, v]) => v !== undefined && v !== null && v !== "")
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}
