import { useRef, useState } from "preact/hooks";
import { apiJSON } from "../lib/api";
import { useFetch, useInterval } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { iso, resolve, type Range } from "../lib/time";
import type { PageProps } from "../pages";
import { Panel, type PanelDef } from "../components/panel";
import { RefreshPicker, TimePicker } from "../components/timepicker";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { Link } from "../components/link";

interface Def {
  id: string;
  title: string;
  description?: string;
  range?: string;
  refresh?: number;
  mine?: boolean;
  panels: PanelDef[];
}

export default function Dashboard({ params }: PageProps) {
  const loc = useLocation();
  const f = useFetch((signal) => apiJSON<Def>("/api/v1/dashboards/" + encodeURIComponent(params.id), { signal }), [params.id]);
  const d = f.data;
  const range: Range = { start: loc.query.get("start") ?? d?.range ?? "-24h", end: loc.query.get("end") ?? "now" };
  const refresh = Number(loc.query.get("refresh") ?? d?.refresh ?? 0);
  const [tick, setTick] = useState(0);
  useInterval(() => setTick((t) => t + 1), refresh * 1000);
  const set = (q: Record<string, string | undefined>) =>
    navigate(withQuery(loc.path, { start: range.start, end: range.end === "now" ? undefined : range.end, refresh: loc.query.get("refresh") ?? undefined, ...q }), { replace: true });
  // Resolve the range once per refresh so every panel covers the same span.
  const [abs, key] = (() => {
    try {
      return [{ start: iso(resolve(range.start)), end: iso(resolve(range.end)) }, range.start + range.end + tick];
    } catch {
      return [null, ""];
    }
  })();
  const absMemo = useMemoRange(abs, key);
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!d) return <Loading />;
  return (
    <>
      <PageHeader title={d.title}>
        <TimePicker range={range} onChange={(r) => set({ start: r.start, end: r.end === "now" ? undefined : r.end })} />
        <RefreshPicker value={refresh} onChange={(s) => set({ refresh: String(s) })} />
        <button type="button" class="btn" onClick={() => setTick(tick + 1)}>
          Refresh
        </button>
        <Link class="btn" href={"/dashboards/new?from=" + encodeURIComponent(d.id)} title="A copy of your own to change">
          Copy
        </Link>
        {d.mine && (
          <Link class="btn" href={"/dashboards/" + encodeURIComponent(d.id) + "/edit"}>
            Edit
          </Link>
        )}
      </PageHeader>
      {d.description && <p class="muted">{d.description}</p>}
      {absMemo && (
        <div class="panels">
          {d.panels.map((p, i) => (
            <Panel key={d.id + i} def={p} start={absMemo.start} end={absMemo.end} tick={tick} />
          ))}
        </div>
      )}
    </>
  );
}

// useMemoRange keeps the resolved range stable between renders of the same
// key, so panels do not reload on every render of a relative range.
function useMemoRange(v: { start: string; end: string } | null, key: string) {
  const ref = useRef<{ key: string; v: typeof v }>({ key: "", v: null });
  if (ref.current.key !== key) ref.current = { key, v };
  return ref.current.v;
}
