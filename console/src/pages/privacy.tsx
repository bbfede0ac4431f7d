// Privacy overview: how the accesses to patient records in a period were
// explained, why and where the unexplained ones remain (the ones the
// privacy rules judge), and the privacy alerts per rule with links to
// them. Everything comes from the public API: the summary report
// (GET /api/v1/privacy/reports/summary), the privacy rules and the alerts
// of kind privacy.
import { apiDownload, apiJSON, errorMessage } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { useCan } from "../lib/session";
import { withQuery } from "../lib/router";
import { searchHref } from "../lib/searchurl";
import { exactFilter } from "../lib/logsql";
import { fmtTime, iso, resolve } from "../lib/time";
import { stepFor } from "../lib/step";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { BarList, TimeChart } from "../components/chart";
import { Link } from "../components/link";
import { Facts, Level, useAction } from "../components/triage";
import { explanationLabel, pct, PeriodPicker, usePeriod, type PrivacyRule, type Summary } from "../components/privacy";

interface AlertLite {
  id: number;
  rule_id: string;
  rule_title: string;
  status: string;
  level: string;
  time: string;
  fields?: Record<string, string>;
}

interface RuleCount {
  rule: PrivacyRule;
  alerts: number;
  open: number;
}

interface AlertsByRule {
  rules: RuleCount[];
  // open is the open alerts, newest first.
  open: AlertLite[];
  // pending is how many unexplained accesses wait to be judged (after
  // the next mining, or a break-glass access's after window).
  pending?: number;
}

