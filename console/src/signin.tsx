// Sign-in: user name, password and (when enrolled) a one-time code, or an
// API token on a server without accounts; the SSO button when configured;
// the forced change of a one-time password.
import { useState } from "preact/hooks";
import { ApiError, apiJSON, errorMessage } from "./lib/api";
import { login, principalFrom, tokenPrincipal, type Me, type Principal, type SignInMode, type SSOInfo } from "./lib/session";

interface Props {
  mode: SignInMode;
  sso: SSOInfo | null;
  expired?: boolean;
  onSignedIn: (p: Principal) => void;
}

export function SignIn({ mode, sso, expired, onSignedIn }: Props) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [token, setToken] = useState("");
  const [needTotp, setNeedTotp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [changing, setChanging] = useState<Principal | null>(null);

  if (changing) return <ChangePassword principal={changing} onDone={onSignedIn} />;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "token") {
        onSignedIn(await tokenPrincipal(token.trim()));
        return;
      }
      const r = await login(user.trim(), password, totp.trim());
      if (r.totpRequired) {
        setNeedTotp(true);
        setError(null);
      } else if (r.principal?.mustChangePassword) setChanging(r.principal);
      else if (r.principal) onSignedIn(r.principal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setError(mode === "token" ? "That token was not accepted." : "The user name, password or code is wrong.");
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
            Your session ended. Sign in again to go on.
          </p>
        )}
        {mode === "token" ? (
          <>
            <p class="muted">This server has no user accounts yet: sign in with an API token.</p>
            <label>
              API token
              <input type="password" name="token" autoComplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
            </label>
          </>
        ) : (
          <>
            <label>
              User name
              <input name="username" autoComplete="username" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Password
              <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
            </label>
            {needTotp && (
              <label>
                Authentication code
                <input
                  name="totp"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9A-Za-z-]{6,20}"
                  required
                  autoFocus
                  value={totp}
                  onInput={(e) => setTotp((e.target as HTMLInputElement).value)}
                />
                <span class="hint">The 6-digit code from your authenticator app, or a recovery code.</span>
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
          {busy ? "Signing in…" : needTotp ? "Verify" : "Sign in"}
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

function ChangePassword({ principal, onDone }: { principal: Principal; onDone: (p: Principal) => void }) {
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
      const me = await apiJSON<Me>("/api/v1/auth/me");
      onDone(principalFrom(me));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="center-page">
      <form class="card signin" onSubmit={submit} aria-labelledby="pw-title">
        <h1 id="pw-title">Choose a new password</h1>
        <p class="muted">
          {principal.name}, your password was set by an administrator for one use. Choose your own: at least 12 characters, not a common one.
        </p>
        <label>
          One-time password
          <input type="password" autoComplete="current-password" required value={cur} onInput={(e) => setCur((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          New password
          <input type="password" autoComplete="new-password" minLength={12} required value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          New password again
          <input type="password" autoComplete="new-password" minLength={12} required value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
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
    </main>
  );
}
