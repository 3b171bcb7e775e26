import { useState } from "react";
import { api, type Schemas } from "../../api/client";
import { ErrorNote, Link, Loading, StateBadge } from "../../components/common";
import { canRunJobs, type Project } from "../../lib/access";
import { formatTime } from "../../lib/format";
import { useData } from "../../lib/useData";
import { RequestLog } from "./RequestLog";
import { Traffic } from "./Traffic";
import { TryIt } from "./TryIt";

type Detail = Schemas["EndpointDetail"];

/** One endpoint: status, URL, replicas, versions, live charts, the request log and try-it. */
export function EndpointPage({ project, refName }: { project: Project; refName: string }) {
  const path = { project_id: project.id, ref: refName };
  const shown = useData(() => api("show_endpoint", { path }), [project.id, refName], { pollMs: 3000 });
  const [error, setError] = useState<unknown>();
  if (shown.error) return <ErrorNote error={shown.error} />;
  const e = shown.data;
  if (!e) return <Loading what={`endpoint ${refName}`} />;
  const act = async (call: () => Promise<Detail>) => {
    setError(undefined);
    try {
      await call();
      shown.reload();
    } catch (err) {
      setError(err);
    }
  };
  const writer = canRunJobs(project);
  const serving = e.versions.find((v) => v.traffic > 0);
  return (
    <section aria-labelledby="endpoint-title" className="endpoint">
      <p>
        <Link to={`/projects/${project.id}/endpoints`}>← Endpoints</Link>
      </p>
      <h2 id="endpoint-title">
        {e.title} <StateBadge state={e.status} />
      </h2>
      <Address url={e.url} keyPrefix={e.key_prefix ?? null} />
      {writer ? (
        <Controls endpoint={e} onAct={act} path={path} />
      ) : null}
      <ErrorNote error={error} />
      <div className="grid2">
        <Versions versions={e.versions} />
        <Replicas project={project} endpoint={e} />
      </div>
      <h3>Traffic</h3>
      <Traffic project={project} refName={refName} />
      <h3>Try it</h3>
      <TryIt project={project} endpoint={e} acceptFiles={Boolean(serving?.definition.accept_files ?? e.definition.accept_files)} />
      <h3>Request log</h3>
      <RequestLog project={project} refName={refName} canReplay={writer} />
    </section>
  );
}

/** The predict URL with a copy button, and which key it takes (its start only). */
function Address({ url, keyPrefix }: { url: string; keyPrefix: string | null }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false); // no clipboard (plain http): the URL is selectable anyway
    }
  };
  return (
    <p className="endpoint-url">
      <code data-testid="endpoint-url">{url}</code>{" "}
      <button type="button" onClick={copy} aria-label="Copy the URL">
        {copied ? "Copied" : "Copy"}
      </button>
      {keyPrefix ? (
        <span className="muted">
          {" "}
          Key <code>{keyPrefix}…</code> as <code>Authorization: Bearer</code> (shown once when made;{" "}
          <code>hw endpoint key rotate</code> makes a new one)
        </span>
      ) : null}
    </p>
  );
}

/** Stop or start, roll back, and the replica bounds: for members with jobs all. */
function Controls(props: {
  endpoint: Detail;
  path: { project_id: string; ref: string };
  onAct: (call: () => Promise<Detail>) => Promise<void>;
}) {
  const { endpoint: e, path, onAct } = props;
  const [min, setMin] = useState(String(e.min_replicas));
  const [max, setMax] = useState(String(e.max_replicas));
  const previous = e.versions.some((v) => v.state === "retired" || v.state === "canary");
  return (
    <div className="toolbar endpoint-controls">
      <span>
        {e.desired === "stopped" ? (
          <button type="button" onClick={() => onAct(() => api("start_endpoint", { path }))}>
            Start
          </button>
        ) : (
          <button type="button" onClick={() => onAct(() => api("stop_endpoint", { path }))}>
            Stop
          </button>
        )}{" "}
        <button
          type="button"
          disabled={!previous}
          title={previous ? "Back to the previous version" : "No earlier version to go back to"}
          onClick={() => onAct(() => api("rollback_endpoint", { path }))}
        >
          Rollback
        </button>
      </span>
      <form
        className="row"
        aria-label="Scale"
        onSubmit={(ev) => {
          ev.preventDefault();
          void onAct(() =>
            api("scale_endpoint", { path, body: { min_replica: Number(min), max_replica: Number(max) } }),
          );
        }}
      >
        <label>
          Min replicas
          <input type="number" min={1} value={min} onChange={(ev) => setMin(ev.target.value)} />
        </label>
        <label>
          Max replicas
          <input type="number" min={1} value={max} onChange={(ev) => setMax(ev.target.value)} />
        </label>
        <button type="submit">Scale</button>
      </form>
    </div>
  );
}

function Versions({ versions }: { versions: Detail["versions"] }) {
  return (
    <div>
      <h4>Versions</h4>
      <table className="table" aria-label="Versions">
        <thead>
          <tr>
            <th>#</th>
            <th>State</th>
            <th>Traffic</th>
            <th>Function</th>
            <th>Since</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {[...versions]
            .sort((a, b) => b.number - a.number)
            .map((v) => (
              <tr key={v.id}>
                <td>v{v.number}</td>
                <td>
                  <StateBadge state={v.state} />
                </td>
                <td>{v.traffic}%</td>
                <td>
                  <code>
                    {String(v.definition.file_name ?? "–")}:{String(v.definition.function_name ?? "–")}
                  </code>
                </td>
                <td>{formatTime(v.created_at)}</td>
                <td>{v.reason ?? ""}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

function Replicas({ project, endpoint: e }: { project: Project; endpoint: Detail }) {
  const ready = e.replicas.filter((r) => r.state === "ready").length;
  return (
    <div>
      <h4>
        Replicas <span data-testid="replicas-ready">{ready}</span>/{e.replicas_wanted} ready{" "}
        <span className="muted">
          (between {e.min_replicas} and {e.max_replicas})
        </span>
      </h4>
      {e.replicas.length === 0 ? (
        <p className="muted">None running.</p>
      ) : (
        <table className="table" aria-label="Replicas">
          <thead>
            <tr>
              <th>Task</th>
              <th>Version</th>
              <th>State</th>
              <th>Ready since</th>
            </tr>
          </thead>
          <tbody>
            {e.replicas.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link to={`/projects/${project.id}/experiments/${r.experiment}`}>#{r.experiment}</Link>
                </td>
                <td>v{r.version}</td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>{formatTime(r.ready_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
