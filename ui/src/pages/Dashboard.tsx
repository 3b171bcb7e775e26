import { useState } from "react";
import { api } from "../api/client";
import { ErrorNote, Link, Loading } from "../components/common";
import { canRunJobs, type Project } from "../lib/access";
import { type FeedLine, groupFeed, numberRanges } from "../lib/feed";
import { formatTime } from "../lib/format";
import { useData } from "../lib/useData";
import { canUseWorkspaces, type Workspace } from "../lib/workspaces";
import { LIVE } from "./LiveJobs";

// serving or about to: what the seed's project screen calls active endpoints
const FEED_LINES = 30;
const ACTIVE_ENDPOINTS: ("running" | "degraded" | "deploying")[] = ["running", "degraded", "deploying"];

/** Counts (experiments, live jobs, workspaces, endpoints, flows), the running workspace, the activity feed. */
export function Dashboard({ project }: { project: Project }) {
  const pid = project.id;
  const counts = useData(
    async () => {
      const path = { project_id: pid };
      const [all, running, live, workspaces, endpoints, flows] = await Promise.all([
        api("list_experiments", { path, query: { limit: 1 } }),
        api("list_experiments", { path, query: { limit: 1, ended: false } }),
        api("list_experiments", { path, query: { limit: 1, ended: false, title_prefix: LIVE } }),
        api("list_workspaces", { path, query: { active: true } }),
        api("list_endpoints", { path, query: { limit: 1, status: ACTIVE_ENDPOINTS } }),
        api("list_flows", { path, query: { limit: 1 } }),
      ]);
      return {
        experiments: all.total,
        active: running.total,
        live: live.total,
        workspaces,
        endpoints: endpoints.total,
        flows: flows.total,
      };
    },
    [pid],
    { pollMs: 5000 },
  );
  const activity = useData(
    // more than is shown: a flood of output commits folds into one line (lib/feed.ts)
    () => api("list_activity", { path: { project_id: pid }, query: { limit: 200 } }),
    [pid],
    { pollMs: 5000 },
  );
  return (
    <section aria-label="Dashboard">
      <div className="cards">
        <Card label="Experiments" value={counts.data?.experiments} to={`/projects/${pid}/experiments`} />
        <Card
          label="Queued or running"
          value={counts.data?.active}
          to={`/projects/${pid}/experiments?ended=false`}
        />
        <Card label="Live jobs active" value={counts.data?.live} to={`/projects/${pid}/live`} />
        <Card
          label="Workspaces active"
          value={counts.data?.workspaces.length}
          to={`/projects/${pid}/workspaces`}
        />
        <Card label="Endpoints active" value={counts.data?.endpoints} to={`/projects/${pid}/endpoints`} />
        <Card label="Flows" value={counts.data?.flows} to={`/projects/${pid}/flows`} />
        <Card label="Your access to jobs" value={canRunJobs(project) ? "run" : "read"} />
      </div>
      <ErrorNote error={counts.error} />
      {counts.data ? (
        <RunningWorkspace project={project} active={counts.data.workspaces} onStarted={counts.reload} />
      ) : null}
      <h2>Activity</h2>
      <ErrorNote error={activity.error} />
      {activity.data ? (
        activity.data.length ? (
          <ol className="feed">
            {groupFeed(activity.data).slice(0, FEED_LINES).map((line) =>
              line.kind === "one" ? (
                <li key={line.item.id}>
                  <time dateTime={line.item.at}>{formatTime(line.item.at)}</time> <strong>{line.item.actor}</strong>{" "}
                  {line.item.message}
                </li>
              ) : (
                <OutputsLine key={line.items[0].id} pid={pid} line={line} />
              ),
            )}
          </ol>
        ) : (
          <p className="muted">Nothing has happened here yet.</p>
        )
      ) : (
        <Loading what="activity" />
      )}
    </section>
  );
}

function Card({ label, value, to }: { label: string; value: number | string | undefined; to?: string }) {
  const body = (
    <>
      <span className="value" data-testid={`count-${label}`}>
        {value ?? "…"}
      </span>
      <span className="label">{label}</span>
    </>
  );
  return <div className="card">{to ? <Link to={to}>{body}</Link> : body}</div>;
}

/** The project screen's workspace line: open the running one, or start one (the seed's screen). */
function RunningWorkspace(props: { project: Project; active: Workspace[]; onStarted: () => void }) {
  const { project, active } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const may = canUseWorkspaces(project);
  const page = `/projects/${project.id}/workspaces`;
  const running = active.find((w) => w.state === "running");
  const starting = active.find((w) => w.state === "starting");
  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api("start_workspace", { path: { project_id: project.id }, body: {} });
      props.onStarted();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="ws-running" aria-label="Workspace">
      {running && may ? (
        <a href={running.url} target="_blank" rel="noopener" className="button">
          Open the running workspace ({running.name})
        </a>
      ) : starting ? (
        <span className="muted">Workspace {starting.name} is starting…</span>
      ) : may ? (
        <button type="button" disabled={busy} onClick={() => void start()}>
          Start a workspace
        </button>
      ) : null}
      <Link to={page}>All workspaces</Link>
      <ErrorNote error={error} />
    </div>
  );
}

/** Output commits of several experiments in a row: one line, opened for the list. */
function OutputsLine({ pid, line }: { pid: string; line: Extract<FeedLine, { kind: "outputs" }> }) {
  const newest = line.items[0];
  const one = line.experiments.length === 1;
  return (
    <li className="feed-group" data-testid="feed-outputs">
      <details>
        <summary>
          <time dateTime={newest.at}>{formatTime(newest.at)}</time> outputs of experiment{one ? "" : "s"}{" "}
          {numberRanges(line.experiments)} ({line.items.length} commits)
        </summary>
        <ul>
          {line.items.map((a) => (
            <li key={a.id}>
              <time dateTime={a.at}>{formatTime(a.at)}</time> <strong>{a.actor}</strong>{" "}
              <Link to={`/projects/${pid}/experiments/${String(a.data?.experiment)}`}>{a.message}</Link>
            </li>
          ))}
        </ul>
      </details>
    </li>
  );
}
