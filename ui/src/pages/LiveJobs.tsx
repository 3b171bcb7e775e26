import { api } from "../api/client";
import { ErrorNote, Link, Loading, Pager, StateBadge } from "../components/common";
import type { Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { navigate, useLocation } from "../lib/router";
import { useData } from "../lib/useData";

export const LIVE = "live:";
const PAGE = 50;

/** Live jobs are experiments titled `live:<job>` (`hw live run`); the server finds and pages them. */
export function LiveJobs({ project }: { project: Project }) {
  const { query } = useLocation();
  const page = Math.max(0, Number(query.get("page") ?? "0") || 0);
  const exps = useData(
    () =>
      api("list_experiments", {
        path: { project_id: project.id },
        query: { title_prefix: LIVE, offset: page * PAGE, limit: PAGE },
      }),
    [project.id, page],
    { pollMs: 5000 },
  );
  const base = `/projects/${project.id}/live`;
  if (exps.error) return <ErrorNote error={exps.error} />;
  if (!exps.data) return <Loading what="the live jobs" />;
  const live = exps.data.items;
  return (
    <section className="live-jobs">
      <h2>Live jobs</h2>
      {live.length === 0 ? (
        <p>
          No live jobs: <code>hw live run JOB</code> starts one from <code>.headwater/live.yaml</code>.
        </p>
      ) : (
        <>
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
                  <td>{formatTime(e.started_at)}</td>
                  <td>{formatTime(e.ended_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            page={page}
            size={PAGE}
            total={exps.data.total}
            onGo={(p) => navigate(p ? `${base}?page=${p}` : base, { replace: true })}
            labels={["Newer", "Older"]}
          />
        </>
      )}
    </section>
  );
}
