// Who is signed in, and what their roles allow. The console hides what a
// user may not do; the API refuses it anyway.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ApiError, apiJSON, clearCredentials, storedToken, useSession, useToken } from "./api";

// Permission names, as the server declares them on its routes.
export type Permission =
  | "ingest"
  | "events:search"
  | "events:export"
  | "alerts:read"
  | "alerts:write"
  | "cases:read"
  | "cases:write"
  | "directory:read"
  | "privacy:read"
  | "privacy:write"
  | "phi"
  | "reports:read"
  | "reports:write"
  | "audit:read"
  | "rules:read"
  | "rules:write"
  | "sources:read"
  | "notify:admin"
  | "response:run"
  | "response:approve"
  | "users:admin"
  | "phi:reveal"
  | "directory:write"
  | "config:read"
  | "config:write"
  | "metrics:read"
  | "system:read";

export const ALL_PERMISSIONS: Permission[] = [
  "ingest", "events:search", "events:export", "alerts:read", "alerts:write", "cases:read", "cases:write",
  "directory:read", "privacy:read", "privacy:write", "phi", "reports:read", "reports:write", "audit:read",
  "rules:read", "rules:write", "sources:read", "notify:admin", "response:run", "response:approve",
  "users:admin", "phi:reveal", "directory:write", "config:read", "config:write", "metrics:read", "system:read",
];

export interface Principal {
  name: string;
  kind: "user" | "token";
  roles: string[];
  permissions: Set<string>;
  // idleTimeout is the session's idle limit in seconds (0: none).
  idleTimeout: number;
  // restriction confines a new session until the user has changed a
  // one-time password or enrolled a second factor.
  restriction: "" | "password_change_required" | "mfa_enrollment_required";
  method: string;
}

// Me is the answer of GET /api/v1/auth/me and POST /api/v1/auth/login.
export interface Me {
  kind?: string;
  name?: string;
  roles?: string[];
  permissions?: string[];
  method?: string;
  restriction?: string;
  session?: { csrf_token?: string; idle_timeout_seconds?: number };
  user?: { name: string; roles: string[]; display_name?: string };
}

export function principalFrom(me: Me): Principal {
  if (me.session?.csrf_token) useSession(me.session.csrf_token);
  return {
    name: me.name ?? me.user?.name ?? "",
    kind: me.kind === "token" ? "token" : "user",
    roles: me.roles ?? me.user?.roles ?? [],
    permissions: new Set(me.permissions ?? []),
    idleTimeout: me.session?.idle_timeout_seconds ?? 0,
    restriction: (me.restriction ?? "") as Principal["restriction"],
    method: me.method ?? "",
  };
}

export function can(p: Principal | null, perm?: Permission | Permission[]): boolean {
  if (!perm) return true;
  if (!p || p.restriction) return false;
  const list = Array.isArray(perm) ? perm : [perm];
  return list.every((x) => p.permissions.has(x));
}

export type SignInMode = "password" | "token";

export interface SSOInfo {
  enabled: boolean;
  name?: string;
  login_url?: string;
}

interface Methods {
  password: boolean;
  oidc?: SSOInfo;
}

// restore finds out which sign-in the server offers (accounts, or only the
// API token on a server without them) and whether this browser is signed
// in already: a session cookie, or a token kept for this tab.
export async function restore(): Promise<{ principal: Principal | null; mode: SignInMode; sso: SSOInfo | null }> {
  let methods: Methods | null = null;
  try {
    methods = await apiJSON<Methods>("/api/v1/auth/methods", { quiet401: true });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const mode: SignInMode = methods ? "password" : "token";
  const sso = methods?.oidc?.enabled ? methods.oidc : null;
  const t = storedToken();
  if (t) {
    const p = await tokenPrincipal(t).catch(() => null);
    if (p) return { principal: p, mode, sso };
  }
  if (methods) {
    try {
      const me = await apiJSON<Me>("/api/v1/auth/me", { quiet401: true });
      return { principal: principalFrom(me), mode, sso };
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
    }
  }
  return { principal: null, mode, sso };
}

// tokenPrincipal checks an API token and describes what it may do.
export async function tokenPrincipal(token: string): Promise<Principal> {
  useToken(token);
  try {
    const me = await apiJSON<Me>("/api/v1/auth/me", { quiet401: true });
    return principalFrom({ ...me, kind: "token" });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      // No accounts on this server: the one token may do everything.
      try {
        await apiJSON("/api/v1/sources", { query: { limit: 1 }, quiet401: true });
        return { name: "API token", kind: "token", roles: [], permissions: new Set(ALL_PERMISSIONS), idleTimeout: 0, restriction: "", method: "token" };
      } catch (e2) {
        clearCredentials();
        throw e2;
      }
    }
    clearCredentials();
    throw e;
  }
}

export interface LoginResult {
  principal?: Principal;
  mfaRequired?: boolean;
}

// login signs in with a password and, when the account has a second
// factor, its 6-digit code or a recovery code.
export async function login(username: string, password: string, code: string): Promise<LoginResult> {
  code = code.trim();
  const body: Record<string, string> = { username, password };
  if (/^\d{6}$/.test(code)) body.totp_code = code;
  else if (code) body.recovery_code = code;
  try {
    const me = await apiJSON<Me>("/api/v1/auth/login", { method: "POST", body, quiet401: true });
    return { principal: principalFrom(me) };
  } catch (e) {
    if (e instanceof ApiError && e.body?.mfa_required && !code) return { mfaRequired: true };
    throw e;
  }
}

// logout ends the session; reason "idle" tells the audit trail that the
// console signed an idle user out (automatic logoff), not the user.
export async function logout(reason?: "idle"): Promise<void> {
  try {
    await apiJSON("/api/v1/auth/logout", { method: "POST", quiet401: true, body: reason ? { reason } : undefined });
  } catch {
    /* signed out anyway */
  }
  clearCredentials();
}

export interface SessionCtx {
  principal: Principal;
  signOut: () => void;
}

export const SessionContext = createContext<SessionCtx | null>(null);

export function useSessionCtx(): SessionCtx {
  const s = useContext(SessionContext);
  if (!s) throw new Error("BUG: no session context");
  return s;
}

export function useCan(perm?: Permission | Permission[]): boolean {
  const s = useContext(SessionContext);
  return can(s?.principal ?? null, perm);
}
