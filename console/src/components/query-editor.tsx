// The LogsQL editor: highlighted as it is typed, field names completed
// from the fields of the current results, and a syntax error marked where
// the parser stopped.
import { useMemo, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { tokenize, wordAt } from "../lib/logsql";

interface Props {
  value: string;
  onInput: (v: string) => void;
  onRun: () => void;
  fields: string[];
  errorPos?: number; // characters from the start
  label?: string;
}

const MAX_SUGGESTIONS = 12;

export function QueryEditor({ value, onInput, onRun, fields, errorPos, label = "LogsQL query" }: Props) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const pre = useRef<HTMLPreElement>(null);
  const [caret, setCaret] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);

  const word = useMemo(() => (open ? wordAt(value, caret) : null), [value, caret, open]);
  const suggestions = useMemo(() => {
    if (!word || word.word.length < 1) return [];
    const w = word.word.toLowerCase();
    const starts = fields.filter((f) => f.toLowerCase().startsWith(w));
    const contains = fields.filter((f) => !f.toLowerCase().startsWith(w) && f.toLowerCase().includes(w));
    return [...starts, ...contains].filter((f) => f !== word.word).slice(0, MAX_SUGGESTIONS);
  }, [word, fields]);
  const showList = open && suggestions.length > 0;

  const accept = (f: string) => {
    if (!word) return;
    const after = value.slice(word.end);
    const colon = after.startsWith(":") ? "" : ":";
    const next = value.slice(0, word.start) + f + colon + after;
    onInput(next);
    setOpen(false);
    const pos = word.start + f.length + 1;
    requestAnimationFrame(() => {
      ta.current?.focus();
      ta.current?.setSelectionRange(pos, pos);
      setCaret(pos);
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (showList) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        setActive((active + 1) % suggestions.length);
        return;
      }
      if (e.key === "ArrowUp") {
        e.preventDefault();
        setActive((active - 1 + suggestions.length) % suggestions.length);
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && !e.ctrlKey && !e.metaKey)) {
        e.preventDefault();
        accept(suggestions[active]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setOpen(false);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      setOpen(false);
      onRun();
    }
  };

  const sync = () => {
    const t = ta.current;
    if (!t) return;
    setCaret(t.selectionStart ?? 0);
    if (pre.current) {
      pre.current.scrollTop = t.scrollTop;
      pre.current.scrollLeft = t.scrollLeft;
    }
  };

  const rows = Math.min(6, Math.max(1, value.split("\n").length));
  return (
    <div class={"query-editor" + (errorPos !== undefined ? " has-error" : "")}>
      <pre ref={pre} class="qe-highlight mono" aria-hidden="true">
        {highlight(value, errorPos)}
        {"\n"}
      </pre>
      <textarea
        ref={ta}
        class="qe-input mono"
        rows={rows}
        spellcheck={false}
        autoComplete="off"
        autoCapitalize="off"
        aria-label={label}
        aria-autocomplete="list"
        aria-controls="qe-suggestions"
        aria-activedescendant={showList ? "qe-opt-" + active : undefined}
        aria-invalid={errorPos !== undefined}
        aria-describedby={errorPos !== undefined ? "query-error" : undefined}
        value={value}
        onInput={(e) => {
          onInput((e.target as HTMLTextAreaElement).value);
          setOpen(true);
          setActive(0);
          sync();
        }}
        onKeyDown={onKeyDown}
        onKeyUp={sync}
        onClick={sync}
        onScroll={sync}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {showList && (
        <ul id="qe-suggestions" class="qe-suggestions" role="listbox" aria-label="Field names">
          {suggestions.map((f, i) => (
            <li
              key={f}
              id={"qe-opt-" + i}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(f);
              }}
            >
              {f}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function highlight(q: string, errorPos?: number): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  // errorPos counts characters (code points); map it to a string index.
  let errIdx = -1;
  if (errorPos !== undefined) errIdx = Array.from(q).slice(0, errorPos).join("").length;
  for (const t of tokenize(q)) {
    const end = t.start + t.text.length;
    const cls = "tk-" + t.kind;
    if (errIdx >= 0 && errIdx > t.start && errIdx <= end && t.kind !== "ws") {
      out.push(
        <span class={cls + " tk-error"} key={t.start}>
          {t.text}
        </span>,
      );
    } else out.push(t.kind === "ws" ? t.text : <span class={cls} key={t.start}>{t.text}</span>);
  }
  if (errIdx >= q.length && errorPos !== undefined) out.push(<span class="tk-error tk-eol" key="eol">{" "}</span>);
  return out;
}
