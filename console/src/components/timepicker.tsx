// TimePicker: relative presets and an absolute range. The range is kept as
// the API takes it ("-1h".."now", or RFC 3339 times).
import { useEffect, useRef, useState } from "preact/hooks";
import { fromInput, label, PRESETS, resolve, toInput, type Range } from "../lib/time";

export function TimePicker({ range, onChange }: { range: Range; onChange: (r: Range) => void }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    try {
      setFrom(toInput(resolve(range.start)));
      setTo(toInput(resolve(range.end)));
    } catch {
      /* keep the inputs */
    }
    const close = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", esc);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", esc);
    };
  }, [open]);
  const apply = (e: Event) => {
    e.preventDefault();
    try {
      const s = fromInput(from);
      const en = fromInput(to);
      if (Date.parse(s) >= Date.parse(en)) throw new Error("The start must be before the end.");
      setError(null);
      setOpen(false);
      onChange({ start: s, end: en });
    } catch (err) {
      setError(err instanceof Error && err.message !== "not a date" ? err.message : "Give both times as dates.");
    }
  };
  return (
    <div class="timepicker" ref={box}>
      <button type="button" class="btn" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)}>
        <svg class="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" />
        </svg>
        {label(range)}
      </button>
      {open && (
        <div class="popover" role="dialog" aria-label="Time range">
          <div class="presets">
            <h3>Relative</h3>
            <ul>
              {PRESETS.map((p) => (
                <li key={p.start}>
                  <button
                    type="button"
                    class={"btn link" + (range.start === p.start && range.end === "now" ? " current" : "")}
                    onClick={() => {
                      setOpen(false);
                      onChange({ start: p.start, end: "now" });
                    }}
                  >
                    {p.label}
                  </button>
                </li>
              ))}
            </ul>
          </div>
          <form class="absolute" onSubmit={apply}>
            <h3>Absolute</h3>
            <label>
              From
              <input type="datetime-local" step={1} value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} required />
            </label>
            <label>
              To
              <input type="datetime-local" step={1} value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} required />
            </label>
            {error && (
              <p class="error-line" role="alert">
                {error}
              </p>
            )}
            <button type="submit" class="btn primary">
              Apply
            </button>
          </form>
        </div>
      )}
    </div>
  );
}

// RefreshPicker chooses how often a view reloads itself.
export function RefreshPicker({ value, onChange }: { value: number; onChange: (s: number) => void }) {
  return (
    <label class="inline">
      <span class="sr-only">Auto-refresh</span>
      <select value={String(value)} onChange={(e) => onChange(Number((e.target as HTMLSelectElement).value))}>
        <option value="0">Auto-refresh off</option>
        <option value="10">Every 10 s</option>
        <option value="30">Every 30 s</option>
        <option value="60">Every minute</option>
        <option value="300">Every 5 minutes</option>
      </select>
    </label>
  );
}
