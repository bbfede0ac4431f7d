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
  | "config:read"
  | "config:write"
  | "metrics:read"
  | "system:read";

export const ALL_PERMISSIONS: Permission[] = [
  "ingest", "events:search", "events:export", "alerts:read", "alerts:write", "cases:read", "cases:write",
  "directory:read", "privacy:read", "privacy:write", "phi", "reports:read", "reports:write", "audit:read",
  "rules:read", "rules:write", "sources:read", "notify:admin", "response:run", "response:approve",
  "users:admin", "config:read", "config:write", "metrics:read", "system:read",
];

export interface Principal {
  name: string;
  kind: "user" | "token";
  roles: string[];
  permissions: Set<string>;
  // idleTimeout is the session's idle limit in seconds (0: none).
  idleTimeout: number;
  mustChangePassword: boolean;
}

export interface Me {
  name?: string;
  user?: string;
  username?: string;
  kind?: string;
  roles?: string[];
  permissions?: string[];
  csrf_token?: string;
  idle_timeout_seconds?: number;
  must_change_password?: boolean;
}

export function principalFrom(me: Me): Principal {
  return {
    name: me.name ?? me.username ?? me.user ?? "",
    kind: me.kind === "token" ? "token" : "user",
    roles: me.roles ?? [],
    permissions: new Set(me.permissions ?? []),
    idleTimeout: me.idle_timeout_seconds ?? 0,
    mustChangePassword: !!me.must_change_password,
  };
}

export function can(p: Principal | null, perm?: Permission | Permission[]): boolean {
  if (!perm) return true;
  if (!p) return false;
  const list = Array.isArray(perm) ? perm : [perm];
  return list.every((x) => p.permissions.has(x));
}

export type SignInMode = "password" | "token";

// restore finds out whether this browser is already signed in: a session
// cookie (GET /api/v1/auth/me) or a token kept for this tab. It also says
// which sign-in form the server supports.
export async function restore(): Promise<{ principal: Principal | null; mode: SignInMode; sso: SSOInfo | null }> {
  const sso = await ssoInfo();
  try {
    const me = await apiJSON<Me>("/api/v1/auth/me", { quiet401: true });
    if (me.csrf_token) useSession(me.csrf_token);
    return { principal: principalFrom(me), mode: "password", sso };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) {
      const t = storedToken();
      if (t) {
        const p = await tokenPrincipal(t).catch(() => null);
        if (p) return { principal: p, mode: "password", sso };
      }
      return { principal: null, mode: "password", sso };
    }
    if (e.status !== 404) throw e;
  }
  // A server without accounts: the API token is the only credential.
  const t = storedToken();
  if (t) {
    const p = await tokenPrincipal(t).catch(() => null);
    if (p) return { principal: p, mode: "token", sso: null };
  }
  return { principal: null, mode: "token", sso: null };
}

export interface SSOInfo {
  enabled: boolean;
  name?: string;
  login_url?: string;
}

async function ssoInfo(): Promise<SSOInfo | null> {
  try {
    return await apiJSON<SSOInfo>("/api/v1/auth/sso", { quiet401: true });
  } catch {
    return null;
  }
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
      await apiJSON("/api/v1/sources", { query: { limit: 1 }, quiet401: true });
      return { name: "API token", kind: "token", roles: [], permissions: new Set(ALL_PERMISSIONS), idleTimeout: 0, mustChangePassword: false };
    }
    clearCredentials();
    throw e;
  }
}

export interface LoginResult {
  principal?: Principal;
  totpRequired?: boolean;
}

export async function login(username: string, password: string, totp: string): Promise<LoginResult> {
  try {
    const me = await apiJSON<Me>("/api/v1/auth/login", {
      method: "POST",
      body: { username, password, totp: totp || undefined },
      quiet401: true,
    });
    if (me.csrf_token) useSession(me.csrf_token);
    let full = me;
    if (!me.permissions) full = await apiJSON<Me>("/api/v1/auth/me", { quiet401: true });
    if (full.csrf_token) useSession(full.csrf_token);
    return { principal: principalFrom(full) };
  } catch (e) {
    if (e instanceof ApiError && /totp|one-time code|mfa/i.test(e.detail) && !totp) return { totpRequired: true };
    throw e;
  }
}

export async function logout(): Promise<void> {
  try {
    await apiJSON("/api/v1/auth/logout", { method: "POST", quiet401: true });
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
