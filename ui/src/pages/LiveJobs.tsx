import { api } from "../api/client";
import { ErrorNote, Link, Loading, StateBadge } from "../components/common";
import type { Project } from "../lib/access";
import { useData } from "../lib/useData";

const LIVE = "live:";

/** Live jobs are experiments titled `live:<job>`: the recent experiments, filtered here. */
export function LiveJobs({ project }: { project: Project }) {
  const exps = useData(
    () => api("list_experiments", { path: { project_id: project.id }, query: { limit: 1000 } }),
    [project.id],
    { pollMs: 5000, poll: true },
  );
  if (exps.error) return <ErrorNote error={exps.error} />;
  if (!exps.data) return <Loading what="the live jobs" />;
  const live = exps.data.items.filter((e) => e.title.startsWith(LIVE));
  return (
    <section className="live-jobs">
      <h2>Live jobs</h2>
      <p className="muted">Experiments titled “live:&lt;job&gt;” among the latest 1000.</p>
      {live.length === 0 ? (
        <p>No live jobs.</p>
      ) : (
        <table className="table" aria-label="Live jobs">
          <thead>
            <tr>
              <th>#</th>
              <th>Job</th>
              <th>State</th>
              <th>Started</th>
              <th>Ended</th>
            </tr>
          </thead>
          <tbody>
            {live.map((e) => (
              <tr key={e.id}>
                <td>
                  <Link to={`/projects/${project.id}/experiments/${e.number}`}>{e.number}</Link>
                </td>
                <td>{e.title.slice(LIVE.length)}</td>
                <td>
                  <StateBadge state={e.state} />
                </td>
                <td>{e.started_at ? new Date(e.started_at).toLocaleString() : "–"}</td>
                <td>{e.ended_at ? new Date(e.ended_at).toLocaleString() : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
