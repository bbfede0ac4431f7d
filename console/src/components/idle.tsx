// Idle logout: the server ends a session after its idle timeout; the
// console warns before and signs out first, so a screen left open in a
// ward does not stay signed in, and the audit trail records the automatic
// logoff (reason "idle") rather than a refused request.
import { useEffect, useRef, useState } from "preact/hooks";
import { apiJSON } from "../lib/api";

// idleLimits: when the console warns and signs out for a server idle
// timeout of `seconds`. Activity pings the server at most every `ping`
// seconds and the server writes the session's deadline at most every
// min(30 s, a quarter of the timeout) (internal/accounts), so the server's
// deadline can lag the last activity by both: the console signs out that
// much (and a second) before the timeout, and so always before the server
// ends the session. The warning shows for the last minute before, or the
// last third of a shorter limit.
export function idleLimits(seconds: number): { ping: number; signOut: number; warn: number } {
  const ping = Math.min(30, seconds / 6);
  const touch = Math.min(30, seconds / 4);
  const signOut = Math.max(1, seconds - ping - touch - 1);
  return { ping, signOut, warn: Math.min(60, Math.floor(signOut / 3)) };
}

export function IdleWatch({ seconds, onTimeout }: { seconds: number; onTimeout: () => void }) {
  const last = useRef(Date.now());
  const lastPing = useRef(Date.now());
  const ended = useRef(false);
  const [left, setLeft] = useState<number | null>(null);
  const lim = idleLimits(seconds);
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
      if (Date.now() - lastPing.current > lim.ping * 1000) {
        lastPing.current = Date.now();
        apiJSON("/api/v1/auth/me").catch(() => {});
      }
    };
    const evs = ["keydown", "pointerdown", "wheel", "scroll"];
    evs.forEach((e) => window.addEventListener(e, activity, { passive: true, capture: true }));
    const id = setInterval(() => {
      const idle = (Date.now() - last.current) / 1000;
      if (idle >= lim.signOut) {
        if (!ended.current) onTimeout(); // once: signing out takes a request
        ended.current = true;
      } else if (idle >= lim.signOut - lim.warn) setLeft(Math.ceil(lim.signOut - idle));
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
        <p id="idle-desc">
          You will be signed out in {left} second{left === 1 ? "" : "s"} because the console has been idle.
        </p>
        <button type="button" class="btn primary" onClick={stay} autoFocus>
          Stay signed in
        </button>
      </div>
    </div>
  );
}
