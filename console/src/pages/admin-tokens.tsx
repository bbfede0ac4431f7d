// API tokens: for shippers, scripts and scrapers; each with roles, an
// optional expiry and its last use; shown once at creation; revocable.
import { useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { ago, fmtTime } from "../lib/time";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { Modal, Secret } from "../components/modal";
import { useRoles } from "../lib/roles";

interface Token {
  id: number;
  name: string;
  prefix: string;
  roles: string[];
  source: string;
  created_at: string;
  created_by: string;
  expires_at?: string;
  last_used_at?: string;
  revoked_at?: string;
}

export default function Tokens() {
  const [showRevoked, setShowRevoked] = useState(false);
  const f = useFetch((signal) => apiJSON<{ tokens: Token[] }>("/api/v1/tokens", { signal, query: { revoked: showRevoked ? "true" : undefined } }), [showRevoked]);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const revoke = async (t: Token) => {
    if (!confirm(`Revoke the token "${t.name}"? Whatever uses it is refused from now on.`)) return;
    try {
      await apiJSON("/api/v1/tokens/" + encodeURIComponent(t.name), { method: "DELETE" });
      f.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <PageHeader title="API tokens">
        <label class="inline">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked((e.target as HTMLInputElement).checked)} />
          Show revoked
        </label>
        <button type="button" class="btn primary" onClick={() => setCreating(true)}>
          Create token
        </button>
      </PageHeader>
      <ErrorBox error={error ?? f.error} onRetry={f.reload} />
      {secret && (
        <div class="card">
          <Secret label={`Token "${secret.name}"`} value={secret.secret} />
          <button type="button" class="btn small" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="API tokens"
          rows={f.data.tokens}
          rowKey={(t) => t.id}
          initialSort={{ key: "name" }}
          columns={[
            { key: "name", label: "Name" },
            { key: "prefix", label: "Starts with", render: (t) => <code>{t.prefix}…</code> },
            { key: "roles", label: "Roles", value: (t) => t.roles.join(","), render: (t) => t.roles.join(", ") },
            { key: "source", label: "Origin" },
            { key: "created_at", label: "Created", render: (t) => fmtTime(Date.parse(t.created_at)) + (t.created_by ? " by " + t.created_by : "") },
            { key: "expires_at", label: "Expires", render: (t) => (t.expires_at ? fmtTime(Date.parse(t.expires_at)) : "never") },
            { key: "last_used_at", label: "Last used", render: (t) => ago(t.last_used_at) },
            {
              key: "actions",
              label: "Actions",
              render: (t) =>
                t.revoked_at ? (
                  <span class="badge bad">revoked</span>
                ) : (
                  <button type="button" class="btn small danger" onClick={() => revoke(t)}>
                    Revoke
                  </button>
                ),
            },
          ]}
        />
      )}
      {creating && <CreateToken onClose={() => setCreating(false)} onCreated={(name, s) => (setCreating(false), setSecret({ name, secret: s }), f.reload())} />}
    </>
  );
}

function CreateToken({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string, secret: string) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState("ingest");
  const [expires, setExpires] = useState("90d");
  const [error, setError] = useState<string | null>(null);
  const roles = useRoles();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await apiJSON<{ secret: string }>("/api/v1/tokens", { method: "POST", body: { name: name.trim(), roles: [role], expires: expires || undefined } });
      onCreated(name.trim(), r.secret);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Modal title="Create an API token" onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <label>
          Name
          <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} autoFocus placeholder="winlogbeat-dc01" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {(roles.data?.roles.map((r) => r.name) ?? [role]).map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Expires after
          <select value={expires} onChange={(e) => setExpires((e.target as HTMLSelectElement).value)}>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
            <option value="365d">a year</option>
            <option value="">never</option>
          </select>
        </label>
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary">
            Create
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
