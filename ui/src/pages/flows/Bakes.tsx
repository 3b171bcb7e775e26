// Bakes: the project's flow runs (list_flow_runs), newest first, each linking to its run view.
import { api } from "../../api/client";
import { ErrorNote, Link, Loading, Pager, StateBadge, UserName } from "../../components/common";
import type { Project } from "../../lib/access";
import { duration, formatTime } from "../../lib/format";
import { navigate, useLocation } from "../../lib/router";
import { useData } from "../../lib/useData";

const PAGE = 50;

export function Bakes({ project }: { project: Project }) {
  const pid = project.id;
  const { query } = useLocation();
  const flow = query.get("flow") ?? "";
  const page = Math.max(0, Number(query.get("page") ?? "0") || 0);
  const runs = useData(
    () => api("list_flow_runs", { path: { project_id: pid }, query: { flow: flow || undefined, offset: page * PAGE, limit: PAGE } }),
    [pid, flow, page],
    { pollMs: 3000 },
  );
  const base = `/projects/${pid}/bakes`;
  const go = (p: number) => {
    const q = new URLSearchParams();
    if (flow) q.set("flow", flow);
    if (p) q.set("page", String(p));
    navigate(q.toString() ? `${base}?${q}` : base, { replace: true });
  };
  const total = runs.data?.total ?? 0;
  return (
    <section aria-labelledby="bakes-title">
      <div className="toolbar">
        <h2 id="bakes-title">Bakes{flow ? ` of ${flow}` : ""}</h2>
        <span>
          {flow ? <Link to={base}>All flows</Link> : null} <Link to={`/projects/${pid}/flows`}>Flows</Link>
        </span>
      </div>
      <ErrorNote error={runs.error} />
      {!runs.data ? (
        <Loading what="runs" />
      ) : runs.data.items.length === 0 ? (
        <p className="muted">No runs yet.</p>
      ) : (
        <>
          <table className="list" aria-label="Bakes">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Flow</th>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">By</th>
                <th scope="col">Created</th>
                <th scope="col">Ended</th>
                <th scope="col">Took</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link to={`${base}/${r.number}`}>{r.number}</Link>
                  </td>
                  <td>
                    <Link to={`/projects/${pid}/flows/edit/${encodeURIComponent(r.flow)}`}>{r.flow}</Link>
                  </td>
                  <td>{r.version}</td>
                  <td>
                    <StateBadge state={r.status} />
                  </td>
                  <td>{r.only ? `${r.trigger} (only ${r.only})` : r.trigger}</td>
                  <td>
                    <UserName project={pid} id={r.created_by} />
                  </td>
                  <td>{formatTime(r.created_at)}</td>
                  <td>{formatTime(r.ended_at)}</td>
                  <td>{duration(r.started_at ?? r.created_at, r.ended_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} size={PAGE} total={total} onGo={go} labels={["Newer", "Older"]} />
        </>
      )}
    </section>
  );
}
