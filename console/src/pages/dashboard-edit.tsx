// The dashboard editor: a dashboard is data, so it is edited as the YAML
// the API takes (POST/PUT /api/v1/dashboards). /dashboards/new starts from
// a template, or from a copy of any dashboard (?from=<id>, built-in ones
// included); /dashboards/<id>/edit changes or deletes one of your own.
import { useEffect, useState } from "preact/hooks";
import { apiJSON, apiText } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate, useLocation } from "../lib/router";
import type { PageProps } from "../pages";
import { Link } from "../components/link";
import { Modal } from "../components/modal";
import { ErrorBox, Loading, PageHeader } from "../components/status";

const TEMPLATE = `id: my-dashboard
title: My dashboard
description: What this dashboard is for.
range: -24h
refresh: 0
# shared: true shows it to everyone who may search.
panels:
  - title: Events over time
    type: timeseries
    query: "* | stats by (_time:$step) count() events"
    width: 8
  - title: Top hosts
    type: table
    query: "* | stats by (host.name) count() events | sort by (events desc) | limit 10"
    width: 4
`;

// copyOf turns a dashboard's YAML into a new one of the user's own: a new
// id and title, not shared.
function copyOf(yaml: string, id: string): string {
  return yaml
    .replace(/^id: .*$/m, `id: ${id}-copy`)
    .replace(/^title: (.*)$/m, (_, t: string) => `title: ${JSON.stringify("Copy of " + unquote(t))}`)
    .replace(/^shared: .*\n/m, "");
}

function unquote(t: string): string {
  try {
    return t.startsWith('"') ? JSON.parse(t) : t.replace(/^'(.*)'$/, "$1");
  } catch {
    return t;
  }
}

export default function DashboardEdit({ params }: PageProps) {
  const loc = useLocation();
  const editing = params.id;
  const from = loc.query.get("from");
  const f = useFetch(
    async (signal) => {
      if (editing) return apiText("/api/v1/dashboards/" + encodeURIComponent(editing), { signal, query: { format: "yaml" } });
      if (from) return copyOf(await apiText("/api/v1/dashboards/" + encodeURIComponent(from), { signal, query: { format: "yaml" } }), from);
      return TEMPLATE;
    },
    [editing, from],
  );
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  useEffect(() => setText(f.data ?? null), [f.data]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (text === null) return;
    setBusy(true);
    setError(null);
    try {
      const d = editing
        ? await apiJSON<{ id: string }>("/api/v1/dashboards/" + encodeURIComponent(editing), { method: "PUT", yaml: text })
        : await apiJSON<{ id: string }>("/api/v1/dashboards", { method: "POST", yaml: text });
      navigate("/dashboards/" + encodeURIComponent(d.id));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    try {
      await apiJSON("/api/v1/dashboards/" + encodeURIComponent(editing), { method: "DELETE" });
      navigate("/dashboards");
    } catch (err) {
      setDeleting(false);
      setError(err);
    }
  };

  return (
    <>
      <PageHeader title={editing ? "Edit dashboard" : "New dashboard"}>
        {editing && (
          <button type="button" class="btn danger" onClick={() => setDeleting(true)}>
            Delete…
          </button>
        )}
      </PageHeader>
      <p class="muted">
        A dashboard is YAML: an <code>id</code> (lower-case letters, digits and dashes), a <code>title</code>, a default{" "}
        <code>range</code> and <code>refresh</code> (seconds), and up to 24 <code>panels</code>. A panel has a <code>title</code>, a{" "}
        <code>type</code> (<code>timeseries</code>, <code>bars</code>, <code>table</code>, <code>stat</code> and <code>hits</code> run a
        LogsQL <code>query</code>, where <code>$step</code> is the bucket that fits the range; <code>alerts</code> groups alerts by{" "}
        <code>level</code>, <code>rule</code>, <code>user</code>, <code>host</code> or <code>tactic</code>; <code>sources</code> shows source
        health) and a <code>width</code> in twelfths of the page. See the built-in ones: copy one to start from it.
      </p>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {text === null && !f.error && <Loading />}
      {text !== null && (
        <form class="dash-editor" onSubmit={save}>
          <label>
            Definition (YAML)
            <textarea
              class="mono"
              name="definition"
              spellcheck={false}
              rows={Math.min(40, Math.max(16, text.split("\n").length + 2))}
              value={text}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <ErrorBox error={error} />
          <div class="row-actions">
            <button type="submit" class="btn primary" disabled={busy}>
              {busy ? "Saving…" : "Save"}
            </button>
            <Link href={editing ? "/dashboards/" + encodeURIComponent(editing) : "/dashboards"} class="btn">
              Cancel
            </Link>
          </div>
        </form>
      )}
      {deleting && (
        <Modal title="Delete this dashboard?" onClose={() => setDeleting(false)}>
          <p>It is removed for everyone it is shared with. This cannot be undone.</p>
          <div class="row-actions">
            <button type="button" class="btn danger" onClick={remove} autoFocus>
              Delete
            </button>
            <button type="button" class="btn" onClick={() => setDeleting(false)}>
              Cancel
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
