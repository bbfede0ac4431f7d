// Sign-in: user name, password and (when enrolled) the code of an
// authenticator app or a recovery code; an API token on a server without
// accounts; the SSO button when configured. Then, when the session is
// restricted, the forced change of a one-time password or the enrolment of
// a second factor.
import { useState } from "preact/hooks";
import { ApiError, apiJSON, errorMessage } from "./lib/api";
import { login, principalFrom, tokenPrincipal, type Me, type Principal, type SignInMode, type SSOInfo } from "./lib/session";

interface Props {
  mode: SignInMode;
  sso: SSOInfo | null;
  // expired: why the last session ended, when it did not end by choice.
  expired?: "expired" | "idle";
  onSignedIn: (p: Principal) => void;
}

const val = (e: Event) => (e.target as HTMLInputElement).value;

export function SignIn({ mode, sso, expired, onSignedIn }: Props) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [token, setToken] = useState("");
  const [needCode, setNeedCode] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "token") {
        onSignedIn(await tokenPrincipal(token.trim()));
        return;
      }
      const r = await login(user.trim(), password, code);
      if (r.mfaRequired) setNeedCode(true);
      else if (r.principal) onSignedIn(r.principal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setError(mode === "token" ? "That token was not accepted." : err.detail || "The user name or password is wrong.");
      } else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center-page">
      <form class="card signin" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Vigil</h1>
        {expired && (
          <p class="notice-line" role="status">
            {expired === "idle"
              ? "You were signed out because the console was idle. Sign in again to go on."
              : "Your session ended. Sign in again to go on."}
          </p>
        )}
        {mode === "token" ? (
          <>
            <p class="muted">This server has no user accounts: sign in with an API token.</p>
            <label>
              API token
              <input type="password" name="token" autoComplete="off" required value={token} onInput={(e) => setToken(val(e))} />
            </label>
          </>
        ) : (
          <>
            <label>
              User name
              <input name="username" autoComplete="username" required value={user} onInput={(e) => setUser(val(e))} />
            </label>
            <label>
              Password
              <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(val(e))} />
            </label>
            {needCode && (
              <label>
                Authentication code
                <input
                  name="code"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  required
                  autoFocus
                  value={code}
                  onInput={(e) => setCode(val(e))}
                  aria-describedby="code-hint"
                />
                <span class="hint" id="code-hint">
                  The 6-digit code from your authenticator app, or one of your recovery codes.
                </span>
              </label>
            )}
          </>
        )}
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? "Signing in…" : needCode ? "Verify" : "Sign in"}
        </button>
        {sso?.enabled && sso.login_url && (
          <a class="btn" href={sso.login_url}>
            Sign in with {sso.name || "single sign-on"}
          </a>
        )}
      </form>
    </main>
  );
}

// Restricted: a session that must first change its one-time password or
// enrol a second factor.
export function Restricted({ principal, onDone, onSignOut }: { principal: Principal; onDone: (p: Principal) => void; onSignOut: () => void }) {
  const refresh = async () => onDone(principalFrom(await apiJSON<Me>("/api/v1/auth/me")));
  return (
    <main class="center-page">
      {principal.restriction === "password_change_required" ? (
        <ChangePassword principal={principal} onDone={refresh} />
      ) : (
        <EnrollTOTP principal={principal} onDone={refresh} />
      )}
      <button type="button" class="btn link signout-corner" onClick={onSignOut}>
        Sign out
      </button>
    </main>
  );
}

function ChangePassword({ principal, onDone }: { principal: Principal; onDone: () => Promise<void> }) {
  const [cur, setCur] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== again) {
      setError("The two new passwords differ.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await apiJSON("/api/v1/auth/password", { method: "POST", body: { current_password: cur, new_password: next } });
      await onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card signin" onSubmit={submit} aria-labelledby="pw-title">
      <h1 id="pw-title">Choose a new password</h1>
      <p class="muted">
        {principal.name}, your password was set by an administrator for one use. Choose your own: at least 12 characters, not a common one.
      </p>
      <label>
        One-time password
        <input type="password" name="current" autoComplete="current-password" required value={cur} onInput={(e) => setCur(val(e))} />
      </label>
      <label>
        New password
        <input type="password" name="new" autoComplete="new-password" minLength={12} required value={next} onInput={(e) => setNext(val(e))} />
      </label>
      <label>
        New password again
        <input type="password" name="again" autoComplete="new-password" minLength={12} required value={again} onInput={(e) => setAgain(val(e))} />
      </label>
      {error && (
        <p class="error-line" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn primary" disabled={busy}>
        {busy ? "Saving…" : "Set password"}
      </button>
    </form>
  );
}

interface Enrollment {
  secret: string;
  otpauth_uri: string;
  qr_png: string;
}

// EnrollTOTP enrols an authenticator app: a QR code (and the secret, for
// typing), a code to confirm, then the recovery codes, shown once.
export function EnrollTOTP({ principal, onDone }: { principal: Principal; onDone: () => Promise<void> }) {
  const [enr, setEnr] = useState<Enrollment | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const begin = async () => {
    setBusy(true);
    setError(null);
    try {
      setEnr(await apiJSON<Enrollment>("/api/v1/auth/totp/enroll", { method: "POST", body: {} }));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await apiJSON<{ recovery_codes: string[] }>("/api/v1/auth/totp/confirm", { method: "POST", body: { code: code.trim() } });
      setCodes(r.recovery_codes);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  if (codes)
    return (
      <div class="card signin" aria-labelledby="rc-title">
        <h1 id="rc-title">Keep your recovery codes</h1>
        <p class="muted">Each code signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe.</p>
        <ul class="recovery-codes mono">
          {codes.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
        <button type="button" class="btn primary" onClick={() => onDone()}>
          I have stored them
        </button>
      </div>
    );
  return (
    <form class="card signin" onSubmit={confirm} aria-labelledby="totp-title">
      <h1 id="totp-title">Set up two-step sign-in</h1>
      <p class="muted">{principal.name}, your role requires a second factor: an authenticator app (Google Authenticator, Microsoft Authenticator, FreeOTP, …).</p>
      {!enr ? (
        <button type="button" class="btn primary" onClick={begin} disabled={busy}>
          {busy ? "Preparing…" : "Start"}
        </button>
      ) : (
        <>
          <img class="qr" src={enr.qr_png} width={200} height={200} alt="QR code to scan with the authenticator app" />
          <p class="hint">
            Or type this key: <code class="secret">{enr.secret}</code>
          </p>
          <label>
            Code shown by the app
            <input name="code" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(val(e))} />
          </label>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Checking…" : "Confirm"}
          </button>
        </>
      )}
      {error && (
        <p class="error-line" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
