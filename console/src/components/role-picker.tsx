// RolePicker: check boxes for the roles a user holds, each with what it is
// for, from the server's role table.
import { useRoles } from "../lib/roles";
import { ErrorBox, Loading } from "./status";

export function RolePicker({ roles, onChange }: { roles: string[]; onChange: (r: string[]) => void }) {
  const f = useRoles();
  return (
    <fieldset class="role-picker">
      <legend>Roles</legend>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {!f.data && !f.error && <Loading />}
      {f.data?.roles.map((r) => (
        <label class="inline role-choice" key={r.name}>
          <input
            type="checkbox"
            checked={roles.includes(r.name)}
            onChange={(e) => onChange((e.target as HTMLInputElement).checked ? [...roles, r.name] : roles.filter((x) => x !== r.name))}
          />
          <span>
            {r.name}
            <span class="hint"> {r.description}</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}
