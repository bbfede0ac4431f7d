// Cases: the investigations, most recently updated first, and a new one.
import { useState } from "preact/hooks";
import { apiJSON } from "../lib/api";
import { useFetch } from "../lib/hooks";
import { navigate, useLocation, withQuery } from "../lib/router";
import { fmtEventTime } from "../lib/time";
import { useCan } from "../lib/session";
import { ErrorBox, Loading, PageHeader } from "../components/status";
import { SimpleTable } from "../components/table";
import { Modal } from "../components/modal";
import { Field, LEVELS, Level, useAction } from "../components/triage";

interface Summary {
  id: number;
  title: string;
  kind: string;
  owner: string;
  severity: string;
  status: string;
  updated: string;
  alerts: number;
  open_tasks: number;
  notify_individuals_by?: string;
}

export default function Cases() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "";
  const kind = loc.query.get("kind") ?? "";
  const f = useFetch((signal) => apiJSON<{ cases: Summary[] }>("/api/v1/cases", { signal, query: { status, kind } }), [status, kind]);
  const [creating, setCreating] = useState(false);
  const canWrite = useCan("cases:write");
  return (
    <>
      <PageHeader title="Cases">
        {canWrite && (
          <button type="button" class="btn primary" onClick={() => setCreating(true)}>
            New case
          </button>
        )}
      </PageHeader>
      <form class="filter-bar" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select value={status} onChange={(e) => navigate(withQuery("/cases", { status: (e.target as HTMLSelectElement).value, kind }))}>
            <option value="">any</option>
            <option value="open">open</option>
            <option value="in_progress">in progress</option>
            <option value="closed">closed</option>
          </select>
        </Field>
        <Field label="Kind">
          <select value={kind} onChange={(e) => navigate(withQuery("/cases", { status, kind: (e.target as HTMLSelectElement).value }))}>
            <option value="">any</option>
            <option value="security">security</option>
            <option value="privacy">privacy</option>
          </select>
        </Field>
      </form>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && !f.data && <Loading />}
      {f.data && (
        <SimpleTable
          caption="Cases"
          rows={f.data.cases}
          rowKey={(c) => c.id}
          empty="No case."
          columns={[
            { key: "id", label: "#", num: true },
            { key: "title", label: "Title", render: (c) => <a href={"/cases/" + c.id}>{c.title}</a> },
            { key: "kind", label: "Kind" },
            { key: "severity", label: "Severity", value: (c) => LEVELS.indexOf(c.severity), render: (c) => <Level level={c.severity} /> },
            { key: "status", label: "Status", render: (c) => c.status.replace("_", " ") },
            { key: "owner", label: "Owner" },
            { key: "alerts", label: "Alerts", num: true },
            { key: "open_tasks", label: "Open tasks", num: true },
            { key: "notify_individuals_by", label: "Notify by", render: (c) => (c.notify_individuals_by ? c.notify_individuals_by.slice(0, 10) : "") },
            { key: "updated", label: "Updated", render: (c) => fmtEventTime(c.updated) },
          ]}
        />
      )}
      {creating && <NewCase onClose={() => setCreating(false)} />}
    </>
  );
}

function NewCase({ onClose }: { onClose: () => void }) {
  const [title, setTitle] = useState("");
  const [kind, setKind] = useState("security");
  const [severity, setSeverity] = useState("medium");
  const [owner, setOwner] = useState("");
  const [description, setDescription] = useState("");
  const act = useAction();
  return (
    <Modal title="New case" onClose={onClose}>
      <form
        class="modal-form"
        onSubmit={(e) => {
          e.preventDefault();
          act.run(async () => {
            const c = await apiJSON<{ id: number }>("/api/v1/cases", { method: "POST", body: { title, kind, severity, owner, description } });
            navigate("/cases/" + c.id);
          });
        }}
      >
        <Field label="Title">
          <input required value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Kind" hint="A privacy case has the breach assessment and the notification clock.">
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            <option value="security">security</option>
            <option value="privacy">privacy</option>
          </select>
        </Field>
        <Field label="Severity">
          <select value={severity} onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}>
            {LEVELS.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </Field>
        <Field label="Owner">
          <input value={owner} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Description">
          <textarea rows={3} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <ErrorBox error={act.error} />
        <div class="row-actions">
          <button type="submit" class="btn primary" disabled={act.busy || !title.trim()}>
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
