import { api } from "../api/client";
import { ErrorNote, Link, Loading, Pager, StateBadge } from "../components/common";
import type { Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { navigate, useLocation } from "../lib/router";
import { useData } from "../lib/useData";

const PAGE = 50;

function text(value: unknown): string {
  return value === undefined || value === null || value === "" ? "–" : String(value);
}

/** The endpoints the project's deploy tasks defined, with the bake that last defined each. */
export function Endpoints({ project }: { project: Project }) {
  const pid = project.id;
  const { query } = useLocation();
  const page = Math.max(0, Number(query.get("page") ?? "0") || 0);
  const list = useData(
    () => api("list_endpoints", { path: { project_id: pid }, query: { offset: page * PAGE, limit: PAGE } }),
    [pid, page],
    { pollMs: 5000 },
  );
  const base = `/projects/${pid}/endpoints`;
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading what="the endpoints" />;
  const items = list.data.items;
  return (
    <section className="endpoints">
      <h2>Endpoints</h2>
      {items.length === 0 ? (
        <p>
          No endpoints yet: a flow&apos;s <code>deploy</code> task defines one.
        </p>
      ) : (
        <>
          <table className="table" aria-label="Endpoints">
            <thead>
              <tr>
                <th>Title</th>
                <th>Status</th>
                <th>Predict</th>
                <th>Replicas</th>
                <th>Compute</th>
                <th>Bake</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => {
                const d = e.definition;
                return (
                  <tr key={e.id}>
                    <td>{e.title}</td>
                    <td>
                      <StateBadge state={e.status} />
                    </td>
                    <td>
                      <code>
                        {text(d.file_name)}:{text(d.function_name)}
                      </code>
                    </td>
                    <td>
                      {text(d.min_replica)}–{text(d.max_replica)}
                    </td>
                    <td>{Array.isArray(d.computes) ? d.computes.join(", ") || "–" : "–"}</td>
                    <td>{e.flow_run ? <Link to={`/projects/${pid}/bakes/${e.flow_run}`}>{e.flow_run}</Link> : "–"}</td>
                    <td>{formatTime(e.updated_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager
            page={page}
            size={PAGE}
            total={list.data.total}
            onGo={(p) => navigate(p ? `${base}?page=${p}` : base, { replace: true })}
          />
        </>
      )}
    </section>
  );
}
