// The project's flows (list_flows), "New flow", and importing a YAML file.
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { ErrorNote, Link, Loading } from "../../components/common";
import { canRunJobs, type Project } from "../../lib/access";
import { formatTime } from "../../lib/format";
import { navigate } from "../../lib/router";
import { useData } from "../../lib/useData";

export function FlowList({ project }: { project: Project }) {
  const pid = project.id;
  const flows = useData(() => api("list_flows", { path: { project_id: pid }, query: { limit: 200 } }), [pid], { pollMs: 5000 });
  const base = `/projects/${pid}`;
  return (
    <section aria-labelledby="flows-title">
      <div className="toolbar">
        <h2 id="flows-title">Flows</h2>
        <span>
          <Link to={`${base}/bakes`}>All runs (bakes)</Link>
          {canRunJobs(project) ? (
            <button type="button" className="gap" onClick={() => navigate(`${base}/flows/new`)}>
              New flow
            </button>
          ) : null}
        </span>
      </div>
      {canRunJobs(project) ? <ImportForm project={project} /> : null}
      <ErrorNote error={flows.error} />
      {!flows.data ? (
        <Loading what="flows" />
      ) : flows.data.items.length === 0 ? (
        <p className="muted">No flows yet.</p>
      ) : (
        <table className="list" aria-label="Flows">
          <thead>
            <tr>
              <th scope="col">Flow</th>
              <th scope="col">Version</th>
              <th scope="col">Runs</th>
              <th scope="col">Schedule</th>
              <th scope="col">Next run</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {flows.data.items.map((f) => (
              <tr key={f.id}>
                <td>
                  <Link to={`${base}/flows/edit/${encodeURIComponent(f.name)}`}>{f.name}</Link>
                </td>
                <td>{f.latest_version}</td>
                <td>{f.runs ? <Link to={`${base}/bakes?flow=${encodeURIComponent(f.name)}`}>{f.runs}</Link> : 0}</td>
                <td>{f.recurring ? <code>{f.recurring}</code> : f.schedule ? f.schedule : <span className="muted">—</span>}</td>
                <td>{formatTime(f.next_run_at)}</td>
                <td>{formatTime(f.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ImportForm({ project }: { project: Project }) {
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState("flow.yaml");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const out = await api("import_flow", { path: { project_id: project.id }, body: { yaml: text, file_name: fileName || "flow.yaml" } });
      navigate(`/projects/${project.id}/flows/edit/${encodeURIComponent(out.name)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <details className="panel">
      <summary>Import a flow file</summary>
      <form aria-label="Import a flow" onSubmit={(e) => void submit(e)}>
        <label>
          A YAML file
          <input
            type="file"
            accept=".yaml,.yml,text/yaml"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setFileName(file.name);
              setText(await file.text());
            }}
          />
        </label>
        <label>
          Or paste it
          <textarea className="code" rows={10} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} placeholder={"flow: My flow\ntasks:\n  - title: Train\n    type: exec\n    input: python3 train.py\n    computes: [default]\nrelations: []"} />
        </label>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy || !text.trim()}>
          Import
        </button>
      </form>
    </details>
  );
}
