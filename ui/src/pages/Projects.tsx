import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { ErrorNote, Link, Loading } from "../components/common";
import { formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { useData } from "../lib/useData";

export function Projects({ user }: { user: Schemas["UserOut"] }) {
  const [search, setSearch] = useState("");
  const projects = useData(
    () => api("list_projects", { query: { limit: 200, search: search || undefined } }),
    [search],
  );
  return (
    <section>
      <h1>Projects</h1>
      <CreateProject />
      <label className="inline">
        Search projects
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <ErrorNote error={projects.error} />
      {projects.data ? (
        <table className="list">
          <caption className="sr-only">Projects you can access</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Owner</th>
              <th scope="col">Your role</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {projects.data.items.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link to={`/projects/${p.id}`}>{p.name}</Link>
                  {p.personal ? <span className="badge">personal</span> : null}
                  {p.public ? <span className="badge">public</span> : null}
                </td>
                <td>{p.description}</td>
                <td>{p.owner === user.username ? "you" : p.owner}</td>
                <td>{p.role}</td>
                <td>{formatTime(p.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Loading what="projects" />
      )}
    </section>
  );
}

function CreateProject() {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [isPublic, setPublic] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const project = await api("create_project", { body: { name, description, public: isPublic } });
      navigate(`/projects/${project.id}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <details className="panel">
      <summary>New project</summary>
      <form onSubmit={submit} aria-label="New project">
        <label>
          Name
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />
          Public (every user may read it)
        </label>
        <ErrorNote error={error} />
        <button type="submit">Create project</button>
      </form>
    </details>
  );
}
