import { api } from "../api/client";
import { ErrorNote, Link, Loading } from "../components/common";
import { canRunJobs, type Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { useData } from "../lib/useData";

/** Counts and the activity feed. Endpoints and live jobs join the counts as their pages land. */
export function Dashboard({ project }: { project: Project }) {
  const pid = project.id;
  const counts = useData(
    async () => {
      const [all, running, flows] = await Promise.all([
        api("list_experiments", { path: { project_id: pid }, query: { limit: 1 } }),
        api("list_experiments", { path: { project_id: pid }, query: { limit: 1, ended: false } }),
        api("list_flows", { path: { project_id: pid }, query: { limit: 1 } }),
      ]);
      return { experiments: all.total, active: running.total, flows: flows.total };
    },
    [pid],
    { pollMs: 5000 },
  );
  const activity = useData(
    () => api("list_activity", { path: { project_id: pid }, query: { limit: 30 } }),
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
        <Card label="Flows" value={counts.data?.flows} to={`/projects/${pid}/flows`} />
        <Card label="Your access to jobs" value={canRunJobs(project) ? "run" : "read"} />
      </div>
      <ErrorNote error={counts.error} />
      <h2>Activity</h2>
      <ErrorNote error={activity.error} />
      {activity.data ? (
        activity.data.length ? (
          <ol className="feed">
            {activity.data.map((a) => (
              <li key={a.id}>
                <time dateTime={a.at}>{formatTime(a.at)}</time> <strong>{a.actor}</strong> {a.message}
              </li>
            ))}
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