export default function PrivacyOverview() {
  const [period, setPeriod] = usePeriod();
  const { from, to } = period;
  const canAlerts = useCan("alerts:read");
  const canSearch = useCan("events:search");
  const summary = useFetch((signal) => apiJSON<Summary>("/api/v1/privacy/reports/summary", { signal, query: { from, to } }), [from, to]);
  const alerts = useFetch(
    async (signal): Promise<AlertsByRule> => {
      const rules = await apiJSON<{ rules: PrivacyRule[]; pending?: number }>("/api/v1/privacy/rules", { signal });
      const as = canAlerts
        ? await apiJSON<{ alerts: AlertLite[] }>("/api/v1/alerts", { signal, query: { kind: "privacy", since: from, until: to, limit: 10000 } })
        : { alerts: [] };
      const by = new Map<string, RuleCount>(rules.rules.map((r) => [r.id, { rule: r, alerts: 0, open: 0 }]));
      for (const a of as.alerts) {
        let c = by.get(a.rule_id);
        if (!c) {
          c = { rule: { id: a.rule_id, name: "", title: a.rule_title, level: a.level, description: "", enabled: true }, alerts: 0, open: 0 };
          by.set(a.rule_id, c);
        }
        c.alerts++;
        if (a.status !== "closed") c.open++;
      }
      const open = as.alerts.filter((a) => a.status !== "closed").sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
      return { rules: [...by.values()], open, pending: rules.pending };
    },
    [from, to, canAlerts],
  );
  const dl = useAction();
  const download = (format: string) =>
    dl.run(() => apiDownload("/api/v1/privacy/reports/summary", { query: { from, to, format, table: format === "csv" ? "departments" : undefined } }, `access-explanation-summary.${format}`));
  const s = summary.data;
  const unexplained = s ? s.accesses - s.explained : 0;
  const search = (q: string) => searchHref({ q, range: { start: from, end: to ?? "now" }, cols: ["@timestamp", "user.name", "healthcare.workforce.department", "healthcare.patient.id", "healthcare.access.explanation_detail"], limit: 1000 });
  const reportLink = (kind: string, v?: string) => (v ? <Link href={withQuery("/privacy/reports", { [kind]: v, from, to })}>{v}</Link> : "");
  const totalAlerts = alerts.data?.rules.reduce((n, c) => n + c.alerts, 0) ?? 0;
  return (
    <>
      <PageHeader title="Privacy overview">
        <PeriodPicker value={period} onChange={setPeriod} />
        <button type="button" class="btn" disabled={dl.busy} onClick={() => download("pdf")}>
          Summary PDF
        </button>
        <button type="button" class="btn" disabled={dl.busy} onClick={() => download("csv")}>
          Departments CSV
        </button>
      </PageHeader>
      {dl.error ? (
        <p class="error-line" role="alert">
          {errorMessage(dl.error)}
        </p>
      ) : null}
      <ErrorBox error={summary.error} onRetry={summary.reload} />
      {summary.loading && !s && <Loading />}
      {s && (
        <div class="entity-grid privacy-overview">
          <section class="card entity-section wide" aria-labelledby="p-accesses">
            <h2 id="p-accesses">Accesses to patient records</h2>
            <Facts
              items={[
                ["Accesses", <span class="stat" data-k="accesses">{s.accesses.toLocaleString()}</span>],
                ["Explained", <span class="stat" data-k="explained-share">{pct(s.explained, s.accesses)}</span>],
                ["Unexplained", <span class="stat" data-k="unexplained">{unexplained.toLocaleString()}</span>],
                ["Privacy alerts", alerts.data ? <span class="stat" data-k="alerts">{totalAlerts.toLocaleString()}</span> : "…"],
              ]}
            />
            {canSearch && <Trend from={from} to={to} />}
            <p class="hint">
              An access is explained by the patient's care team, a consult, or a routine of the user's department learnt from the access history (
              <Link href="/privacy/templates">explanation templates</Link>). The privacy rules judge what remains unexplained.
            </p>
          </section>
          <section class="card entity-section" aria-labelledby="p-reasons">
            <h2 id="p-reasons">Unexplained accesses by reason</h2>
            {s.unexplained_reasons.length ? (
              <BarList label="Unexplained accesses by reason" rows={s.unexplained_reasons.map((r) => ({ label: r.name, value: r.accesses }))} />
            ) : (
              <p class="empty">Every access in this period is explained.</p>
            )}
          </section>
          <section class="card entity-section" aria-labelledby="p-departments">
            <h2 id="p-departments">Unexplained accesses by department</h2>
            {unexplained ? (
              <BarList
                label="Unexplained accesses by department"
                rows={s.departments
                  .filter((d) => d.accesses > d.explained)
                  .sort((a, b) => b.accesses - b.explained - (a.accesses - a.explained))
                  .slice(0, 15)
                  .map((d) => ({
                    label: d.name,
                    value: d.accesses - d.explained,
                    href: canSearch ? search(`healthcare.access.explained:false ${exactFilter("healthcare.workforce.department", d.name)}`) : undefined,
                  }))}
              />
            ) : (
              <p class="empty">No unexplained access in this period.</p>
            )}
          </section>
          <section class="card entity-section" aria-labelledby="p-alerts">
            <h2 id="p-alerts">Privacy alerts by rule</h2>
            <ErrorBox error={alerts.error} onRetry={alerts.reload} />
            {!alerts.data && !alerts.error && <Loading />}
            {alerts.data?.pending ? (
              <p class="muted">{alerts.data.pending.toLocaleString()} unexplained accesses wait to be judged (until the templates are mined after them, or a break-glass access's window has passed).</p>
            ) : null}
            {alerts.data && (
              <SimpleTable<RuleCount>
                caption="Privacy alerts by rule"
                rows={alerts.data.rules}
                rowKey={(c) => c.rule.id}
                initialSort={{ key: "alerts", desc: true }}
                columns={[
                  {
                    key: "title",
                    label: "Rule",
                    value: (c) => c.rule.title,
                    render: (c) => (
                      <>
                        {canAlerts ? <Link href={withQuery("/alerts", { rule: c.rule.id, status: "any", since: from, until: to })}>{c.rule.title}</Link> : c.rule.title}
                        {!c.rule.enabled && <> <span class="badge informational">off</span></>}
                      </>
                    ),
                  },
                  { key: "level", label: "Level", value: (c) => c.rule.level, render: (c) => <Level level={c.rule.level} /> },
                  { key: "alerts", label: "Alerts", num: true, value: (c) => c.alerts },
                  { key: "open", label: "Open", num: true, value: (c) => c.open },
                ]}
              />
            )}
          </section>
          <section class="card entity-section" aria-labelledby="p-users">
            <h2 id="p-users">Users with the most unexplained accesses</h2>
            {s.unexplained_users.length ? (
              <BarList
                label="Users with the most unexplained accesses"
                rows={s.unexplained_users.slice(0, 15).map((u) => ({ label: u.name, value: u.accesses, href: withQuery("/privacy/reports", { user: u.name, from, to }) }))}
              />
            ) : (
              <p class="empty">Nobody.</p>
            )}
          </section>
          {canAlerts && (
            <section class="card entity-section wide" aria-labelledby="p-open">
              <h2 id="p-open">Open privacy alerts</h2>
              {alerts.data && (
                <SimpleTable<AlertLite>
                  caption="Open privacy alerts, newest first"
                  rows={alerts.data.open.slice(0, 10)}
                  rowKey={(a) => a.id}
                  empty="No open privacy alert in this period."
                  columns={[
                    { key: "time", label: "Access", render: (a) => <span class="nowrap">{fmtTime(Date.parse(a.time))}</span> },
                    { key: "rule_title", label: "Alert", render: (a) => <Link href={"/alerts/" + a.id}>{a.rule_title}</Link> },
                    { key: "level", label: "Level", render: (a) => <Level level={a.level} /> },
                    { key: "user", label: "User", render: (a) => reportLink("user", a.fields?.["user.name"]) },
                    { key: "patient", label: "Patient", render: (a) => reportLink("patient", a.fields?.["healthcare.patient.id"]) },
                    { key: "reason", label: "Why", render: (a) => a.fields?.["privacy.reason"] ?? "" },
                  ]}
                />
              )}
              {alerts.data && alerts.data.open.length > 10 && (
                <Link class="btn small" href={withQuery("/alerts", { kind: "privacy", since: from, until: to })}>
                  All {alerts.data.open.length.toLocaleString()} open privacy alerts
                </Link>
              )}
            </section>
          )}
          <section class="card entity-section wide" aria-labelledby="p-explanations">
            <h2 id="p-explanations">How accesses were explained</h2>
            <SimpleTable
              caption="Accesses per explanation"
              rows={s.explanations}
              rowKey={(r) => r.name}
              empty="No access in this period."
              columns={[
                {
                  key: "name",
                  label: "Explanation",
                  render: (r) => (canSearch ? <a href={search(exactFilter("healthcare.access.explanation", r.name))}>{explanationLabel(r.name)}</a> : explanationLabel(r.name)),
                },
                { key: "accesses", label: "Accesses", num: true },
                { key: "share", label: "Share", num: true, value: (r) => r.accesses / Math.max(1, s.accesses), render: (r) => pct(r.accesses, s.accesses) },
              ]}
            />
          </section>
        </div>
      )}
    </>
  );
}

const TREND_COLORS = { explained: "--chart-4", unexplained: "--chart-2" };

interface Hits {
  hits: { fields?: Record<string, string>; timestamps: string[]; values: number[]; total: number }[];
}

// Trend draws the accesses of the period over time, explained and
// unexplained stacked (the search API's hits, grouped by
// healthcare.access.explained).
function Trend({ from, to }: { from: string; to?: string }) {
  const start = iso(resolve(from));
  const end = iso(resolve(to ?? "now"));
  const step = stepFor(Date.parse(end) - Date.parse(start), 45);
  const f = useFetch(
    (signal) =>
      apiJSON<Hits>("/api/v1/hits", { signal, query: { q: "healthcare.access.explained:*", start, end, step: step.text, field: "healthcare.access.explained" } }),
    [start.slice(0, 16), end.slice(0, 16)],
  );
  if (f.error) return <ErrorBox error={f.error} onRetry={f.reload} />;
  if (!f.data) return <Loading />;
  const times = [...new Set(f.data.hits.flatMap((h) => h.timestamps))].sort();
  if (!times.length) return null;
  const series = ["true", "false"].map((v) => {
    const h = f.data!.hits.find((x) => x.fields?.["healthcare.access.explained"] === v);
    const at = new Map(h ? h.timestamps.map((t, i) => [t, h.values[i]] as [string, number]) : []);
    return { label: v === "true" ? "explained" : "unexplained", values: times.map((t) => at.get(t) ?? 0) };
  });
  return (
    <TimeChart
      times={times.map((t) => Date.parse(t) / 1000)}
      series={series}
      kind="bars"
      height={120}
      stepSeconds={step.seconds}
      xRange={[Date.parse(start) / 1000, Date.parse(end) / 1000]}
      colors={TREND_COLORS}
      label="Accesses over time, explained and unexplained"
    />
  );
}
