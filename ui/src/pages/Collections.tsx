import { api, type Schemas } from "../api/client";
import { ErrorNote, Link, Loading } from "../components/common";
import type { Project } from "../lib/access";
import { describeSource, type ModelSource } from "../lib/modelSource";
import { navigate, useLocation } from "../lib/router";
import { useData } from "../lib/useData";
import { Viewer, type Collection } from "./Files";

type Kind = Collection["kind"];
const PLURAL: Record<Kind, { title: string; lower: string }> = {
  dataset: { title: "Datasets", lower: "datasets" },
  model: { title: "Models", lower: "models" },
};

function listOf(kind: Kind, pid: string) {
  return kind === "dataset"
    ? api("list_datasets", { path: { project_id: pid } })
    : api("list_models", { path: { project_id: pid } });
}

function commitsOf(kind: Kind, pid: string, name: string) {
  const path = { project_id: pid, name };
  return kind === "dataset" ? api("dataset_list_commits", { path }) : api("model_list_commits", { path });
}

function treeOf(kind: Kind, pid: string, name: string, commit: string) {
  const args = { path: { project_id: pid, name }, query: { commit } };
  return kind === "dataset" ? api("dataset_get_tree", args) : api("model_get_tree", args);
}

export const Datasets = ({ project }: { project: Project }) => <Collections project={project} kind="dataset" />;
export const Models = ({ project }: { project: Project }) => <Collections project={project} kind="model" />;

/** The project's datasets or models; for the chosen one its versions and the files at one, and
 * for a dataset its saved queries. */
function Collections({ project, kind }: { project: Project; kind: Kind }) {
  const { query } = useLocation();
  const words = PLURAL[kind];
  const base = `/projects/${project.id}/${words.lower}`;
  const list = useData(() => listOf(kind, project.id), [project.id, kind]);
  const name = query.get("name");
  const open = (q: Record<string, string>) => navigate(`${base}?${new URLSearchParams(q).toString()}`);
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading what={`the ${words.lower}`} />;
  return (
    <section className={words.lower}>
      <h2>{words.title}</h2>
      {list.data.length === 0 ? (
        <p>
          No {words.lower} yet: <code>hw {kind} create NAME</code> makes one.
        </p>
      ) : (
        <table className="table" aria-label={words.title}>
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
      {name ? <Versions projectId={project.id} kind={kind} name={name} query={query} open={open} /> : null}
    </section>
  );
}

function Versions({
  projectId,
  kind,
  name,
  query,
  open,
}: {
  projectId: string;
  kind: Kind;
  name: string;
  query: URLSearchParams;
  open: (q: Record<string, string>) => void;
}) {
  const commits = useData(() => commitsOf(kind, projectId, name), [projectId, kind, name]);
  const version = query.get("v") ?? commits.data?.[0]?.id ?? "";
  const file = query.get("file");
  const tree = useData(
    () => (version ? treeOf(kind, projectId, name, version) : Promise.resolve(undefined)),
    [projectId, kind, name, version],
  );
  return (
    <div className={kind}>
      <h2>{name}</h2>
      {commits.error ? <ErrorNote error={commits.error} /> : null}
      {commits.data && commits.data.length === 0 ? <p>No versions yet.</p> : null}
      {commits.data && commits.data.length > 0 ? (
        <label>
          Version{" "}
          <select aria-label={`${kind === "dataset" ? "Dataset" : "Model"} version`} value={version} onChange={(e) => open({ name, v: e.target.value })}>
            {commits.data.map((c: Schemas["CommitOut"]) => (
              <option key={c.id} value={c.id}>
                {c.id.slice(0, 10)} {c.message} — {new Date(c.created_at).toLocaleString()} ({c.files} files)
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {(() => {
        const source = commits.data?.find((c) => c.id === version)?.source;
        return source ? <Source projectId={projectId} source={source} /> : null;
      })()}
      {tree.error ? <ErrorNote error={tree.error} /> : null}
      {tree.data ? (
        <table className="table" aria-label={`${kind === "dataset" ? "Dataset" : "Model"} files`}>
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
      {file && version ? <Viewer projectId={projectId} commit={version} path={file} collection={{ kind, name }} /> : null}
      {kind === "dataset" ? <Queries projectId={projectId} name={name} /> : null}
    </div>
  );
}

/** Where a model version came from: its experiment (a link), what it registered, and the
 * experiment's params and final metrics. */
function Source({ projectId, source }: { projectId: string; source: ModelSource }) {
  const said = describeSource(projectId, source);
  return (
    <dl className="model-source" aria-label="Version source">
      <dt>Source</dt>
      <dd>
        <Link to={said.href}>{said.label}</Link> (<code>{said.path}</code>)
      </dd>
      {said.params ? (
        <>
          <dt>Params</dt>
          <dd>{said.params}</dd>
        </>
      ) : null}
      {said.metrics ? (
        <>
          <dt>Metrics</dt>
          <dd>{said.metrics}</dd>
        </>
      ) : null}
    </dl>
  );
}

function Queries({ projectId, name }: { projectId: string; name: string }) {
  const queries = useData(() => api("list_queries", { path: { project_id: projectId, name } }), [projectId, name]);
  return (
    <>
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
    </>
  );
}
