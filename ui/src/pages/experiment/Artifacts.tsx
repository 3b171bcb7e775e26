import { useState, type FormEvent } from "react";
import { api, buildUrl, fetchBlob, tokenStore, type Schemas } from "../../api/client";
import { OPERATIONS } from "../../api/operations";
import { ErrorNote, Link, Loading } from "../../components/common";
import { canWriteModels, type Project } from "../../lib/access";
import { useData } from "../../lib/useData";
import { Viewer } from "../Files";

type Experiment = Schemas["ExperimentOut"];

/** What an experiment produced: the files of its output folder at its output commit (on its own
 * branch of the project's files), each opened in the file viewer or downloaded, and the outputs
 * (or one file) registered as a model version. */
export function Artifacts({ project, experiment }: { project: Project; experiment: Experiment }) {
  const commit = experiment.output_commit;
  const folder = experiment.output_dir.replace(/^\/+|\/+$/g, "");
  const [open, setOpen] = useState<string | null>(null);
  const tree = useData(
    () =>
      commit
        ? api("files_get_tree", { path: { project_id: project.id }, query: { commit, prefix: folder || undefined } })
        : Promise.resolve(undefined),
    [project.id, commit, folder],
  );
  const entries = tree.data?.entries ?? [];
  return (
    <section className="artifacts" aria-labelledby="artifacts-title">
      <h3 id="artifacts-title">Artifacts</h3>
      {!commit ? (
        <p className="muted">
          No artifacts yet: what the command leaves in <code>{folder}/</code> is committed on branch{" "}
          <code>{experiment.branch}</code> when it ends.
        </p>
      ) : tree.error ? (
        <ErrorNote error={tree.error} />
      ) : !tree.data ? (
        <Loading what="the artifacts" />
      ) : (
        <>
          <p className="muted">
            <code>{folder}/</code> at {commit.slice(0, 10)} on <code>{experiment.branch}</code> ·{" "}
            <Link to={`/projects/${project.id}/files?${new URLSearchParams({ v: experiment.branch, dir: folder }).toString()}`}>
              Browse the branch
            </Link>
          </p>
          {entries.length === 0 ? (
            <p className="muted">The output folder was empty.</p>
          ) : (
            <table className="table" aria-label="Artifacts">
              <thead>
                <tr>
                  <th>File</th>
                  <th>Size</th>
                  <th>
                    <span className="sr-only">Download</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.path} aria-current={open === e.path ? "true" : undefined}>
                    <td>
                      <button type="button" className="linkish" onClick={() => setOpen(open === e.path ? null : e.path)}>
                        {folder ? e.path.slice(folder.length + 1) : e.path}
                      </button>
                    </td>
                    <td>{e.size}</td>
                    <td>
                      <DownloadLink projectId={project.id} commit={commit} path={e.path} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {entries.length && canWriteModels(project) ? (
            <RegisterModel project={project} experiment={experiment} folder={folder} files={entries} />
          ) : null}
          {open ? <Viewer projectId={project.id} commit={commit} path={open} /> : null}
        </>
      )}
    </section>
  );
}

/** A file's download: a plain link with the session cookie; with a token login (no cookie), the
 * bytes are fetched with the token and saved from memory. */
function DownloadLink({ projectId, commit, path }: { projectId: string; commit: string; path: string }) {
  const url = buildUrl(OPERATIONS.files_get_content[1], { project_id: projectId, path }, { commit });
  const name = path.split("/").pop() ?? path;
  const [error, setError] = useState<unknown>();
  return (
    <>
      <a
        href={url}
        download={name}
        aria-label={`Download ${name}`}
        onClick={async (e) => {
          if (!tokenStore.get()) return;
          e.preventDefault();
          try {
            const blob = await fetchBlob(url);
            const saved = URL.createObjectURL(blob);
            const a = document.createElement("a");
            a.href = saved;
            a.download = name;
            a.click();
            setTimeout(() => URL.revokeObjectURL(saved), 10_000);
          } catch (err) {
            setError(err);
          }
        }}
      >
        Download
      </a>
      <ErrorNote error={error} />
    </>
  );
}

/** "Register as model": the whole output folder or one file of it, as a new version of a model
 * (made when the name is new); the answer links to the version. */
function RegisterModel({
  project,
  experiment,
  folder,
  files,
}: {
  project: Project;
  experiment: Experiment;
  folder: string;
  files: Schemas["EntryModel"][];
}) {
  const models = useData(() => api("list_models", { path: { project_id: project.id } }), [project.id]);
  const [name, setName] = useState("");
  const [what, setWhat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<{ name: string; version: string; unchanged: boolean }>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const made = await api("model_version_from_experiment", {
        path: { project_id: project.id, name: name.trim() },
        body: { experiment: String(experiment.number), path: what || null },
      });
      setDone({ name: name.trim(), version: made.id, unchanged: made.unchanged });
      models.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="register-model toolbar" onSubmit={submit} aria-label="Register as model">
      <label>
        Model name{" "}
        <input
          required
          value={name}
          list="model-names"
          maxLength={100}
          pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
          title="Letters, digits, _ . and -, starting with a letter or digit"
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <datalist id="model-names">
        {(models.data ?? []).map((m) => (
          <option key={m.id} value={m.name} />
        ))}
      </datalist>{" "}
      <label>
        What to register{" "}
        <select value={what} onChange={(e) => setWhat(e.target.value)}>
          <option value="">All of {folder}/</option>
          {files.map((f) => (
            <option key={f.path} value={f.path}>
              {f.path}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="submit" disabled={busy || !name.trim()}>
        Register as model
      </button>
      {done ? (
        <p role="status">
          {done.unchanged ? "Already the latest version of" : "Registered as"}{" "}
          <Link to={`/projects/${project.id}/models?${new URLSearchParams({ name: done.name, v: done.version }).toString()}`}>
            model {done.name}, version {done.version.slice(0, 10)}
          </Link>
        </p>
      ) : null}
      <ErrorNote error={error} />
    </form>
  );
}
