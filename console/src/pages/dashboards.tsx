import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { Link } from "../components/link";

interface Summary {
  id: string;
  title: string;
  description?: string;
  panels: number;
  builtin: boolean;
  owner?: string;
  shared: boolean;
  mine: boolean;
}

export default function Dashboards() {
  const f = useFetch((signal) => apiJSON<{ dashboards: Summary[] }>("/api/v1/dashboards", { signal }), []);
  return (
    <>
      <PageHeader title="Dashboards">
        <Link class="btn primary" href="/dashboards/new">
          New dashboard
        </Link>
      </PageHeader>
      <p class="muted">
        Dashboards are data: the built-in ones ship in the binary as YAML; yours are the same YAML, written here (or copied from any
        dashboard with its <strong>Copy</strong> button) and kept by Vigil, private or shared. Every panel shows the query it runs.
      </p>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      <ul class="dash-list">
        {f.data?.dashboards.map((d) => (
          <li key={d.id} class="card">
            <h2>
              <Link href={"/dashboards/" + d.id}>{d.title}</Link>
            </h2>
            {d.description && <p>{d.description}</p>}
            <p class="hint">
              {d.panels} panels · {d.builtin ? "built in" : d.mine ? (d.shared ? "yours, shared" : "yours") : "shared by " + (d.owner || "an API token")}
            </p>
          </li>
        ))}
      </ul>
    </>
  );
}
