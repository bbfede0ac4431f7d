// The console shell: sign-in, navigation, the page outlet, idle logout.
import { useEffect, useMemo, useState } from "preact/hooks";
import type { ComponentType } from "preact";
import { setUnauthorizedHandler } from "./lib/api";
import { match, navigate, useLocation } from "./lib/router";
import { Link } from "./components/link";
import { can, logout, restore, SessionContext, type Principal, type SignInMode, type SSOInfo } from "./lib/session";
import { HOME, pages, type PageDef, type PageProps } from "./pages";
import { ErrorBox, Loading } from "./components/status";
import { Restricted, SignIn } from "./signin";
import { IdleWatch } from "./components/idle";
import { ThemeToggle } from "./components/theme";

type State =
  | { phase: "starting" }
  | { phase: "failed"; error: unknown }
  | { phase: "signin"; mode: SignInMode; sso: SSOInfo | null; expired?: "expired" | "idle" }
  | { phase: "in"; principal: Principal; mode: SignInMode; sso: SSOInfo | null };

export function App() {
  const [state, setState] = useState<State>({ phase: "starting" });
  const start = () =>
    restore().then(
      ({ principal, mode, sso }) => setState(principal ? { phase: "in", principal, mode, sso } : { phase: "signin", mode, sso }),
      (error) => setState({ phase: "failed", error }),
    );
  useEffect(() => {
    start();
  }, []);
  useEffect(() => {
    setUnauthorizedHandler(() =>
      setState((s) => (s.phase === "in" ? { phase: "signin", mode: s.mode, sso: s.sso, expired: "expired" } : s)),
    );
  }, []);

  switch (state.phase) {
    case "starting":
      return (
        <main class="center-page">
          <Loading label="Starting Vigil…" />
        </main>
      );
    case "failed":
      return (
        <main class="center-page">
          <ErrorBox error={state.error} onRetry={start} />
        </main>
      );
    case "signin":
      return (
        <SignIn
          mode={state.mode}
          sso={state.sso}
          expired={state.expired}
          onSignedIn={(principal) => setState({ phase: "in", principal, mode: state.mode, sso: state.sso })}
        />
      );
    case "in": {
      const signOut = async () => {
        await logout();
        setState({ phase: "signin", mode: state.mode, sso: state.sso });
      };
      const idleOut = async () => {
        await logout("idle");
        setState({ phase: "signin", mode: state.mode, sso: state.sso, expired: "idle" });
      };
      if (state.principal.restriction) {
        return (
          <Restricted principal={state.principal} onSignOut={signOut} onDone={(principal) => setState({ ...state, principal })} />
        );
      }
      return (
        <SessionContext.Provider value={{ principal: state.principal, signOut }}>
          <Shell principal={state.principal} signOut={signOut} />
          {state.principal.idleTimeout > 0 && <IdleWatch seconds={state.principal.idleTimeout} onTimeout={idleOut} />}
        </SessionContext.Provider>
      );
    }
  }
}

function Shell({ principal, signOut }: { principal: Principal; signOut: () => void }) {
  const loc = useLocation();
  const visible = useMemo(() => pages.filter((p) => can(principal, p.perm)), [principal]);
  // The current page is the navigation entry that is the longest prefix
  // of the path (on /privacy/reports, not /privacy as well).
  const current = visible
    .filter((p) => p.nav !== false && (loc.path === p.path || loc.path.startsWith(p.path + "/")))
    .reduce<string | undefined>((best, p) => (!best || p.path.length > best.length ? p.path : best), undefined);
  let found: { def: PageDef; params: Record<string, string> } | null = null;
  let forbidden: PageDef | null = null;
  for (const def of pages) {
    const params = match(def.path, loc.path);
    if (params) {
      if (can(principal, def.perm)) found = { def, params };
      else forbidden = def;
      break;
    }
  }
  useEffect(() => {
    if (loc.path === "/" || loc.path === "") {
      const first = visible.find((p) => p.nav !== false);
      navigate(first ? (can(principal, "events:search") ? HOME : first.path) : "/welcome", { replace: true });
    }
  }, [loc.path]);
  useEffect(() => {
    document.title = (found ? found.def.title + " · " : "") + "Vigil";
  }, [found?.def.title]);

  const sections = ["Investigate", "Dashboards", "Detect", "Privacy", "Admin"] as const;
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand" aria-label="Vigil home">
          <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
            <rect width="32" height="32" rx="6" fill="currentColor" />
            <path d="M7 9l9 15 9-15" fill="none" stroke="var(--bg)" stroke-width="3.5" stroke-linejoin="round" stroke-linecap="round" />
          </svg>
          Vigil
        </Link>
        <div class="topbar-right">
          <ThemeToggle />
          <span class="who" title={principal.roles.join(", ")}>
            {principal.name}
            {principal.roles.length > 0 && <span class="roles"> · {principal.roles.join(", ")}</span>}
          </span>
          <button type="button" class="btn small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav class="sidenav" aria-label="Main">
        {sections.map((sec) => {
          const items = visible.filter((p) => p.section === sec && p.nav !== false);
          if (!items.length) return null;
          return (
            <div class="nav-section" key={sec}>
              <h2>{sec}</h2>
              <ul>
                {items.map((p) => (
                  <li key={p.path}>
                    <Link href={p.path} aria-current={p.path === current ? "page" : undefined}>
                      {p.title}
                    </Link>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </nav>
      <main id="main" class="main" tabIndex={-1}>
        {found ? (
          <PageOutlet key={found.def.path} def={found.def} params={found.params} />
        ) : forbidden ? (
          <div class="notice" role="alert">
            <h1>Not allowed</h1>
            <p>
              Your role does not give access to {forbidden.title.toLowerCase()}. Ask an administrator if you need it.
            </p>
          </div>
        ) : loc.path === "/" ? null : (
          <div class="notice">
            <h1>Page not found</h1>
            <p>
              There is no page at <code>{loc.path}</code>. <Link href="/">Go to the start page</Link>.
            </p>
          </div>
        )}
      </main>
    </div>
  );
}

const loaded = new Map<string, ComponentType<PageProps>>();

function PageOutlet({ def, params }: { def: PageDef; params: Record<string, string> }) {
  const [Comp, setComp] = useState<ComponentType<PageProps> | undefined>(() => loaded.get(def.path));
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (Comp) return;
    let live = true;
    def.load().then(
      (m) => {
        loaded.set(def.path, m.default);
        if (live) setComp(() => m.default);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [def.path]);
  if (error) return <ErrorBox error={new Error("This page could not be loaded; reload the browser tab. (" + String(error) + ")")} />;
  if (!Comp) return <Loading />;
  return <Comp params={params} />;
}
