// Notification channels and deliveries: where alerts go, what was sent,
// and the dead-letter list of deliveries that failed every retry.
import { useState } from "preact/hooks";
import { apiJSON } from "../lib/api";
import { useFetch, useInterval } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { fmtEventTime } from "../lib/time";
import { useCan } from "../lib/session";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Modal } from "../components/modal";
import { Field, LEVELS, useAction } from "../components/triage";

interface Channel {
  name: string;
  kind: string;
  target: string;
  defined_at: string;
  console: boolean;
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
  // editing: null (no dialog), "new", or the console channel to change.
  const [editing, setEditing] = useState<Channel | "new" | null>(null);
  return (
    <>
      <PageHeader title="Notifications" />
      <ErrorBox error={act.error ?? ch.error ?? ds.error} />
      {admin && (
        <>
          <div class="section-head">
            <h2>Channels</h2>
            <button type="button" class="btn" onClick={() => setEditing("new")}>
              New channel…
            </button>
          </div>
          {ch.loading && !ch.data && <Loading />}
          {ch.data && (
            <SimpleTable
              caption="Channels"
              rows={ch.data.channels}
              rowKey={(c) => c.name}
              empty="No channel yet: add one here, or under notify: in the configuration file (docs/response.md)."
              columns={[
                { key: "name", label: "Name" },
                { key: "kind", label: "Kind" },
                { key: "defined_at", label: "Defined", render: (c) => (c.console ? "console" : c.defined_at) },
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
                    <span class="row-actions">
                      <button type="button" class="btn small" disabled={act.busy} onClick={() => act.run(() => apiJSON(`/api/v1/notify/channels/${encodeURIComponent(c.name)}/test`, { method: "POST" }))}>
                        Send a test
                      </button>
                      {c.console && (
                        <>
                          <button type="button" class="btn small" onClick={() => setEditing(c)}>
                            Edit…
                          </button>
                          <button
                            type="button"
                            class="btn small"
                            disabled={act.busy}
                            onClick={() => confirm(`Delete the channel ${c.name}? Its pending deliveries will not be sent.`) && act.run(() => apiJSON(`/api/v1/notify/channels/${encodeURIComponent(c.name)}`, { method: "DELETE" }))}
                          >
                            Delete
                          </button>
                        </>
                      )}
                    </span>
                  ),
                },
              ]}
            />
          )}
        </>
      )}
      {editing && <ChannelDialog channel={editing === "new" ? null : editing} onClose={() => setEditing(null)} onDone={() => (setEditing(null), ch.reload())} />}
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

const KINDS: [string, string][] = [
  ["webhook", "Webhook (JSON, signed)"],
  ["slack", "Slack incoming webhook"],
  ["teams", "Microsoft Teams incoming webhook"],
  ["pagerduty", "PagerDuty Events v2"],
  ["email", "E-mail"],
  ["syslog", "Syslog / CEF to another SIEM"],
];

const list = (s: string) =>
  s
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);

// ChannelDialog defines a channel in the console, or changes one (its
// address and secrets are never shown back: left empty, they are kept).
function ChannelDialog({ channel, onClose, onDone }: { channel: Channel | null; onClose: () => void; onDone: () => void }) {
  const [v, setV] = useState<Record<string, string>>({
    name: channel?.name ?? "",
    kind: channel?.kind ?? "webhook",
    url: "",
    secret: "",
    to: "",
    routing_key: "",
    address: "",
    protocol: "udp",
    format: "cef",
    min_level: channel?.min_level ?? "",
    rules: (channel?.rules ?? []).join(", "),
    tags: (channel?.tags ?? []).join(", "),
    schedule: channel && channel.schedule !== "always" ? channel.schedule : "",
    digest: channel?.digest ?? "",
  });
  const act = useAction(onDone);
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value });
  const input = (k: string, props: Record<string, unknown> = {}) => <input name={k} value={v[k]} onInput={set(k)} {...props} />;
  const kept = channel ? "leave empty to keep the current one" : undefined;
  const submit = () => {
    const body: Record<string, unknown> = { kind: v.kind, min_level: v.min_level, rules: list(v.rules), tags: list(v.tags), schedule: v.schedule, digest: v.digest };
    if (!channel) body.name = v.name;
    if (["webhook", "slack", "teams", "pagerduty"].includes(v.kind) && v.url) body.url = v.url;
    if (v.kind === "webhook" && v.secret) body.secret = v.secret;
    if (v.kind === "pagerduty" && v.routing_key) body.routing_key = v.routing_key;
    if (v.kind === "email") body.to = list(v.to);
    if (v.kind === "syslog") Object.assign(body, { address: v.address, protocol: v.protocol, format: v.format });
    return channel
      ? apiJSON(`/api/v1/notify/channels/${encodeURIComponent(channel.name)}`, { method: "PUT", body })
      : apiJSON("/api/v1/notify/channels", { method: "POST", body });
  };
  return (
    <Modal title={channel ? "Channel " + channel.name : "New notification channel"} onClose={onClose}>
      <form
        class="modal-form channel-form"
        onSubmit={(e) => {
          e.preventDefault();
          act.run(submit);
        }}
      >
        {!channel && <Field label="Name">{input("name", { required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]*", maxLength: 64 })}</Field>}
        <Field label="Kind">
          <select name="kind" value={v.kind} onChange={set("kind")} disabled={!!channel}>
            {KINDS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        {["webhook", "slack", "teams", "pagerduty"].includes(v.kind) && (
          <Field label={v.kind === "pagerduty" ? "Events API address (optional)" : "URL"} hint={kept}>
            {input("url", { type: "url", required: !channel && v.kind !== "pagerduty", placeholder: "https://" })}
          </Field>
        )}
        {v.kind === "webhook" && (
          <Field label="Signing secret (HMAC-SHA256)" hint={kept ?? "receivers check X-Vigil-Signature with it"}>
            {input("secret", { type: "password", autocomplete: "new-password" })}
          </Field>
        )}
        {v.kind === "pagerduty" && (
          <Field label="Integration (routing) key" hint={kept}>
            {input("routing_key", { type: "password", required: !channel, autocomplete: "off" })}
          </Field>
        )}
        {v.kind === "email" && <Field label="Recipients (comma-separated)">{input("to", { required: true, placeholder: "soc@example.org" })}</Field>}
        {v.kind === "syslog" && (
          <>
            <Field label="Address (host:port)">{input("address", { required: true, placeholder: "siem.example.org:514" })}</Field>
            <Field label="Protocol">
              <select name="protocol" value={v.protocol} onChange={set("protocol")}>
                <option value="udp">UDP</option>
                <option value="tcp">TCP</option>
                <option value="tls">TLS</option>
              </select>
            </Field>
            <Field label="Format">
              <select name="format" value={v.format} onChange={set("format")}>
                <option value="cef">CEF</option>
                <option value="json">JSON</option>
              </select>
            </Field>
          </>
        )}
        <Field label="Level at least">
          <select name="min_level" value={v.min_level} onChange={set("min_level")}>
            <option value="">any</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Rules (ids or names, * for any; comma-separated)">{input("rules", { placeholder: "every rule" })}</Field>
        <Field label="Tags (comma-separated)">{input("tags", { placeholder: "any tag" })}</Field>
        <Field label="Schedule" hint="e.g. mon-fri 08:00-18:00 or 18:00-08:00; empty: always">
          {input("schedule")}
        </Field>
        <Field label="Digest" hint="e.g. 1h: one message per hour instead of one per alert">
          {input("digest")}
        </Field>
        <ErrorBox error={act.error} />
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={act.busy}>
            {channel ? "Save" : "Add channel"}
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
