// Modal: a dialog over the page; Escape or Cancel closes it.
import { useEffect } from "preact/hooks";
import type { ComponentChildren } from "preact";

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    document.addEventListener("keydown", esc);
    return () => document.removeEventListener("keydown", esc);
  }, [onClose]);
  const id = "m-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby={id}>
        <h2 id={id}>{title}</h2>
        {children}
      </div>
    </div>
  );
}

// Secret shows a value that is displayed once (a one-time password, a new
// token) with a copy button.
export function Secret({ label, value }: { label: string; value: string }) {
  return (
    <div class="secret-box">
      <p>
        <strong>{label}</strong> — shown only now.
      </p>
      <code class="mono secret">{value}</code>
      <button type="button" class="btn small" onClick={() => navigator.clipboard?.writeText(value)}>
        Copy
      </button>
    </div>
  );
}
