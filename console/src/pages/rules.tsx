// Rules: every loaded rule with its level, whether it is on, how many
// alerts it raised lately; turn one off or on (with a reason, audited);
// read its YAML; the rules that failed to load and why.
import { useMemo, useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { useCan } from "../lib/session";
import { fmtTime } from "../lib/time";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { Modal } from "../components/modal";
import { Link } from "../components/link";
import { LEVELS, type Alert } from "./alerts";

export interface RuleInfo {
  id: string;
  title: string;
  level: string;
  status?: string;
  tags?: string[];
  file: string;
  alerts: boolean;
  routed: boolean;
  enabled?: boolean;
  changed_by?: string;
  changed_at?: string;
  reason?: string;
}

interface RulesResp {
  rules: number;
  correlations: number;
  rejected_count: number;
  rejected: { file: string; line: number; id?: string; reason: string }[];
  list: RuleInfo[];
}

const SHOWN = 300;

export default function Rules() {
  const f = useFetch((signal) => apiJSON<RulesResp>("/api/v1/rules", { signal }), []);
  const hits = useFetch(
    (signal) =>
      apiJSON<{ alerts: Alert[] }>("/api/v1/alerts", { signal, query: { since: "-7d", limit: 10000 } }).then((r) => {
        const m = new Map<string, number>();
        for (const a of r.alerts) m.set(a.rule_id, (m.get(a.rule_id) ?? 0) + 1);
        return m;
      }),
    [],
  );
  const canWrite = useCan("rules:write");
  const [filter, setFilter] = useState("");
  const [level, setLevel] = useState("");
  const [state, setState] = useState("");
  const [yaml, setYaml] = useState<RuleInfo | null>(null);
  const [toggling, setToggling] = useState<RuleInfo | null>(null);
  const rows = useMemo(() => {
    const fl = filter.trim().toLowerCase();
    return (f.data?.list ?? []).filter(
      (r) =>
        (!fl || r.title.toLowerCase().includes(fl) || r.id.toLowerCase().includes(fl) || (r.tags ?? []).some((t) => t.includes(fl))) &&
        (!level || r.level === level) &&
        (!state || (state === "off" ? r.enabled === false : r.enabled !== false)),
    );
  }, [f.data, filter, level, state]);
  return (
    <>
      <PageHeader title="Rules" />
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <>
          <p class="muted">
            {f.data.rules.toLocaleString()} rules loaded, {f.data.correlations} correlations, {f.data.rejected_count} rejected
            {f.data.rejected_count > 0 && (
              <>
                {" "}
                (<a href="#rejected">why</a>)
              </>
            )}
            .
          </p>
          <div class="filter-bar">
            <label>
              Find
              <input type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="title, id or tag (attack.t1110)" />
            </label>
            <label>
              Level
              <select value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
                <option value="">any</option>
                {LEVELS.map((l) => (
                  <option key={l}>{l}</option>
                ))}
              </select>
            </label>
            <label>
              State
              <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
                <option value="">on and off</option>
                <option value="on">on</option>
                <option value="off">off</option>
              </select>
            </label>
          </div>
          {rows.length > SHOWN && (
            <p class="hint">
              {rows.length.toLocaleString()} rules match; the first {SHOWN} are shown. Narrow the search.
            </p>
          )}
          <SimpleTable
            caption="Rules"
            rows={rows.slice(0, SHOWN)}
            rowKey={(r) => r.id + r.file}
            initialSort={{ key: "hits", desc: true }}
            empty="No rule matches."
            columns={[
              { key: "title", label: "Title", render: (r) => <span title={r.id}>{r.title}</span> },
              { key: "level", label: "Level", value: (r) => LEVELS.indexOf(r.level), render: (r) => <span class={"badge " + r.level}>{r.level}</span> },
              {
                key: "enabled",
                label: "State",
                value: (r) => (r.enabled === false ? 0 : 1),
                render: (r) =>
                  r.enabled === false ? (
                    <span class="badge bad" title={`${r.changed_by ?? ""} ${r.changed_at ? fmtTime(Date.parse(r.changed_at)) : ""}: ${r.reason ?? ""}`}>
                      off
                    </span>
                  ) : !r.alerts ? (
                    <span class="badge medium" title="Feeds a correlation; raises no alert of its own">
                      in correlation
                    </span>
                  ) : (
                    <span class="badge ok">on</span>
                  ),
              },
              {
                key: "hits",
                label: "Alerts, 7 days",
                num: true,
                value: (r) => hits.data?.get(r.id) ?? 0,
                render: (r) => {
                  const n = hits.data?.get(r.id) ?? 0;
                  return n ? <Link href={"/alerts?rule=" + encodeURIComponent(r.id)}>{n.toLocaleString()}</Link> : "0";
                },
              },
              { key: "file", label: "File", render: (r) => <code class="small">{r.file.split("/").slice(-2).join("/")}</code> },
              {
                key: "actions",
                label: "Actions",
                render: (r) => (
                  <div class="row-actions">
                    <button type="button" class="btn small" onClick={() => setYaml(r)}>
                      YAML
                    </button>
                    {canWrite && (
                      <button type="button" class="btn small" onClick={() => setToggling(r)}>
                        {r.enabled === false ? "Turn on" : "Turn off"}
                      </button>
                    )}
                  </div>
                ),
              },
            ]}
          />
          {f.data.rejected.length > 0 && (
            <section id="rejected" aria-labelledby="rejected-title">
              <h2 id="rejected-title">Rejected rules</h2>
              <SimpleTable
                caption="Rejected rules"
                rows={f.data.rejected}
                rowKey={(r) => r.file + ":" + r.line + (r.id ?? "")}
                columns={[
                  { key: "file", label: "Where", render: (r) => <code class="small">{r.file + ":" + r.line}</code> },
                  { key: "reason", label: "Why" },
                ]}
              />
            </section>
          )}
        </>
      )}
      {yaml && <RuleYAML rule={yaml} onClose={() => setYaml(null)} />}
      {toggling && <Toggle rule={toggling} onClose={() => setToggling(null)} onDone={() => (setToggling(null), f.reload())} />}
    </>
  );
}

function RuleYAML({ rule, onClose }: { rule: RuleInfo; onClose: () => void }) {
  const f = useFetch((signal) => apiJSON<{ file: string; yaml: string }>("/api/v1/rules/" + encodeURIComponent(rule.id) + "/source", { signal }), [rule.id]);
  return (
    <Modal title={rule.title} onClose={onClose}>
      <p class="hint">
        <code>{f.data?.file ?? rule.file}</code>
      </p>
      <ErrorBox error={f.error} />
      {f.loading && <Loading />}
      {f.data && <pre class="json mono rule-yaml">{f.data.yaml}</pre>}
      <div class="row-actions">
        <button type="button" class="btn" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </Modal>
  );
}

function Toggle({ rule, onClose, onDone }: { rule: RuleInfo; onClose: () => void; onDone: () => void }) {
  const on = rule.enabled === false;
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await apiJSON("/api/v1/rules/" + encodeURIComponent(rule.id) + (on ? "/enable" : "/disable"), { method: "POST", body: { reason } });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Modal title={(on ? "Turn on: " : "Turn off: ") + rule.title} onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <p class="muted">
          {on
            ? "The rule raises alerts again from now on."
            : "The rule stops raising alerts at once (a correlation built on it still counts its matches). The change and your reason are recorded in the audit trail."}
        </p>
        <label>
          Reason
          <textarea required={!on} maxLength={500} rows={3} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} autoFocus />
        </label>
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary">
            {on ? "Turn on" : "Turn off"}
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
