// The console's one API client. Every screen talks to the public /api/v1
// through it, so that requests carry the caller's credentials the same way
// and failures read the same way everywhere.

export class ApiError extends Error {
  status: number;
  // position is the byte offset of a LogsQL syntax error, when the server
  // knows it.
  position?: number;
  detail: string;
  // body is the server's JSON error object, when it sent one.
  body?: Record<string, unknown>;
  constructor(status: number, message: string, detail: string, position?: number, body?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.position = position;
    this.body = body;
  }
}

// Credentials: a session cookie set by POST /api/v1/auth/login (the
// browser sends it; state-changing requests echo the CSRF token), or an
// API token typed at sign-in, kept for this tab only.
type Credentials = { kind: "session"; csrf: string } | { kind: "token"; token: string } | null;

let creds: Credentials = null;
let onUnauthorized: (() => void) | null = null;

const TOKEN_KEY = "vigil.token";

export function useToken(token: string) {
  creds = { kind: "token", token };
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function useSession(csrf: string) {
  creds = { kind: "session", csrf };
  sessionStorage.removeItem(TOKEN_KEY);
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function clearCredentials() {
  creds = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

// setUnauthorizedHandler is called when the server answers 401 to a signed
// in client: the session expired or the token was revoked.
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

export type Query = Record<string, string | number | boolean | undefined | null | string[]>;

export function buildURL(path: string, query?: Query): string {
  const u = new URL(path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
      else u.searchParams.set(k, String(v));
    }
  }
  return u.pathname + u.search;
}

export interface RequestOptions {
  method?: string;
  query?: Query;
  body?: unknown;
  // yaml is a body sent as it is, as YAML (dashboard definitions).
  yaml?: string;
  signal?: AbortSignal;
  // quiet401 keeps a 401 from signing the user out (sign-in checks).
  quiet401?: boolean;
}

function headers(method: string, opts: RequestOptions): Headers {
  const h = new Headers({ Accept: "application/json" });
  if (opts.body !== undefined) h.set("Content-Type", "application/json");
  if (opts.yaml !== undefined) h.set("Content-Type", "application/yaml");
  if (creds?.kind === "token") h.set("Authorization", "Bearer " + creds.token);
  if (creds?.kind === "session" && method !== "GET" && method !== "HEAD") h.set("X-CSRF-Token", creds.csrf);
  return h;
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  const method = opts.method ?? (opts.body !== undefined || opts.yaml !== undefined ? "POST" : "GET");
  let res: Response;
  try {
    res = await fetch(buildURL(path, opts.query), {
      method,
      headers: headers(method, opts),
      body: opts.body !== undefined ? JSON.stringify(opts.body) : opts.yaml,
      signal: opts.signal,
      credentials: "same-origin",
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "Vigil did not answer. Check that the server is running and that your network reaches it.", String(e));
  }
  if (!res.ok) throw await toError(res, opts);
  return res;
}

async function toError(res: Response, opts: RequestOptions): Promise<ApiError> {
  let detail = "";
  let position: number | undefined;
  let body: Record<string, unknown> | undefined;
  try {
    const text = await res.text();
    try {
      const j = JSON.parse(text);
      body = j;
      detail = j.error ?? text;
      if (typeof j.position === "number") position = j.position;
    } catch {
      detail = text;
    }
  } catch {
    /* no body */
  }
  detail = detail.trim();
  if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
  return new ApiError(res.status, plainWords(res.status, detail), detail, position, body);
}

// plainWords turns a status and the server's message into a sentence for
// the person at the screen.
export function plainWords(status: number, detail: string): string {
  switch (true) {
    case status === 400:
      return detail ? capitalise(detail) : "Vigil could not understand this request.";
    case status === 401:
      return "You are not signed in, or your session has ended. Sign in again.";
    case status === 403:
      return detail ? capitalise(detail) : "Your role does not allow this.";
    case status === 404:
      return detail ? capitalise(detail) : "Not found.";
    case status === 409:
      return detail ? capitalise(detail) : "This changed meanwhile; reload and try again.";
    case status === 413:
      return "The request is too large.";
    case status === 429:
      return "Too many attempts. Wait a moment and try again." + (detail ? " (" + detail + ")" : "");
    case status >= 500:
      return "Vigil could not complete this request" + (detail ? ": " + detail : ".");
    default:
      return detail || "Request failed with status " + status + ".";
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export async function apiJSON<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

// apiText answers the body as text (a dashboard's YAML).
export async function apiText(path: string, opts: RequestOptions = {}): Promise<string> {
  return (await send(path, opts)).text();
}

// apiNDJSON reads a newline-delimited JSON stream, handing each object to
// onRow as it arrives. A line {"error": …} ends the stream with an error.
export async function apiNDJSON(path: string, opts: RequestOptions, onRow: (row: Record<string, string>) => void): Promise<void> {
  const res = await send(path, opts);
  if (!res.body) return;
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (value) rest += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim() === "") continue;
      const row = JSON.parse(line);
      if (typeof row.error === "string" && Object.keys(row).length === 1) {
        throw new ApiError(500, plainWords(500, row.error), row.error);
      }
      onRow(row);
    }
    if (done) break;
  }
  if (rest.trim() !== "") onRow(JSON.parse(rest));
}

// apiDownload fetches with the caller's credentials and saves the body as
// a file.
export async function apiDownload(path: string, opts: RequestOptions, filename: string): Promise<void> {
  const res = await send(path, opts);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
