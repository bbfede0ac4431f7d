// Users: local accounts and those signed in through SSO, their roles,
// second factor and lock-out; create, disable, reset, delete.
import { useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { fmtTime } from "../lib/time";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { Modal, Secret } from "../components/modal";
import { RolePicker } from "../components/role-picker";
import { useSessionCtx } from "../lib/session";

interface User {
  id: number;
  name: string;
  display_name?: string;
  email?: string;
  roles: string[];
  source: string;
  disabled: boolean;
  must_change_password: boolean;
  totp_enabled: boolean;
  mfa_required: boolean;
  locked?: boolean;
  last_login_at?: string;
}

export default function Users() {
  const f = useFetch((signal) => apiJSON<{ users: User[] }>("/api/v1/users", { signal }), []);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [secret, setSecret] = useState<{ user: string; password: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const me = useSessionCtx().principal;
  const act = async (u: User, action: string, confirmText?: string) => {
    if (confirmText && !confirm(confirmText)) return;
    setError(null);
    try {
      const r = await apiJSON<{ one_time_password?: string }>(
        "/api/v1/users/" + encodeURIComponent(u.name) + (action === "delete" ? "" : "/" + action),
        { method: action === "delete" ? "DELETE" : "POST", body: action === "delete" ? undefined : {} },
      );
      if (r?.one_time_password) setSecret({ user: u.name, password: r.one_time_password });
      f.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <PageHeader title="Users">
        <button type="button" class="btn primary" onClick={() => setCreating(true)}>
          Add user
        </button>
      </PageHeader>
      <ErrorBox error={error ?? f.error} onRetry={f.reload} />
      {secret && (
        <div class="card">
          <Secret label={`One-time password for ${secret.user}`} value={secret.password} />
          <p class="hint">They must choose their own password at first sign-in.</p>
          <button type="button" class="btn small" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="Users"
          rows={f.data.users}
          rowKey={(u) => u.id}
          initialSort={{ key: "name" }}
          columns={[
            { key: "name", label: "User", render: (u) => <span title={u.email}>{u.name}{u.display_name ? <span class="muted"> · {u.display_name}</span> : null}</span> },
            { key: "roles", label: "Roles", value: (u) => u.roles.join(","), render: (u) => u.roles.join(", ") },
            { key: "source", label: "Sign-in", render: (u) => (u.source === "oidc" ? "SSO" : "password") },
            {
              key: "state",
              label: "State",
              value: (u) => (u.disabled ? 0 : u.locked ? 1 : 2),
              render: (u) => (
                <>
                  {u.disabled && <span class="badge bad">disabled</span>} {u.locked && <span class="badge warn">locked</span>}{" "}
                  {u.must_change_password && <span class="badge medium">must change password</span>}{" "}
                  {!u.disabled && !u.locked && !u.must_change_password && <span class="badge ok">active</span>}
                </>
              ),
            },
            { key: "totp_enabled", label: "Second factor", render: (u) => (u.totp_enabled ? "enrolled" : u.mfa_required ? <span class="warn-text">required, not enrolled</span> : "none") },
            { key: "last_login_at", label: "Last sign-in", render: (u) => (u.last_login_at ? fmtTime(Date.parse(u.last_login_at)) : "never") },
            {
              key: "actions",
              label: "Actions",
              render: (u) => (
                <div class="row-actions wrap">
                  <button type="button" class="btn small" onClick={() => setEditing(u)}>
                    Roles
                  </button>
                  {u.disabled ? (
                    <button type="button" class="btn small" onClick={() => act(u, "enable")}>
                      Enable
                    </button>
                  ) : (
                    <button type="button" class="btn small" disabled={u.name === me.name} onClick={() => act(u, "disable", `Disable ${u.name}? Their sessions end now.`)}>
                      Disable
                    </button>
                  )}
                  {u.locked && (
                    <button type="button" class="btn small" onClick={() => act(u, "unlock")}>
                      Unlock
                    </button>
                  )}
                  {u.source !== "oidc" && (
                    <button type="button" class="btn small" onClick={() => act(u, "reset-password", `Reset ${u.name}'s password? They get a one-time password.`)}>
                      Reset password
                    </button>
                  )}
                  {u.totp_enabled && (
                    <button type="button" class="btn small" onClick={() => act(u, "reset-mfa", `Remove ${u.name}'s second factor? They enrol again at next sign-in.`)}>
                      Reset 2FA
                    </button>
                  )}
                  <button
                    type="button"
                    class="btn small danger"
                    disabled={u.name === me.name}
                    onClick={() => act(u, "delete", `Delete ${u.name}? Their audit history is kept.`)}
                  >
                    Delete
                  </button>
                </div>
              ),
            },
          ]}
        />
      )}
      {creating && <CreateUser onClose={() => setCreating(false)} onCreated={(u, pw) => (setCreating(false), setSecret({ user: u, password: pw }), f.reload())} />}
      {editing && <EditRoles user={editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), f.reload())} />}
    </>
  );
}

function CreateUser({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string, pw: string) => void }) {
  const [name, setName] = useState("");
  const [display, setDisplay] = useState("");
  const [email, setEmail] = useState("");
  const [roles, setRoles] = useState<string[]>(["analyst"]);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await apiJSON<{ one_time_password: string }>("/api/v1/users", { method: "POST", body: { name: name.trim(), display_name: display, email, roles } });
      onCreated(name.trim(), r.one_time_password);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Modal title="Add a user" onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <label>
          User name
          <input name="name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} autoFocus />
        </label>
        <label>
          Display name
          <input value={display} onInput={(e) => setDisplay((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          E-mail
          <input type="email" value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <RolePicker roles={roles} onChange={setRoles} />
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

function EditRoles({ user, onClose, onSaved }: { user: User; onClose: () => void; onSaved: () => void }) {
  const [roles, setRoles] = useState(user.roles);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await apiJSON("/api/v1/users/" + encodeURIComponent(user.name) + "/roles", { method: "PUT", body: { roles } });
      onSaved();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Modal title={`Roles of ${user.name}`} onClose={onClose}>
      <form class="modal-form" onSubmit={submit}>
        <RolePicker roles={roles} onChange={setRoles} />
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary">
            Save
          </button>
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
