// The search page's state as a URL, so that every search can be
// bookmarked and shared; also read by dashboards' "Open in search".
import { withQuery } from "./router";
import type { Range } from "./time";

export const DEFAULT_COLS = ["@timestamp", "host.name", "message"];
export const LIMITS = [100, 1000, 10000];

export interface SearchState {
  q: string;
  range: Range;
  cols: string[];
  limit: number;
  around?: string;
}

export function readState(query: URLSearchParams): SearchState {
  const cols = (query.get("cols") ?? "").split(",").filter(Boolean);
  const limit = Number(query.get("limit") ?? 1000);
  return {
    q: query.get("q") ?? "*",
    range: { start: query.get("start") ?? "-1h", end: query.get("end") ?? "now" },
    cols: cols.length ? cols : DEFAULT_COLS,
    limit: LIMITS.includes(limit) ? limit : 1000,
    around: query.get("around") ?? undefined,
  };
}

export function searchHref(s: SearchState): string {
  return withQuery("/search", {
    q: s.q,
    start: s.range.start,
    end: s.range.end === "now" ? undefined : s.range.end,
    cols: s.cols.join(",") === DEFAULT_COLS.join(",") ? undefined : s.cols.join(","),
    limit: s.limit === 1000 ? undefined : String(s.limit),
    around: s.around,
  });
}

// fmtStep shows a Go duration without its zero parts ("3h0m0s" → "3h").
export function fmtStep(s: string): string {
  return s.replace(/(\d)h0m0s$/, "$1h").replace(/(\d)m0s$/, "$1m") || s;
}

// parseStep reads a Go duration ("1m0s", "5m0s", "1h0m0s", "24h0m0s").
export function parseStep(s: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) total += parseFloat(m[1]) * ({ h: 3600, m: 60, s: 1, ms: 0.001 } as Record<string, number>)[m[2]];
  return total || 60;
}
