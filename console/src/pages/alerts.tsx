// The alert queue: filters kept in the URL, saved views, bulk selection
// and keyboard shortcuts (j/k move, x select, Enter open, t take, c close
// selected, r refresh, ? help).
import { useEffect, useState } from "preact/hooks";
import { apiJSON } from "../lib/api";
import { useFetch, useInterval, useStored } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { fmtEventTime } from "../lib/time";
import { useCan, useSessionCtx } from "../lib/session";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { EntityLink } from "../components/entity-link";
import { Modal } from "../components/modal";
import { entityOf } from "../lib/entities";
import { type Alert, DISPOSITIONS, Field, LEVELS, Level, SlaDue, useAction } from "../components/triage";

export type { Alert } from "../components/triage";
export { LEVELS } from "../components/triage";

export function AlertEntities({ a }: { a: Alert }) {
  const all = { ...(a.fields ?? {}), ...(a.group_by ?? {}) };
  const items = Object.entries(all).filter(([k]) => entityOf(k));
  return (
    <span class="entity-list">
      {items.slice(0, 4).map(([k, v]) => (
        <span key={k}>
          <EntityLink kind={entityOf(k)!} value={v} />{" "}
        </span>
      ))}
    </span>
  );
}

const FILTERS = ["status", "min_level", "rule", "kind", "assignee", "tag", "q", "since", "until", "entity", "disposition", "order"] as const;

interface View {
  name: string;
  query: string;
}

