// EventDetail: every field of one event, as a table (with actions on each
// value) or as JSON; the events around it on the same host; the audited
// reveal of its PHI for those allowed.
import { useState } from "preact/hooks";
import { apiJSON, errorMessage } from "../lib/api";
import { entityHref, entityOf } from "../lib/entities";
import { iso } from "../lib/time";
import { exactFilter } from "../lib/logsql";
import { useCan } from "../lib/session";
import { withQuery } from "../lib/router";
import { Link } from "./link";
import { Explained } from "./privacy";

export const MASKED = "[masked]";

interface Props {
  row: Record<string, string>;
  onFilter: (field: string, value: string, exclude: boolean) => void;
  onToggleColumn: (field: string) => void;
  columns: string[];
}

export function surroundingHref(row: Record<string, string>, minutes = 5): string | null {
  const host = row["host.name"] ?? row["log.syslog.hostname"] ?? row["host.hostname"];
  const t = Date.parse(row["@timestamp"]);
  if (!host || isNaN(t)) return null;
  const field = row["host.name"] ? "host.name" : row["log.syslog.hostname"] ? "log.syslog.hostname" : "host.hostname";
  return withQuery("/search", {
    q: exactFilter(field, host),
    start: iso(t - minutes * 60e3),
    end: iso(t + minutes * 60e3),
    around: row["@timestamp"],
  });
}

export function EventDetail({ row: initial, onFilter, onToggleColumn, columns }: Props) {
  const [tab, setTab] = useState<"table" | "json">("table");
  const [row, setRow] = useState(initial);
  const canReveal = useCan("phi:reveal");
  const masked = Object.values(row).some((v) => v === MASKED);
  const around = surroundingHref(row);
  const names = Object.keys(row).sort((a, b) => (a === "@timestamp" ? -1 : b === "@timestamp" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return (
    <div class="event-detail">
      <div class="tabs" role="tablist" aria-label="Event view">
        <button type="button" role="tab" aria-selected={tab === "table"} class={tab === "table" ? "tab active" : "tab"} onClick={() => setTab("table")}>
          Table
        </button>
        <button type="button" role="tab" aria-selected={tab === "json"} class={tab === "json" ? "tab active" : "tab"} onClick={() => setTab("json")}>
          JSON
        </button>
        <span class="grow" />
        {around && (
          <Link href={around} class="btn small">
            Show surrounding events from this host
          </Link>
        )}
        {masked && canReveal && row["vigil.id"] && <Reveal row={row} onRevealed={setRow} />}
      </div>
      {row["healthcare.access.explained"] !== undefined && (
        <p class="access-explanation">
          <Explained
            explained={row["healthcare.access.explained"] === "true"}
            code={row["healthcare.access.explanation"]}
            detail={row["healthcare.access.explanation_detail"]}
            full
          />
        </p>
      )}
      {tab === "json" ? (
        <pre class="json mono">{JSON.stringify(row, null, 2)}</pre>
      ) : (
        <table class="grid fields-table">
          <caption class="sr-only">Fields of the event</caption>
          <thead>
            <tr>
              <th>Field</th>
              <th>Value</th>
              <th>
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {names.map((f) => {
              const v = row[f];
              const kind = entityOf(f);
              return (
                <tr key={f}>
                  <th scope="row" class="mono field-name">
                    {f}
                  </th>
                  <td class="mono value">{kind && v !== MASKED ? <Link href={entityHref(kind, v)}>{v}</Link> : v === MASKED ? <span class="masked">{v}</span> : v}</td>
                  <td class="actions">
                    <button type="button" class="icon-btn" title={"Filter for " + f + " = this value"} aria-label={`Filter for ${f} = ${v}`} onClick={() => onFilter(f, v, false)}>
                      +
                    </button>
                    <button type="button" class="icon-btn" title={"Filter out " + f + " = this value"} aria-label={`Filter out ${f} = ${v}`} onClick={() => onFilter(f, v, true)}>
                      −
                    </button>
                    <button
                      type="button"
                      class="icon-btn"
                      title={columns.includes(f) ? "Remove the column" : "Show as a column"}
                      aria-label={(columns.includes(f) ? "Remove column " : "Add column ") + f}
                      aria-pressed={columns.includes(f)}
                      onClick={() => onToggleColumn(f)}
                    >
                      ▥
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Reveal({ row, onRevealed }: { row: Record<string, string>; onRevealed: (r: Record<string, string>) => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await apiJSON<{ event: Record<string, string> }>("/api/v1/events/reveal", {
        method: "POST",
        body: { id: row["vigil.id"], reason, time: row["@timestamp"] },
      });
      onRevealed(r.event);
      setOpen(false);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  if (!open)
    return (
      <button type="button" class="btn small" onClick={() => setOpen(true)}>
        Reveal PHI…
      </button>
    );
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby="reveal-title">
      <form class="modal-form" onSubmit={submit}>
        <h2 id="reveal-title">Reveal protected health information</h2>
        <p class="muted">This event's PHI is masked for your role. Revealing it is recorded in the audit trail with your reason.</p>
        <label>
          Reason
          <textarea required minLength={8} maxLength={500} rows={3} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} autoFocus />
        </label>
        {error && (
          <p class="error-line" role="alert">
            {error}
          </p>
        )}
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Revealing…" : "Reveal"}
          </button>
          <button type="button" class="btn" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      </form>
      </div>
    </div>
  );
}
