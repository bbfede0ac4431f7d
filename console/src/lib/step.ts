// stepFor picks a bucket width giving about 60 buckets over a range, in
// LogsQL duration syntax.
const STEPS: [number, string][] = [
  [60, "1m"], [300, "5m"], [600, "10m"], [1800, "30m"], [3600, "1h"], [10800, "3h"], [21600, "6h"], [43200, "12h"], [86400, "1d"], [604800, "7d"],
];

export function stepFor(spanMs: number, buckets = 60): { seconds: number; text: string } {
  const want = spanMs / 1000 / buckets;
  for (const [s, t] of STEPS) if (want <= s) return { seconds: s, text: t };
  return { seconds: 604800, text: "7d" };
}

// tzOffset is a LogsQL day_range offset for the browser's time zone
// ("offset 60m"), or "" at UTC.
export function tzOffset(d = new Date()): string {
  const m = -d.getTimezoneOffset();
  return m === 0 ? "" : "offset " + m + "m";
}

// substitute fills a dashboard query's placeholders.
export function substitute(q: string, stepText: string): string {
  return q.replace(/\$step\b/g, stepText).replace(/\$tzoffset\b/g, tzOffset());
}
