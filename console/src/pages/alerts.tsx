import { apiJSON } from "../lib/api";
import { useFetch, useInterval } from "../lib/hooks";
import { useLocation } from "../lib/router";
import { fmtEventTime } from "../lib/time";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { EntityLink } from "../components/entity-link";
import { entityOf } from "../lib/entities";

export interface Alert {
  id: number;
  kind: string;
  rule_id: string;
  rule_title: string;
  level: string;
  tags: string[] | null;
  time: string;
  created: string;
  event_ids: string[] | null;
  group_by?: Record<string, string>;
  fields?: Record<string, string>;
  status: string;
  count?: number;
  assignee?: string;
}

export const LEVELS = ["critical", "high", "medium", "low", "informational"];

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

export default function Alerts() {
  const loc = useLocation();
  const rule = loc.query.get("rule") ?? undefined;
  const f = useFetch((signal) => apiJSON<{ alerts: Alert[] }>("/api/v1/alerts", { signal, query: { since: "-7d", limit: 1000, rule } }), [rule]);
  useInterval(f.reload, 30_000);
  return (
    <>
      <PageHeader title="Alerts">
        <button type="button" class="btn" onClick={f.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption={"Alerts of the last 7 days" + (rule ? " of rule " + rule : "")}
          rows={f.data.alerts}
          rowKey={(a) => a.id}
          initialSort={{ key: "time", desc: true }}
          empty="No alert in the last 7 days."
          columns={[
            { key: "time", label: "Time", render: (a) => fmtEventTime(a.time) },
            { key: "level", label: "Level", value: (a) => LEVELS.indexOf(a.level), render: (a) => <span class={"badge " + a.level}>{a.level}</span> },
            { key: "rule_title", label: "Rule" },
            { key: "entities", label: "Entities", render: (a) => <AlertEntities a={a} /> },
            { key: "count", label: "Events", num: true, render: (a) => (a.count ?? 1).toLocaleString() },
            { key: "status", label: "Status", render: (a) => a.status.replace("_", " ") },
            { key: "assignee", label: "Assignee" },
          ]}
        />
      )}
    </>
  );
}
