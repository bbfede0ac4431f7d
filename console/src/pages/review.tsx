// Rule review: alerts per rule by disposition, false-positive rate and
// times to acknowledge and close; the noisiest rules first.
import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Field, duration } from "../components/triage";

interface RuleStats {
  rule_id: string;
  rule_title: string;
  alerts: number;
  open: number;
  closed: number;
  events: number;
  by_disposition: Record<string, number>;
  false_positive_rate: number;
  mean_acknowledge_seconds: number;
  median_acknowledge_seconds: number;
  mean_close_seconds: number;
  median_close_seconds: number;
  sla_breaches: number;
}

export default function Review() {
  const loc = useLocation();
  const since = loc.query.get("since") ?? "-30d";
  const f = useFetch((signal) => apiJSON<{ rules: RuleStats[]; total: RuleStats }>("/api/v1/alerts/stats", { signal, query: { since } }), [since]);
  return (
    <>
      <PageHeader title="Rule review" />
      <form class="filter-bar" onSubmit={(e) => e.preventDefault()}>
        <Field label="Raised in the last">
          <select value={since} onChange={(e) => navigate(withQuery("/review", { since: (e.target as HTMLSelectElement).value }))}>
            {["-7d", "-30d", "-90d", "-365d"].map((s) => (
              <option key={s} value={s}>
                {s.slice(1)}
              </option>
            ))}
          </select>
        </Field>
      </form>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <>
          <p>
            {f.data.total.alerts.toLocaleString()} alerts, {f.data.total.closed.toLocaleString()} closed, false-positive rate{" "}
            {(100 * f.data.total.false_positive_rate).toFixed(0)}%, {f.data.total.sla_breaches} past their SLA.
          </p>
          <SimpleTable
            caption="Alerts per rule"
            rows={f.data.rules}
            rowKey={(r) => r.rule_id}
            initialSort={{ key: "alerts", desc: true }}
            empty="No alert in this period."
            columns={[
              { key: "rule_title", label: "Rule", render: (r) => <a href={"/alerts?status=any&rule=" + encodeURIComponent(r.rule_id) + "&since=" + since}>{r.rule_title}</a> },
              { key: "alerts", label: "Alerts", num: true },
              { key: "open", label: "Open", num: true },
              { key: "tp", label: "True pos.", num: true, value: (r) => r.by_disposition.true_positive ?? 0 },
              { key: "btp", label: "Benign", num: true, value: (r) => r.by_disposition.benign_true_positive ?? 0 },
              { key: "fp", label: "False pos.", num: true, value: (r) => r.by_disposition.false_positive ?? 0 },
              { key: "false_positive_rate", label: "FP rate", num: true, render: (r) => (r.closed ? (100 * r.false_positive_rate).toFixed(0) + "%" : "") },
              { key: "median_acknowledge_seconds", label: "To acknowledge (median)", num: true, render: (r) => duration(r.median_acknowledge_seconds || undefined) },
              { key: "median_close_seconds", label: "To close (median)", num: true, render: (r) => duration(r.median_close_seconds || undefined) },
              { key: "sla_breaches", label: "Past SLA", num: true },
            ]}
          />
        </>
      )}
    </>
  );
}
