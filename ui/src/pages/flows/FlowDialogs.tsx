// The flow bar's dialogs: schedule (the file's schedule:/recurring:, saved as a version),
// continual learning (triggers on a dataset or a webhook) and the whole file's YAML.
import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { ErrorNote } from "../../components/common";
import { canRunJobs, type Project } from "../../lib/access";
import { dumpFlow, parseFlow, type FlowDoc } from "../../lib/flowYaml";
import { formatTime } from "../../lib/format";
import { useData } from "../../lib/useData";
import { Modal } from "./Modal";

type Mode = "none" | "schedule" | "recurring";

export function ScheduleDialog(props: { doc: FlowDoc; readOnly: boolean; onClose: () => void; onSave: (doc: FlowDoc) => Promise<void> }) {
  const rest = props.doc.rest;
  const initial: Mode = rest.recurring ? "recurring" : rest.schedule ? "schedule" : "none";
  const [mode, setMode] = useState<Mode>(initial);
  const [once, setOnce] = useState(rest.schedule ? String(rest.schedule) : "");
  const [cron, setCron] = useState(rest.recurring ? String(rest.recurring) : "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = { ...rest };
    delete next.schedule;
    delete next.recurring;
    if (mode === "schedule") next.schedule = once.trim();
    if (mode === "recurring") next.recurring = cron.trim();
    void props.onSave({ ...props.doc, rest: next });
  };
  return (
    <Modal title="Schedule" onClose={props.onClose}>
      <form aria-label="Schedule" onSubmit={submit}>
        <fieldset className="choice" disabled={props.readOnly}>
          <legend className="sr-only">When the flow runs</legend>
          {(
            [
              ["none", "When started (or triggered)"],
              ["schedule", "Once, at a time"],
              ["recurring", "Recurring (cron)"],
            ] as [Mode, string][]
          ).map(([m, label]) => (
            <label key={m}>
              <input type="radio" name="mode" checked={mode === m} onChange={() => setMode(m)} />
              {label}
            </label>
          ))}
        </fieldset>
        {mode === "schedule" ? (
          <label>
            Date and time
            <input value={once} onChange={(e) => setOnce(e.target.value)} placeholder="31.01.2026 16:25" readOnly={props.readOnly} />
            <span className="muted small">In the server's time zone: 31.01.2026 16:25, 31.01.2026 4:25PM, 2026.01.31 16:25.</span>
          </label>
        ) : null}
        {mode === "recurring" ? (
          <label>
            Cron rule
            <input value={cron} onChange={(e) => setCron(e.target.value)} placeholder="30 * * * *" readOnly={props.readOnly} />
            <span className="muted small">Five fields and an optional zone ("0 0 * * 1 Asia/Jerusalem"), or @daily, @hourly...</span>
          </label>
        ) : null}
        <div className="actions">
          {props.readOnly ? null : <button type="submit">Save schedule</button>}
          <button type="button" className="secondary" onClick={props.onClose}>
            {props.readOnly ? "Close" : "Cancel"}
          </button>
        </div>
        {props.readOnly ? null : <p className="muted small">Saving makes a new version of the flow.</p>}
      </form>
    </Modal>
  );
}

type Trigger = Schemas["TriggerOut"];

export function TriggersDialog({ project, flow, onClose }: { project: Project; flow: string; onClose: () => void }) {
  const pid = project.id;
  const list = useData(() => api("list_flow_triggers", { path: { project_id: pid, name: flow } }), [pid, flow]);
  const [kind, setKind] = useState<"dataset" | "webhook">("dataset");
  const [dataset, setDataset] = useState("");
  const [created, setCreated] = useState<Trigger | null>(null);
  const [error, setError] = useState<unknown>();
  const writer = canRunJobs(project);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const t = await api("create_flow_trigger", {
        path: { project_id: pid, name: flow },
        body: kind === "dataset" ? { kind, dataset: dataset.trim() } : { kind },
      });
      setCreated(t);
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (id: string) => {
    setError(undefined);
    try {
      await api("delete_flow_trigger", { path: { project_id: pid, name: flow, trigger_id: id } });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Modal title="Continual learning" onClose={onClose} wide>
      <p className="muted">The flow's latest version runs when a trigger fires.</p>
      <ErrorNote error={list.error ?? error} />
      {created?.token ? (
        <div className="notice" role="status">
          <p>
            Webhook created. POST to <code>{created.url}</code> with the header <code>X-Headwater-Token: {created.token}</code>. The token is
            shown only now.
          </p>
        </div>
      ) : null}
      {list.data && list.data.length ? (
        <table className="list" aria-label="Triggers">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">On</th>
              <th scope="col">Created</th>
              <th scope="col">Last fired</th>
              {writer ? <th scope="col"><span className="sr-only">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {list.data.map((t) => (
              <tr key={t.id}>
                <td>{t.kind}</td>
                <td>{t.kind === "dataset" ? `each new version of ${t.dataset}` : <code>{t.url}</code>}</td>
                <td>{formatTime(t.created_at)}</td>
                <td>{formatTime(t.last_fired_at)}</td>
                {writer ? (
                  <td>
                    <button type="button" className="secondary" onClick={() => void remove(t.id)}>
                      Remove
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">{list.data ? "No triggers." : "Loading…"}</p>
      )}
      {writer ? (
        <form className="row" aria-label="Add a trigger" onSubmit={(e) => void add(e)}>
          <label>
            When
            <select value={kind} onChange={(e) => setKind(e.target.value as "dataset" | "webhook")}>
              <option value="dataset">a dataset changes</option>
              <option value="webhook">a webhook is called</option>
            </select>
          </label>
          {kind === "dataset" ? (
            <label>
              Dataset
              <input value={dataset} onChange={(e) => setDataset(e.target.value)} required />
            </label>
          ) : null}
          <button type="submit">Add trigger</button>
        </form>
      ) : null}
    </Modal>
  );
}

export function YamlDialog(props: { doc: FlowDoc; readOnly: boolean; onClose: () => void; onApply: (doc: FlowDoc) => void }) {
  const [text, setText] = useState(() => dumpFlow(props.doc));
  const [error, setError] = useState<unknown>();
  return (
    <Modal title="The flow's YAML" onClose={props.onClose} wide>
      <form
        aria-label="Flow YAML"
        onSubmit={(e) => {
          e.preventDefault();
          try {
            props.onApply(parseFlow(text));
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          <span className="sr-only">YAML</span>
          <textarea className="code" rows={22} spellCheck={false} value={text} readOnly={props.readOnly} onChange={(e) => setText(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        <div className="actions">
          {props.readOnly ? null : <button type="submit">Apply to the canvas</button>}
          <button type="button" className="secondary" onClick={props.onClose}>
            Close
          </button>
        </div>
      </form>
    </Modal>
  );
}
