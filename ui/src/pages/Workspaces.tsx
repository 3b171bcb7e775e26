import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import { ErrorNote, Loading, StateBadge, UserName } from "../components/common";
import type { Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { useData } from "../lib/useData";
import { canUseWorkspaces, cullText, isActive, startBody, type Workspace } from "../lib/workspaces";

/**
 * The project's workspaces (JupyterLab through the server's proxy): state, who, when started,
 * last activity and when the culler stops each; Start, Open, Save and Stop for members with all
 * access to jobs and files.
 */
export function Workspaces({ project }: { project: Project }) {
  const pid = project.id;
  const list = useData(() => api("list_workspaces", { path: { project_id: pid } }), [pid], { pollMs: 3000 });
  const may = canUseWorkspaces(project);
  return (
    <section className="workspaces" aria-labelledby="ws-title">
      <h2 id="ws-title">Workspaces</h2>
      <p className="muted">
        JupyterLab on the project&apos;s files, opened through Headwater&apos;s login; saved back as versions of the
        files. <code>hw workspace</code> does the same from a terminal.
      </p>
      {may ? <StartForm project={project} onStarted={list.reload} /> : null}
      <ErrorNote error={list.error} />
      {!list.data ? (
        list.error ? null : <Loading what="the workspaces" />
      ) : list.data.length === 0 ? (
        <p>No workspaces yet.</p>
      ) : (
        <table className="table" aria-label="Workspaces">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Who</th>
              <th>Started</th>
              <th>Last activity</th>
              <th>Culled</th>
              <th>Saved</th>
              {may ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {list.data.map((w) => (
              <Row key={w.id} pid={pid} workspace={w} may={may} onChange={list.reload} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Row(props: { pid: string; workspace: Workspace; may: boolean; onChange: () => void }) {
  const { pid, workspace: w, may } = props;
  const culls = w.culls_at ? new Date(w.culls_at).toLocaleString() : undefined;
  return (
    <tr data-workspace={w.name} data-state={w.state}>
      <td>
        {w.name} <span className="muted">#{w.experiment_number}</span>
      </td>
      <td>
        <StateBadge state={w.state} />
        {w.reason && !isActive(w) ? <div className="muted small">{w.reason}</div> : null}
      </td>
      <td>
        <UserName project={props.pid} id={props.workspace.created_by} />
      </td>
      <td>{formatTime(w.created_at)}</td>
      <td>{formatTime(w.last_activity)}</td>
      <td title={culls} data-testid="culls">
        {cullText(w)}
      </td>
      <td>
        {w.saved_commit ? <code title={formatTime(w.saved_at)}>{w.saved_commit.slice(0, 10)}</code> : "–"}
      </td>
      {may ? (
        <td>{isActive(w) ? <Actions pid={pid} workspace={w} onChange={props.onChange} /> : null}</td>
      ) : null}
    </tr>
  );
}

function Actions({ pid, workspace: w, onChange }: { pid: string; workspace: Workspace; onChange: () => void }) {
  const [message, setMessage] = useState("");
  const [discard, setDiscard] = useState(false);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<unknown>();
  const path = { project_id: pid, workspace_id: w.id };

  const act = async (what: "save" | "stop") => {
    setBusy(true);
    setError(undefined);
    setNote(undefined);
    try {
      const out =
        what === "save"
          ? await api("save_workspace", { path, body: { message } })
          : await api("stop_workspace", { path, body: { message, discard } });
      const version = out.commit ? out.commit.slice(0, 10) : "none";
      if (what === "stop" && discard) setNote("Stopped; changes discarded.");
      else if (out.unchanged) setNote(`Nothing changed since version ${version}.`);
      else setNote(`Saved version ${version}${out.merged ? " (merged with others' changes)" : ""}.`);
      setMessage("");
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="ws-actions">
      {w.state === "running" ? (
        <a href={w.url} target="_blank" rel="noopener" className="button">
          Open
        </a>
      ) : (
        <span className="muted">starting…</span>
      )}
      <form
        className="row"
        aria-label={`Save or stop ${w.name}`}
        onSubmit={(e) => {
          e.preventDefault();
          void act("save");
        }}
      >
        <label>
          Message
          <input value={message} onChange={(e) => setMessage(e.target.value)} placeholder="what changed" />
        </label>
        <button type="submit" disabled={busy || w.state !== "running"}>
          Save
        </button>
        <label className="inline">
          <input type="checkbox" checked={discard} onChange={(e) => setDiscard(e.target.checked)} />
          Discard changes
        </label>
        <button type="button" disabled={busy} onClick={() => void act("stop")}>
          Stop
        </button>
      </form>
      {note ? (
        <p className="notice" role="status">
          {note}
        </p>
      ) : null}
      <ErrorNote error={error} />
    </div>
  );
}

function StartForm({ project, onStarted }: { project: Project; onStarted: () => void }) {
  const pid = project.id;
  const [form, setForm] = useState({ name: "lab", compute: "", datasets: "", version: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const computes = useData(() => api("list_compute").catch(() => []), []);
  const versions = useData(() => api("files_list_commits", { path: { project_id: pid } }).catch(() => []), [pid]);
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api("start_workspace", { path: { project_id: pid }, body: startBody(form) });
      onStarted();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="row" aria-label="Start a workspace" onSubmit={submit}>
      <label>
        Name
        <input value={form.name} onChange={set("name")} maxLength={63} />
      </label>
      <label>
        Compute
        <select value={form.compute} onChange={set("compute")}>
          <option value="">the project&apos;s default</option>
          {(computes.data ?? []).map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Datasets
        <input value={form.datasets} onChange={set("datasets")} placeholder="images, text@v2" />
      </label>
      <label>
        Version
        <select value={form.version} onChange={set("version")}>
          <option value="">newest</option>
          {(versions.data ?? []).map((v) => (
            <option key={v.id} value={v.id}>
              {v.id.slice(0, 10)} {v.message}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        Start
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
