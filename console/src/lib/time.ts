// Time ranges as the API takes them: RFC 3339, "now", or relative to now
// ("-15m", "-24h", "-7d").

export interface Range {
  start: string;
  end: string;
}

export const DEFAULT_RANGE: Range = { start: "-1h", end: "now" };

export const PRESETS: { label: string; start: string }[] = [
  { label: "Last 15 minutes", start: "-15m" },
  { label: "Last hour", start: "-1h" },
  { label: "Last 4 hours", start: "-4h" },
  { label: "Last 24 hours", start: "-24h" },
  { label: "Last 3 days", start: "-3d" },
  { label: "Last 7 days", start: "-7d" },
  { label: "Last 30 days", start: "-30d" },
];

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

// resolve turns a range end into epoch milliseconds.
export function resolve(s: string, now = Date.now()): number {
  s = s.trim();
  if (s === "" || s === "now") return now;
  const m = /^-?(\d+(?:\.\d+)?)([smhdw])$/.exec(s);
  if (m) return now - parseFloat(m[1]) * UNITS[m[2]];
  const t = Date.parse(s);
  if (!isNaN(t)) return t;
  throw new Error(`"${s}" is not a time: use a date, now, or -15m, -1h, -7d`);
}

export function isRelative(s: string): boolean {
  return s === "now" || /^-?\d+(?:\.\d+)?[smhdw]$/.test(s.trim());
}

export function label(r: Range): string {
  const p = PRESETS.find((x) => x.start === r.start);
  if (p && r.end === "now") return p.label;
  if (isRelative(r.start) && r.end === "now") return "Last " + r.start.replace(/^-/, "");
  return fmtTime(resolve(r.start)) + " → " + fmtTime(resolve(r.end));
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

// fmtTime shows a time in the browser's zone, to the second.
export function fmtTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// fmtEventTime shows an event's @timestamp (RFC 3339) in the browser's
// zone with milliseconds.
export function fmtEventTime(s: string | undefined): string {
  if (!s) return "";
  const t = Date.parse(s);
  if (isNaN(t)) return s;
  return fmtTime(t) + "." + pad(new Date(t).getMilliseconds(), 3);
}

// toInput and fromInput convert for <input type="datetime-local">.
export function toInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fromInput(s: string): string {
  const t = new Date(s).getTime();
  if (isNaN(t)) throw new Error("not a date");
  return new Date(t).toISOString();
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function ago(s: string | undefined, now = Date.now()): string {
  if (!s) return "never";
  const t = Date.parse(s);
  if (isNaN(t) || t <= 0) return "never";
  const d = Math.max(0, now - t) / 1000;
  if (d < 60) return Math.round(d) + " s ago";
  if (d < 3600) return Math.round(d / 60) + " min ago";
  if (d < 86400) return Math.round(d / 3600) + " h ago";
  return Math.round(d / 86400) + " d ago";
}
