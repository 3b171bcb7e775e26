import { api, type Schemas } from "../api/client";
import { ErrorNote, Loading } from "../components/common";
import type { Project } from "../lib/access";
import { navigate, useLocation } from "../lib/router";
import { useData } from "../lib/useData";
import { Viewer } from "./Files";

/** The project's datasets; for the chosen one its versions, the files at one, and saved queries. */
export function Datasets({ project }: { project: Project }) {
  const { query } = useLocation();
  const base = `/projects/${project.id}/datasets`;
  const list = useData(() => api("list_datasets", { path: { project_id: project.id } }), [project.id]);
  const name = query.get("name");
  const open = (q: Record<string, string>) => navigate(`${base}?${new URLSearchParams(q).toString()}`);
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading what="the datasets" />;
  return (
    <section className="datasets">
      <h2>Datasets</h2>
      {list.data.length === 0 ? (
        <p>No datasets yet: `hw dataset create NAME` makes one.</p>
      ) : (
        <table className="table" aria-label="Datasets">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th>Latest version</th>
              <th>Files</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((d) => (
              <tr key={d.id} aria-current={d.name === name ? "true" : undefined}>
                <td>
                  <button type="button" className="linkish" onClick={() => open({ name: d.name })}>
                    {d.name}
                  </button>
                </td>
                <td>{d.description}</td>
                <td>{d.head ? d.head.id.slice(0, 10) : "–"}</td>
                <td>{d.head?.files ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {name ? <Dataset projectId={project.id} name={name} query={query} open={open} /> : null}
    </section>
  );
}

function Dataset({
  projectId,
  name,
  query,
  open,
}: {
  projectId: string;
  name: string;
  query: URLSearchParams;
  open: (q: Record<string, string>) => void;
}) {
  const path = { project_id: projectId, name };
  const commits = useData(() => api("dataset_list_commits", { path }), [projectId, name]);
  const queries = useData(() => api("list_queries", { path }), [projectId, name]);
  const version = query.get("v") ?? commits.data?.[0]?.id ?? "";
  const file = query.get("file");
  const tree = useData(
    () => (version ? api("dataset_get_tree", { path, query: { commit: version } }) : Promise.resolve(undefined)),
    [projectId, name, version],
  );
  return (
    <div className="dataset">
      <h2>{name}</h2>
      {commits.error ? <ErrorNote error={commits.error} /> : null}
      {commits.data && commits.data.length === 0 ? <p>No versions yet.</p> : null}
      {commits.data && commits.data.length > 0 ? (
        <label>
          Version{" "}
          <select aria-label="Dataset version" value={version} onChange={(e) => open({ name, v: e.target.value })}>
            {commits.data.map((c: Schemas["CommitOut"]) => (
              <option key={c.id} value={c.id}>
                {c.id.slice(0, 10)} {c.message} — {new Date(c.created_at).toLocaleString()} ({c.files} files)
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {tree.error ? <ErrorNote error={tree.error} /> : null}
      {tree.data ? (
        <table className="table" aria-label="Dataset files">
          <thead>
            <tr>
              <th>Path</th>
              <th>Size</th>
            </tr>
          </thead>
          <tbody>
            {tree.data.entries.map((e) => (
              <tr key={e.path}>
                <td>
                  <button type="button" className="linkish" onClick={() => open({ name, v: version, file: e.path })}>
                    {e.path}
                  </button>
                </td>
                <td>{e.size}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {file && version ? <Viewer projectId={projectId} commit={version} path={file} dataset={name} /> : null}
      <h3>Saved queries</h3>
      {queries.error ? <ErrorNote error={queries.error} /> : null}
      {queries.data && queries.data.length === 0 ? <p className="muted">No saved queries.</p> : null}
      {queries.data && queries.data.length > 0 ? (
        <table className="table" aria-label="Saved queries">
          <thead>
            <tr>
              <th>Name</th>
              <th>Query</th>
              <th>Filter</th>
              <th>Pinned version</th>
            </tr>
          </thead>
          <tbody>
            {queries.data.map((q) => (
              <tr key={q.name}>
                <td>{q.name}</td>
                <td>
                  <code>{q.query}</code>
                </td>
                <td>
                  <code>{q.filter}</code>
                </td>
                <td>{q.commit ? q.commit.slice(0, 10) : "latest"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
