// Roles: what each role may do — the permission matrix the server
// enforces on every request (GET /api/v1/roles), with how many users hold
// each role and which roles must use a second factor.
import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { useRoles } from "../lib/roles";
import { useCan } from "../lib/session";
import { Link } from "../components/link";
import { ErrorBox, Loading, PageHeader } from "../components/status";

export default function Roles() {
  const f = useRoles();
  const canUsers = useCan("users:admin");
  const users = useFetch(
    (signal) => (canUsers ? apiJSON<{ users: { roles: string[]; disabled: boolean }[] }>("/api/v1/users", { signal }) : Promise.resolve(null)),
    [canUsers],
  );
  const holders = (role: string) => users.data?.users.filter((u) => !u.disabled && u.roles.includes(role)).length;
  const m = f.data;
  return (
    <>
      <PageHeader title="Roles" />
      <p class="muted">
        A user or an API token holds one or more roles and may do what any of them allows. The API enforces this table on every
        request; the console only hides what a role may not use. Assign roles on the <Link href="/admin/users">Users</Link> and{" "}
        <Link href="/admin/tokens">API tokens</Link> pages.
      </p>
      <ErrorBox error={f.error ?? users.error} onRetry={f.error ? f.reload : users.reload} />
      {!m && !f.error && <Loading />}
      {m && (
        <>
          <dl class="role-list">
            {m.roles.map((r) => (
              <div key={r.name}>
                <dt>
                  {r.name}
                  {r.mfa_required && <span class="badge medium">second factor required</span>}
                </dt>
                <dd>
                  {r.description}
                  {holders(r.name) !== undefined && (
                    <span class="muted">
                      {" "}
                      · {holders(r.name)} active user{holders(r.name) === 1 ? "" : "s"}
                    </span>
                  )}
                </dd>
              </div>
            ))}
          </dl>
          <div class="scroll-box tall">
            <table class="grid matrix">
              <caption class="sr-only">Permissions granted by each role</caption>
              <thead>
                <tr>
                  <th scope="col">Permission</th>
                  {m.roles.map((r) => (
                    <th scope="col" class="center" key={r.name}>
                      {r.name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {m.permissions.map((p) => (
                  <tr key={p.name}>
                    <th scope="row">
                      <code>{p.name}</code>
                      <span class="hint perm-desc">{p.description}</span>
                    </th>
                    {m.roles.map((r) => (
                      <td key={r.name} class="center">
                        {r.permissions.includes(p.name) ? (
                          <span class="yes" role="img" aria-label={`${r.name}: yes`}>
                            ✓
                          </span>
                        ) : (
                          <span class="muted" role="img" aria-label={`${r.name}: no`}>
                            –
                          </span>
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
