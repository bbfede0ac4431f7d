// Configuration: every setting in effect, changed ones first, secrets
// redacted; the single sign-on settings on their own.
import { useMemo, useState } from "preact/hooks";
import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { useLocation } from "../lib/router";

interface Setting {
  key: string;
  value: string;
  default: string;
  help: string;
  changed: boolean;
  secret?: boolean;
}

export default function Config() {
  const loc = useLocation();
  const sso = loc.path.endsWith("/sso");
  const f = useFetch((signal) => apiJSON<{ settings: Setting[] }>("/api/v1/config", { signal }), []);
  const [filter, setFilter] = useState("");
  const [changedOnly, setChangedOnly] = useState(false);
  const rows = useMemo(() => {
    const fl = filter.toLowerCase();
    return (f.data?.settings ?? []).filter(
      (s) => (!sso || /^auth\.oidc\./.test(s.key)) && (!changedOnly || s.changed) && (!fl || s.key.includes(fl) || s.help.toLowerCase().includes(fl)),
    );
  }, [f.data, filter, changedOnly, sso]);
  return (
    <>
      <PageHeader title={sso ? "Single sign-on" : "Configuration"} />
      <p class="muted">
        {sso
          ? "The OpenID Connect provider and how its groups map to Vigil's roles. Set in the configuration file, flags or VIGIL_* variables (docs/access.md)."
          : "The settings in effect, from the configuration file, flags and VIGIL_* variables. Secrets show only whether they are set."}
      </p>
      {!sso && (
        <div class="filter-bar">
          <label>
            Filter
            <input type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="key or words" />
          </label>
          <label class="inline">
            <input type="checkbox" checked={changedOnly} onChange={(e) => setChangedOnly((e.target as HTMLInputElement).checked)} />
            Changed from the default only
          </label>
        </div>
      )}
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="Settings"
          rows={rows}
          rowKey={(s) => s.key}
          empty={sso ? "Single sign-on is not configured in this version." : "No setting matches."}
          columns={[
            { key: "key", label: "Setting", render: (s) => <code>{s.key}</code> },
            { key: "value", label: "Value", render: (s) => (s.secret ? <span class="muted">{s.value || "(not set)"}</span> : <code class={s.changed ? "changed" : undefined}>{s.value || '""'}</code>) },
            { key: "default", label: "Default", render: (s) => <code class="muted">{s.default || '""'}</code> },
            { key: "help", label: "Meaning" },
          ]}
        />
      )}
    </>
  );
}
