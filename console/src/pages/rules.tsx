import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { SimpleTable } from "../components/table";
import { ErrorBox, Loading, PageHeader } from "../components/status";

export interface RuleInfo {
  id: string;
  title: string;
  level: string;
  status?: string;
  tags?: string[];
  file: string;
  alerts: boolean;
  routed: boolean;
}

interface RulesResp {
  rules: number;
  correlations: number;
  rejected_count: number;
  rejected: { file: string; line: number; id?: string; reason: string }[];
  list: RuleInfo[];
}

export default function Rules() {
  const f = useFetch((signal) => apiJSON<RulesResp>("/api/v1/rules", { signal }), []);
  return (
    <>
      <PageHeader title="Rules" />
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <>
          <p class="muted">
            {f.data.rules.toLocaleString()} rules loaded, {f.data.correlations} correlations, {f.data.rejected_count} rejected.
          </p>
          <SimpleTable
            caption="Rules"
            rows={f.data.list}
            rowKey={(r) => r.id + r.file}
            initialSort={{ key: "title" }}
            columns={[
              { key: "title", label: "Title" },
              { key: "level", label: "Level", render: (r) => <span class={"badge " + r.level}>{r.level}</span> },
              { key: "status", label: "Status" },
              { key: "file", label: "File", render: (r) => <code>{r.file}</code> },
            ]}
          />
        </>
      )}
    </>
  );
}
