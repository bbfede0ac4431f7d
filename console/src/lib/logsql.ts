// Just enough LogsQL for the editor: tokens for highlighting, the word
// being typed for completion, filters added from a click, and the split
// between the filter and the pipes.

export type TokenKind = "ws" | "string" | "field" | "op" | "pipe" | "pipename" | "paren" | "number" | "word" | "punct";

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
}

const OPS = new Set(["and", "or", "not", "AND", "OR", "NOT"]);

// Pipes that turn events into other rows (counts, groups): their results
// are shown as a table and a chart rather than as events.
export const TRANSFORMING_PIPES = new Set([
  "stats", "uniq", "top", "facets", "field_names", "field_values", "block_stats", "running_stats", "total_stats",
  "count_uniq", "rate", "math", "join", "union",
]);

export function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let afterPipe = false;
  while (i < q.length) {
    const c = q[i];
    const start = i;
    if (/\s/.test(c)) {
      while (i < q.length && /\s/.test(q[i])) i++;
      out.push({ kind: "ws", text: q.slice(start, i), start });
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      i++;
      while (i < q.length && q[i] !== c) {
        if (q[i] === "\\" && c !== "`") i++;
        i++;
      }
      i = Math.min(i + 1, q.length);
      out.push({ kind: "string", text: q.slice(start, i), start });
      continue;
    }
    if (c === "|") {
      i++;
      out.push({ kind: "pipe", text: "|", start });
      afterPipe = true;
      continue;
    }
    if (c === "(" || c === ")") {
      i++;
      out.push({ kind: "paren", text: c, start });
      continue;
    }
    if ("!-:=,<>~*".includes(c)) {
      i++;
      out.push({ kind: c === "!" || c === "-" ? "op" : "punct", text: c, start });
      continue;
    }
    while (i < q.length && !/[\s"'`|():,=!<>~]/.test(q[i])) i++;
    if (i === start) i++;
    const text = q.slice(start, i);
    let kind: TokenKind = "word";
    if (afterPipe) {
      kind = "pipename";
      afterPipe = false;
    } else if (q[i] === ":") kind = "field";
    else if (OPS.has(text)) kind = "op";
    else if (/^-?\d+(\.\d+)?$/.test(text)) kind = "number";
    out.push({ kind, text, start });
  }
  return out;
}

// splitPipes returns the filter part and the pipes part ("| stats …"),
// split at the first "|" outside quotes.
export function splitPipes(q: string): { filter: string; pipes: string } {
  for (const t of tokenize(q)) {
    if (t.kind === "pipe") return { filter: q.slice(0, t.start).trim(), pipes: q.slice(t.start).trim() };
  }
  return { filter: q.trim(), pipes: "" };
}

// pipeNames lists the names of the query's pipes.
export function pipeNames(q: string): string[] {
  return tokenize(q)
    .filter((t) => t.kind === "pipename")
    .map((t) => t.text.toLowerCase());
}

export function isTransforming(q: string): boolean {
  return pipeNames(q).some((p) => TRANSFORMING_PIPES.has(p));
}

// quote returns a LogsQL string literal.
export function quote(v: string): string {
  return '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

// fieldName quotes a field name when it has characters LogsQL would read
// otherwise.
export function fieldName(f: string): string {
  return /^[A-Za-z0-9_.@-]+$/.test(f) && !/^[-]/.test(f) ? f : quote(f);
}

// exactFilter is an exact-value filter on a field.
export function exactFilter(field: string, value: string, exclude = false): string {
  return (exclude ? "-" : "") + fieldName(field) + ":=" + quote(value);
}

// addFilter adds a filter to a query (ANDed with what is there), before
// any pipes; a filter that is already there is not added twice, and the
// opposite one is replaced.
export function addFilter(q: string, field: string, value: string, exclude = false): string {
  const f = exactFilter(field, value, exclude);
  const opposite = exactFilter(field, value, !exclude);
  let { filter, pipes } = splitPipes(q);
  if (filter.includes(opposite)) filter = removeTerm(filter, opposite);
  if (!filter.includes(f)) {
    if (filter === "" || filter === "*") filter = f;
    else if (/\bor\b/i.test(filter)) filter = "(" + filter + ") " + f;
    else filter = filter + " " + f;
  }
  return pipes ? filter + " " + pipes : filter;
}

function removeTerm(filter: string, term: string): string {
  const i = filter.indexOf(term);
  if (i < 0) return filter;
  const out = (filter.slice(0, i) + filter.slice(i + term.length)).replace(/\s+/g, " ").trim();
  return out === "" ? "*" : out;
}

// wordAt returns the word around the caret that completion would replace,
// when it is in a place where a field name may be typed.
export function wordAt(q: string, caret: number): { start: number; end: number; word: string } | null {
  for (const t of tokenize(q)) {
    const end = t.start + t.text.length;
    if (caret < t.start || caret > end) continue;
    if (t.kind === "word" || t.kind === "field") {
      // A value after "field:" is not a field name.
      const before = q.slice(0, t.start);
      if (/:\s*=?$/.test(before) || /[<>~]=?$/.test(before)) return null;
      return { start: t.start, end, word: q.slice(t.start, caret) };
    }
  }
  return null;
}
