import { api, type Schemas } from "../api/client";
import { ErrorNote, Link, Loading, Pager, StateBadge } from "../components/common";
import type { Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { navigate, useLocation } from "../lib/router";
import { useData } from "../lib/useData";

const PAGE = 50;

type Summary = Schemas["EndpointSummary"];

/** "v2 90% · v3 10% (canary)": the versions that serve and their share of the requests. */
export function splitText(split: Summary["split"]): string {
  if (split.length === 0) return "–";
  return split.map((s) => `v${s.version} ${s.traffic}%${s.state === "canary" ? " (canary)" : ""}`).join(" · ");
}

/** The project's endpoints: status, URL, replicas ready of wanted, and the traffic split. */
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
          No endpoints yet: <code>hw endpoint deploy</code> or a flow&apos;s <code>deploy</code> task makes one.
        </p>
      ) : (
        <>
          <table className="table" aria-label="Endpoints">
            <thead>
              <tr>
                <th>Title</th>
                <th>Status</th>
                <th>URL</th>
                <th>Replicas</th>
                <th>Versions</th>
                <th>Bake</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-endpoint={e.title}>
                  <td>
                    <Link to={`${base}/${encodeURIComponent(e.title)}`}>{e.title}</Link>
                  </td>
                  <td>
                    <StateBadge state={e.status} />
                  </td>
                  <td>
                    <code>{e.url_path}</code>
                  </td>
                  <td title={`between ${e.min_replicas} and ${e.max_replicas}`}>
                    {e.replicas_ready}/{e.replicas_wanted} ready
                  </td>
                  <td>{splitText(e.split)}</td>
                  <td>{e.flow_run ? <Link to={`/projects/${pid}/bakes/${e.flow_run}`}>{e.flow_run}</Link> : "–"}</td>
                  <td>{formatTime(e.updated_at)}</td>
                </tr>
              ))}
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
