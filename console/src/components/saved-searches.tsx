// SavedSearches: save the current search (query, range, columns) under a
// name, for oneself or shared with the team, and open or delete saved ones.
import { useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import type { SearchState } from "../lib/searchurl";
import { Loading } from "./status";

export interface SavedSearch {
  id: number;
  name: string;
  query: string;
  start: string;
  end: string;
  columns: string[];
  owner: string;
  shared: boolean;
  mine: boolean;
}

export function SavedSearches({ current, onOpen }: { current: SearchState; onOpen: (s: SearchState) => void }) {
  const [saving, setSaving] = useState(false);
  const [name, setName] = useState("");
  const [shared, setShared] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const list = useFetch((signal) => (open ? apiJSON<{ searches: SavedSearch[] }>("/api/v1/searches", { signal }) : Promise.resolve(undefined)), [open]);

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await apiJSON("/api/v1/searches", {
        method: "POST",
        body: { name: name.trim(), query: current.q, start: current.range.start, end: current.range.end, columns: current.cols, shared },
      });
      setSaving(false);
      setName("");
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const remove = async (s: SavedSearch) => {
    if (!confirm(`Delete the saved search "${s.name}"?`)) return;
    try {
      await apiJSON("/api/v1/searches/" + s.id, { method: "DELETE" });
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <>
      <details class="menu" open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
        <summary class="btn">Saved searches</summary>
        <div class="menu-items wide" role="menu">
          {list.loading && <Loading />}
          {list.error ? <p class="error-line">{errorMessage(list.error)}</p> : null}
          {list.data && list.data.searches.length === 0 && <p class="muted">No saved search yet.</p>}
          <ul class="saved-list">
            {list.data?.searches.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  role="menuitem"
                  class="btn link"
                  onClick={() => {
                    setOpen(false);
                    onOpen({ q: s.query, range: { start: s.start || "-1h", end: s.end || "now" }, cols: s.columns?.length ? s.columns : current.cols, limit: current.limit });
                  }}
                >
                  {s.name}
                </button>
                <span class="muted small">{s.shared ? "shared" : "private"}{s.mine ? "" : " · " + s.owner}</span>
                {s.mine && (
                  <button type="button" class="icon-btn" aria-label={"Delete saved search " + s.name} onClick={() => remove(s)}>
                    ✕
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      </details>
      <button type="button" class="btn" onClick={() => setSaving(true)}>
        Save search
      </button>
      {saving && (
        <div class="modal-backdrop">
          <div class="modal" role="dialog" aria-modal="true" aria-labelledby="save-title">
            <form class="modal-form" onSubmit={save}>
              <h2 id="save-title">Save this search</h2>
              <p class="mono small">{current.q}</p>
              <label>
                Name
                <input required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} autoFocus />
              </label>
              <label class="inline">
                <input type="checkbox" checked={shared} onChange={(e) => setShared((e.target as HTMLInputElement).checked)} />
                Share with everyone who can search
              </label>
              {error && (
                <p class="error-line" role="alert">
                  {error}
                </p>
              )}
              <div class="row-actions">
                <button type="submit" class="btn primary">
                  Save
                </button>
                <button type="button" class="btn" onClick={() => setSaving(false)}>
                  Cancel
                </button>
              </div>
            </form>
          </div>
        </div>
      )}
    </>
  );
}
