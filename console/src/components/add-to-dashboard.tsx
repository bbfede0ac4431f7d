// AddToDashboard: the search's query becomes a panel of one of your
// dashboards, or of a new one — a dashboard grows from investigations
// without writing its YAML. The panel type follows the query: a stats query
// grouped by _time draws over time, another stats query as bars, a plain
// filter counts its hits over time.
import { useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate } from "../lib/router";
import { isTransforming } from "../lib/logsql";
import { Modal } from "./modal";

const TYPES = ["timeseries", "bars", "table", "stat", "hits"] as const;
type PanelType = (typeof TYPES)[number];

// panelType guesses the panel for a query.
export function panelType(q: string): PanelType {
  if (!isTransforming(q)) return "hits";
  if (/\bby\s*\(\s*_time\b/.test(q)) return "timeseries";
  if (/\|\s*stats\s+(count|sum|avg|min|max|count_uniq)\b/.test(q)) return "stat";
  return "bars";
}

interface Def {
  id: string;
  title: string;
  description?: string;
  range?: string;
  refresh?: number;
  shared?: boolean;
  panels: Record<string, unknown>[];
}

// slug makes a dashboard id from a title.
function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "dashboard"
  );
}

export function AddToDashboard({ query, range, onClose }: { query: string; range: string; onClose: () => void }) {
  const list = useFetch(
    (signal) => apiJSON<{ dashboards: { id: string; title: string; mine: boolean }[] }>("/api/v1/dashboards", { signal }),
    [],
  );
  const mine = list.data?.dashboards.filter((d) => d.mine) ?? [];
  const [target, setTarget] = useState("");
  const [newTitle, setNewTitle] = useState("");
  const [title, setTitle] = useState(query.length > 80 ? query.slice(0, 77) + "…" : query);
  const [type, setType] = useState<PanelType>(panelType(query));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = target || (mine.length ? mine[0].id : "+new");
  const creating = chosen === "+new";

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // A fixed bucket (_time:1h) becomes the dashboard's own ($step).
    const q = type === "timeseries" ? query.replace(/\b_time:\d+[smhdw]\b/g, "_time:$step") : query;
    const panel: Record<string, unknown> = { title: title.trim(), type, query: q, width: type === "stat" ? 3 : 6 };
    try {
      let id: string;
      if (creating) {
        const t = newTitle.trim() || "My dashboard";
        const d = await apiJSON<{ id: string }>("/api/v1/dashboards", {
          method: "POST",
          body: { id: slug(t), title: t, range: range.startsWith("-") ? range : "-24h", panels: [panel] },
        });
        id = d.id;
      } else {
        const d = await apiJSON<Def>("/api/v1/dashboards/" + encodeURIComponent(chosen));
        const body: Def = { id: d.id, title: d.title, description: d.description, range: d.range, refresh: d.refresh, shared: d.shared, panels: [...d.panels, panel] };
        await apiJSON("/api/v1/dashboards/" + encodeURIComponent(chosen), { method: "PUT", body });
        id = d.id;
      }
      navigate("/dashboards/" + encodeURIComponent(id));
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Modal title="Add to a dashboard" onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <p class="mono small">{query}</p>
        <label>
          Dashboard
          <select value={chosen} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
            {mine.map((d) => (
              <option key={d.id} value={d.id}>
                {d.title}
              </option>
            ))}
            <option value="+new">A new dashboard…</option>
          </select>
        </label>
        {creating && (
          <label>
            New dashboard's title
            <input required maxLength={200} value={newTitle} onInput={(e) => setNewTitle((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label>
          Panel title
          <input required maxLength={200} value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Shown as
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as PanelType)}>
            <option value="hits">hits: matching events over time</option>
            <option value="timeseries">timeseries: a stats by (_time:$step) result over time</option>
            <option value="bars">bars: a label and a number per row</option>
            <option value="table">table: the result rows</option>
            <option value="stat">stat: one number</option>
          </select>
        </label>
        <p class="hint">
          A timeseries panel's <code>_time:1h</code> becomes <code>_time:$step</code>, buckets that fit the dashboard's range.
        </p>
        {list.error ? <p class="error-line">{errorMessage(list.error)}</p> : null}
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Adding…" : "Add"}
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