export default function Alerts() {
  const loc = useLocation();
  const me = useSessionCtx().principal.name;
  const canWrite = useCan("alerts:write");
  const q = Object.fromEntries(FILTERS.map((k) => [k, loc.query.get(k) ?? ""])) as Record<(typeof FILTERS)[number], string>;
  const status = q.status || "open";
  const since = q.since || "-7d";
  const f = useFetch(
    (signal) =>
      apiJSON<{ alerts: Alert[]; next?: string }>("/api/v1/alerts", {
        signal,
        query: { ...q, status: status === "any" ? undefined : status, since, limit: 500, order: q.order || "time" },
      }),
    [loc.href],
  );
  useInterval(f.reload, 30_000);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [focus, setFocus] = useState(0);
  const [closing, setClosing] = useState(false);
  const [help, setHelp] = useState(false);
  const [views, setViews] = useStored<View[]>("vigil.alert-views", []);
  const act = useAction(() => {
    setSelected(new Set());
    f.reload();
  });
  const alerts = f.data?.alerts ?? [];
  const setFilter = (k: string, v: string) => {
    const next: Record<string, string> = {};
    loc.query.forEach((val, key) => (next[key] = val));
    next[k] = v;
    navigate(withQuery("/alerts", next), { replace: true });
  };
  const bulk = (patch: Record<string, unknown>) =>
    act.run(() => apiJSON("/api/v1/alerts/bulk", { method: "POST", body: { ids: [...selected], patch } }));
  const targets = () => (selected.size ? selected : new Set(alerts[focus] ? [alerts[focus].id] : []));
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA") || document.querySelector(".modal")) return;
      const a = alerts[focus];
      switch (e.key) {
        case "j":
          setFocus((i) => Math.min(i + 1, alerts.length - 1));
          break;
        case "k":
          setFocus((i) => Math.max(i - 1, 0));
          break;
        case "x":
          if (a) setSelected((s) => toggle(s, a.id));
          break;
        case "Enter":
        case "o":
          if (a) navigate("/alerts/" + a.id);
          break;
        case "t":
          if (canWrite && targets().size)
            act.run(() => apiJSON("/api/v1/alerts/bulk", { method: "POST", body: { ids: [...targets()], patch: { status: "in_progress", assignee: me } } })).then(() => f.reload());
          break;
        case "c":
          if (canWrite && targets().size) {
            if (!selected.size && a) setSelected(new Set([a.id]));
            setClosing(true);
          }
          break;
        case "r":
          f.reload();
          break;
        case "?":
          setHelp(true);
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    document.addEventListener("keydown", key);
    return () => document.removeEventListener("keydown", key);
  });
  const allSelected = alerts.length > 0 && alerts.every((a) => selected.has(a.id));
  const builtIn: View[] = [
    { name: "Open", query: "" },
    { name: "Mine", query: "assignee=" + encodeURIComponent(me) },
    { name: "Unassigned", query: "assignee=none" },
    { name: "High and critical", query: "min_level=high" },
    { name: "Closed as false positive", query: "status=closed&disposition=false_positive&since=-30d" },
  ];
  return (
    <>
      <PageHeader title="Alerts">
        <button type="button" class="btn" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
          Shortcuts
        </button>
        <button type="button" class="btn" onClick={f.reload}>
          Refresh
        </button>
      </PageHeader>
      <div class="views" role="group" aria-label="Saved views">
        {[...builtIn, ...views].map((v) => (
          <button key={v.name} type="button" class={"btn small" + (loc.query.toString() === v.query ? " primary" : "")} onClick={() => navigate("/alerts" + (v.query ? "?" + v.query : ""))}>
            {v.name}
          </button>
        ))}
        <button
          type="button"
          class="btn small"
          onClick={() => {
            const name = prompt("Name of this view");
            if (name) setViews([...views.filter((v) => v.name !== name), { name, query: loc.query.toString() }]);
          }}
        >
          Save view…
        </button>
        {views.length > 0 && (
          <button type="button" class="btn small" onClick={() => {
            const name = prompt("Delete which view? " + views.map((v) => v.name).join(", "));
            if (name) setViews(views.filter((v) => v.name !== name));
          }}>
            Delete a view…
          </button>
        )}
      </div>
      <form class="filter-bar" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select value={status} onChange={(e) => setFilter("status", (e.target as HTMLSelectElement).value)}>
            <option value="open">open (new or in progress)</option>
            <option value="new">new</option>
            <option value="in_progress">in progress</option>
            <option value="closed">closed</option>
            <option value="any">any</option>
          </select>
        </Field>
        <Field label="Level at least">
          <select value={q.min_level} onChange={(e) => setFilter("min_level", (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Since">
          <select value={since} onChange={(e) => setFilter("since", (e.target as HTMLSelectElement).value)}>
            {[...new Set(["-24h", "-7d", "-30d", "-90d", "-365d", since])].map((s) => (
              <option key={s} value={s}>
                {s.startsWith("-") ? s.slice(1) : s + (q.until ? " – " + q.until : "")}
              </option>
            ))}
          </select>
        </Field>
        {(["q", "rule", "assignee", "tag", "entity"] as const).map((k) => (
          <Field key={k} label={{ q: "Title", rule: "Rule", assignee: "Assignee", tag: "Tag", entity: "Entity" }[k]}>
            <input type="search" value={q[k]} size={12} onChange={(e) => setFilter(k, (e.target as HTMLInputElement).value)} />
          </Field>
        ))}
      </form>
      {canWrite && selected.size > 0 && (
        <div class="bulk-bar" role="region" aria-label="Bulk actions">
          <strong>{selected.size} selected</strong>
          <button type="button" class="btn small" disabled={act.busy} onClick={() => bulk({ status: "in_progress", assignee: me })}>
            Take
          </button>
          <button type="button" class="btn small" disabled={act.busy} onClick={() => {
            const who = prompt("Assign to (user name; empty to unassign)");
            if (who !== null) bulk({ assignee: who });
          }}>
            Assign…
          </button>
          <button type="button" class="btn small" disabled={act.busy} onClick={() => setClosing(true)}>
            Close…
          </button>
          <button type="button" class="btn small" disabled={act.busy} onClick={() => {
            const tag = prompt("Tag to add");
            if (tag) bulk({ add_tags: [tag] });
          }}>
            Tag…
          </button>
          <button type="button" class="btn small" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      <ErrorBox error={act.error ?? f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && alerts.length === 0 && <p class="empty">No alert matches.</p>}
      {alerts.length > 0 && (
        <table class="grid alert-queue">
          <caption class="sr-only">Alerts</caption>
          <thead>
            <tr>
              {canWrite && (
                <th>
                  <input type="checkbox" aria-label="Select all" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(alerts.map((a) => a.id)))} />
                </th>
              )}
              <th>Last seen</th>
              <th>Level</th>
              <th>Rule</th>
              <th>Entities</th>
              <th class="num">Events</th>
              <th>Status</th>
              <th>Assignee</th>
              <th>SLA</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a, i) => (
              <tr key={a.id} class={i === focus ? "focused" : undefined} onClick={() => setFocus(i)}>
                {canWrite && (
                  <td>
                    <input type="checkbox" aria-label={"Select alert " + a.id} checked={selected.has(a.id)} onChange={() => setSelected((s) => toggle(s, a.id))} />
                  </td>
                )}
                <td>{fmtEventTime(a.time)}</td>
                <td>
                  <Level level={a.level} />
                </td>
                <td>
                  <a href={"/alerts/" + a.id} onClick={(e) => (e.preventDefault(), navigate("/alerts/" + a.id))}>
                    {a.rule_title}
                  </a>
                </td>
                <td>
                  <AlertEntities a={a} />
                </td>
                <td class="num">{(a.count ?? 1).toLocaleString()}</td>
                <td>{a.status.replace("_", " ") + (a.disposition ? " · " + a.disposition.replace(/_/g, " ") : "")}</td>
                <td>{a.assignee}</td>
                <td>
                  <SlaDue a={a} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {f.data?.next && <p class="muted">Showing the first 500; narrow the filters to see the others.</p>}
      {closing && <CloseDialog ids={[...targets()]} onClose={() => setClosing(false)} onDone={() => (setClosing(false), setSelected(new Set()), f.reload())} />}
      {help && (
        <Modal title="Keyboard shortcuts" onClose={() => setHelp(false)}>
          <dl class="kbd-help">
            <dt><kbd>j</kbd> / <kbd>k</kbd></dt><dd>next / previous alert</dd>
            <dt><kbd>x</kbd></dt><dd>select or unselect</dd>
            <dt><kbd>Enter</kbd> or <kbd>o</kbd></dt><dd>open the alert</dd>
            <dt><kbd>t</kbd></dt><dd>take (in progress, assigned to you) the selected or current alerts</dd>
            <dt><kbd>c</kbd></dt><dd>close the selected or current alerts</dd>
            <dt><kbd>r</kbd></dt><dd>refresh</dd>
          </dl>
          <button type="button" class="btn" onClick={() => setHelp(false)}>
            Close
          </button>
        </Modal>
      )}
    </>
  );
}

function toggle(s: Set<number>, id: number): Set<number> {
  const n = new Set(s);
  if (n.has(id)) n.delete(id);
  else n.add(id);
  return n;
}

export function CloseDialog({ ids, onClose, onDone }: { ids: number[]; onClose: () => void; onDone: () => void }) {
  const [disposition, setDisposition] = useState("false_positive");
  const [reason, setReason] = useState("");
  const act = useAction(onDone);
  const title = ids.length === 1 ? "Close alert " + ids[0] : `Close ${ids.length} alerts`;
  return (
    <Modal title={title} onClose={onClose}>
      <form
        class="modal-form"
        onSubmit={(e) => {
          e.preventDefault();
          act.run(() => apiJSON("/api/v1/alerts/bulk", { method: "POST", body: { ids, patch: { status: "closed", disposition, reason } } }));
        }}
      >
        <Field label="Disposition">
          <select value={disposition} onChange={(e) => setDisposition((e.target as HTMLSelectElement).value)}>
            {DISPOSITIONS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Reason">
          <textarea required rows={3} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <ErrorBox error={act.error} />
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={act.busy || !reason.trim()}>
            Close
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}

