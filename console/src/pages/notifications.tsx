// Notification channels and deliveries: where alerts go, what was sent,
// and the dead-letter list of deliveries that failed every retry.
import { apiJSON } from "../lib/api";
import { useFetch, useInterval } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { fmtEventTime } from "../lib/time";
import { useCan } from "../lib/session";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Field, useAction } from "../components/triage";

interface Channel {
  name: string;
  kind: string;
  target: string;
  defined_at: string;
  min_level?: string;
  rules?: string[];
  tags?: string[];
  schedule: string;
  digest?: string;
  deliveries: Record<string, number>;
}

interface Delivery {
  id: number;
  channel: string;
  alert_id: number;
  status: string;
  attempts: number;
  next_attempt?: string;
  created: string;
  sent?: string;
  last_error?: string;
  digest: boolean;
}

export default function Notifications() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "";
  const admin = useCan("notify:admin");
  const ch = useFetch((signal) => (admin ? apiJSON<{ channels: Channel[] }>("/api/v1/notify/channels", { signal }) : Promise.resolve({ channels: [] })), [admin]);
  const ds = useFetch((signal) => apiJSON<{ deliveries: Delivery[] }>("/api/v1/notify/deliveries", { signal, query: { status, limit: 500 } }), [status]);
  useInterval(ds.reload, 15_000);
  const act = useAction(() => (ds.reload(), ch.reload()));
  return (
    <>
      <PageHeader title="Notifications" />
      <ErrorBox error={act.error ?? ch.error ?? ds.error} />
      {admin && (
        <>
          <h2>Channels</h2>
          {ch.loading && !ch.data && <Loading />}
          {ch.data && (
            <SimpleTable
              caption="Channels"
              rows={ch.data.channels}
              rowKey={(c) => c.name}
              empty="No channel is configured (notify: in the configuration file; docs/response.md)."
              columns={[
                { key: "name", label: "Name" },
                { key: "kind", label: "Kind" },
                { key: "target", label: "Sends to" },
                { key: "route", label: "Takes", render: (c) => [c.min_level && c.min_level + "+", ...(c.rules ?? []), ...(c.tags ?? [])].filter(Boolean).join(", ") || "every alert" },
                { key: "schedule", label: "When", render: (c) => c.schedule + (c.digest ? " · digest " + c.digest : "") },
                { key: "sent", label: "Sent", num: true, value: (c) => c.deliveries.sent ?? 0 },
                { key: "pending", label: "Pending", num: true, value: (c) => c.deliveries.pending ?? 0 },
                { key: "dead", label: "Dead", num: true, render: (c) => (c.deliveries.dead ? <span class="badge bad">{c.deliveries.dead}</span> : "0") },
                {
                  key: "test",
                  label: "",
                  render: (c) => (
                    <button type="button" class="btn small" disabled={act.busy} onClick={() => act.run(() => apiJSON(`/api/v1/notify/channels/${encodeURIComponent(c.name)}/test`, { method: "POST" }))}>
                      Send a test
                    </button>
                  ),
                },
              ]}
            />
          )}
        </>
      )}
      <h2>Deliveries</h2>
      <form class="filter-bar" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select value={status} onChange={(e) => navigate(withQuery("/notifications", { status: (e.target as HTMLSelectElement).value }))}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="sent">sent</option>
            <option value="dead">dead (gave up)</option>
          </select>
        </Field>
      </form>
      {ds.loading && !ds.data && <Loading />}
      {ds.data && (
        <SimpleTable
          caption="Deliveries"
          rows={ds.data.deliveries}
          rowKey={(d) => d.id}
          empty="No delivery."
          columns={[
            { key: "created", label: "Queued", render: (d) => fmtEventTime(d.created) },
            { key: "channel", label: "Channel" },
            { key: "alert_id", label: "Alert", render: (d) => <a href={"/alerts/" + d.alert_id}>{d.alert_id}</a> },
            { key: "status", label: "Status", render: (d) => <span class={"badge " + (d.status === "sent" ? "ok" : d.status === "dead" ? "bad" : "warn")}>{d.status}</span> },
            { key: "attempts", label: "Tries", num: true },
            { key: "last_error", label: "Last error" },
            {
              key: "retry",
              label: "",
              render: (d) =>
                admin && d.status === "dead" ? (
                  <button type="button" class="btn small" onClick={() => act.run(() => apiJSON(`/api/v1/notify/deliveries/${d.id}/retry`, { method: "POST" }))}>
                    Retry
                  </button>
                ) : null,
            },
          ]}
        />
      )}
    </>
  );
}
