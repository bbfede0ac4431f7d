// Idle logout: the server ends a session after its idle timeout; the
// console warns a minute before and signs out when it is reached, so a
// screen left open in a ward does not stay signed in.
import { useEffect, useRef, useState } from "preact/hooks";
import { apiJSON } from "../lib/api";

// The warning shows for the last minute, or the last third of a shorter
// timeout.
const warnFor = (seconds: number) => Math.min(60, Math.floor(seconds / 3));

export function IdleWatch({ seconds, onTimeout }: { seconds: number; onTimeout: () => void }) {
  const last = useRef(Date.now());
  const lastPing = useRef(Date.now());
  const ended = useRef(false);
  const [left, setLeft] = useState<number | null>(null);
  const stay = () => {
    last.current = Date.now();
    lastPing.current = Date.now();
    setLeft(null);
    apiJSON("/api/v1/auth/me").catch(() => {});
  };
  useEffect(() => {
    const activity = () => {
      if (left !== null) return; // the warning asks for an explicit answer
      last.current = Date.now();
      // Keep the server's session alive while the user works without
      // making requests (reading a long result).
      if (Date.now() - lastPing.current > Math.min(60, seconds / 3) * 1000) {
        lastPing.current = Date.now();
        apiJSON("/api/v1/auth/me").catch(() => {});
      }
    };
    const evs = ["keydown", "pointerdown", "wheel", "scroll"];
    evs.forEach((e) => window.addEventListener(e, activity, { passive: true, capture: true }));
    const id = setInterval(() => {
      const idle = (Date.now() - last.current) / 1000;
      if (idle >= seconds) {
        if (!ended.current) onTimeout(); // once: signing out takes a request
        ended.current = true;
      }
      else if (idle >= seconds - warnFor(seconds)) setLeft(Math.ceil(seconds - idle));
    }, 1000);
    return () => {
      evs.forEach((e) => window.removeEventListener(e, activity, { capture: true }));
      clearInterval(id);
    };
  }, [seconds, left]);
  if (left === null) return null;
  return (
    <div class="modal-backdrop">
      <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="idle-title" aria-describedby="idle-desc">
        <h2 id="idle-title">Still there?</h2>
        <p id="idle-desc">You will be signed out in {left} seconds because the console has been idle.</p>
        <button type="button" class="btn primary" onClick={stay} autoFocus>
          Stay signed in
        </button>
      </div>
    </div>
  );
}
