// Detection exceptions: what they silence, why, until when, and how much
// they kept out; made here, from an alert, or as YAML files.
import { useState } from "preact/hooks";
import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { ago, fmtTime } from "../lib/time";
import { useCan } from "../lib/session";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Modal } from "../components/modal";
import { Field, useAction } from "../components/triage";

interface Condition {
  field: string;
  op: string;
  value?: string;
  values?: string[];
}

interface Exception {
  id: string;
  rule: string;
  tag?: string;
  conditions: Condition[];
  author: string;
  reason: string;
  expires?: string;
  enabled: boolean;
  source: string;
  hits: number;
  last_hit?: string;
  expired: boolean;
}

export default function Exceptions() {
  const f = useFetch((signal) => apiJSON<{ exceptions: Exception[]; errors?: string[] }>("/api/v1/exceptions", { signal }), []);
  const canWrite = useCan("alerts:write");
  const act = useAction(f.reload);
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader title="Exceptions">
        {canWrite && (
          <>
            <button type="button" class="btn" onClick={() => act.run(() => apiJSON("/api/v1/exceptions/reload", { method: "POST" }))}>
              Reload files
            </button>
            <button type="button" class="btn primary" onClick={() => setCreating(true)}>
              New exception
            </button>
          </>
        )}
      </PageHeader>
      <ErrorBox error={act.error ?? f.error} onRetry={f.reload} />
      {(f.data?.errors ?? []).map((e) => (
        <p key={e} class="error-line">
          {e}
        </p>
      ))}
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="Exceptions"
          rows={f.data.exceptions}
          rowKey={(x) => x.id}
          empty="No exception: every match raises its alert."
          initialSort={{ key: "hits", desc: true }}
          columns={[
            { key: "rule", label: "Rule", render: (x) => x.rule + (x.tag ? " · tag " + x.tag : "") },
            { key: "conditions", label: "When", value: (x) => x.conditions.length, render: (x) => x.conditions.map((c) => `${c.field} ${c.op} ${c.value ?? (c.values ?? []).join(", ")}`).join(" and ") || "always" },
            { key: "reason", label: "Why" },
            { key: "author", label: "By" },
            { key: "hits", label: "Kept out", num: true, render: (x) => x.hits.toLocaleString() },
            { key: "last_hit", label: "Last", render: (x) => ago(x.last_hit) },
            { key: "expires", label: "Expires", render: (x) => (x.expired ? <span class="badge bad">expired</span> : x.expires ? fmtTime(Date.parse(x.expires)) : "never") },
            { key: "source", label: "Defined", render: (x) => (x.source === "api" ? "here" : <code>{x.id}</code>) },
            {
              key: "actions",
              label: "Actions",
              render: (x) =>
                canWrite && x.source === "api" ? (
                  <span class="row-actions">
                    <button type="button" class="btn small" onClick={() => act.run(() => apiJSON("/api/v1/exceptions/" + x.id, { method: "PATCH", body: { enabled: !x.enabled } }))}>
                      {x.enabled ? "Disable" : "Enable"}
                    </button>
                    <button type="button" class="btn small" onClick={() => confirm("Delete this exception?") && act.run(() => apiJSON("/api/v1/exceptions/" + x.id, { method: "DELETE" }))}>
                      Delete
                    </button>
                  </span>
                ) : null,
            },
          ]}
        />
      )}
      {creating && <NewException onClose={() => setCreating(false)} onDone={() => (setCreating(false), f.reload())} />}
    </>
  );
}

function NewException({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [rule, setRule] = useState("");
  const [field, setField] = useState("source.ip");
  const [op, setOp] = useState("equals");
  const [value, setValue] = useState("");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const act = useAction(onDone);
  return (
    <Modal title="New exception" onClose={onClose}>
      <form
        class="modal-form"
        onSubmit={(e) => {
          e.preventDefault();
          const cond = op === "in" ? { field, op, values: value.split(",").map((v) => v.trim()) } : { field, op, value };
          act.run(() => apiJSON("/api/v1/exceptions", { method: "POST", body: { rule, conditions: [cond], reason, expires: expires || undefined } }));
        }}
      >
        <Field label="Rule" hint="Its id or name, or * for any rule.">
          <input required value={rule} onInput={(e) => setRule((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Field">
          <input required value={field} onInput={(e) => setField((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Operator">
          <select value={op} onChange={(e) => setOp((e.target as HTMLSelectElement).value)}>
            <option value="equals">equals</option>
            <option value="in">in list (comma-separated)</option>
            <option value="cidr">in CIDR range</option>
            <option value="wildcard">wildcard (* ?)</option>
          </select>
        </Field>
        <Field label="Value">
          <input required value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Reason">
          <textarea required rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <Field label="Expires (optional)">
          <input type="date" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBox error={act.error} />
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={act.busy}>
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
