import { useEffect, useState } from "react";
import { api, buildUrl, fetchBlob, type Schemas } from "../api/client";
import { OPERATIONS } from "../api/operations";
import { ErrorNote, Link, Loading } from "../components/common";
import { canWriteFiles, type Project } from "../lib/access";
import { navigate, useLocation } from "../lib/router";
import { highlightLines } from "../lib/highlight";
import { useData } from "../lib/useData";
import { DiffFiles } from "./files/DiffViews";
import { Tokens } from "./files/Highlighted";
import { Notebook } from "./files/Notebook";
import { UploadZone } from "./files/Upload";
import { useVersions, VersionSelect } from "./files/Versions";

const PAGE = 50;

/** The files repo's versions (master's and the experiments' branches), the tree at one as a
 * folder browser, a viewer for one file with its Diff button, and uploads by drag and drop. */
export function Files({ project }: { project: Project }) {
  const { query } = useLocation();
  const base = `/projects/${project.id}/files`;
  const { commits, branches } = useVersions(project.id);
  // nothing on master yet (only experiments' outputs): show the newest branch
  const version = query.get("v") ?? commits.data?.[0]?.id ?? branches[0]?.name ?? "";
  const folder = query.get("dir") ?? "";
  const file = query.get("file");
  const tree = useData(
    () =>
      version
        ? api("files_get_tree", { path: { project_id: project.id }, query: { commit: version } })
        : Promise.resolve(undefined),
    [project.id, version],
  );
  const go = (v: string, dir: string, f?: string | null) => {
    const q = new URLSearchParams({ v });
    if (dir) q.set("dir", dir);
    if (f) q.set("file", f);
    navigate(`${base}?${q.toString()}`);
  };
  const uploaded = (commit: string) => {
    commits.reload();
    go(commit, folder);
  };
  if (commits.error) return <ErrorNote error={commits.error} />;
  if (!commits.data) return <Loading what="the versions" />;
  const empty = commits.data.length === 0 && branches.length === 0;
  const browser = empty ? (
    <p>
      No files yet: <code>hw sync</code> in a linked folder uploads them{canWriteFiles(project) ? ", or drop them here" : ""}.
    </p>
  ) : (
    <>
      <div className="toolbar">
        <VersionSelect label="Version" value={version} commits={commits.data} branches={branches} onChange={(v) => go(v, folder)} />{" "}
        <Link to={`${base}/diff`}>Compare versions</Link>
      </div>
      {tree.error ? <ErrorNote error={tree.error} /> : null}
      {tree.data ? (
        <FolderView entries={tree.data.entries} folder={folder} onOpen={(dir, f) => go(version, dir, f)} />
      ) : (
        <Loading what="the tree" />
      )}
    </>
  );
  const content = (
    <>
      {browser}
      {file && version ? (
        <>
          <DiffBar project={project} version={version} path={file} commits={commits.data} branches={branches} />
          <Viewer projectId={project.id} commit={version} path={file} />
        </>
      ) : null}
    </>
  );
  return (
    <section className="files">
      {canWriteFiles(project) ? (
        <UploadZone projectId={project.id} folder={folder} onDone={uploaded}>
          {content}
        </UploadZone>
      ) : (
        content
      )}
    </section>
  );
}

/** The seed's Diff button: this file at this version against the version chosen here. */
function DiffBar({
  project,
  version,
  path,
  commits,
  branches,
}: {
  project: Project;
  version: string;
  path: string;
  commits: Schemas["CommitOut"][];
  branches: Schemas["BranchOut"][];
}) {
  const others = [...commits.map((c) => c.id), ...branches.map((b) => b.name)].filter((v) => v !== version);
  const [other, setOther] = useState(others[0] ?? "");
  const chosen = others.includes(other) ? other : (others[0] ?? "");
  if (!chosen) return null;
  const href = `/projects/${project.id}/files/diff?${new URLSearchParams({ a: chosen, b: version, path }).toString()}`;
  return (
    <div className="toolbar diff-bar">
      <VersionSelect
        label="Compare with"
        value={chosen}
        commits={commits.filter((c) => c.id !== version)}
        branches={branches.filter((b) => b.name !== version)}
        onChange={setOther}
      />{" "}
      <button type="button" onClick={() => navigate(href)}>
        Diff
      </button>
    </div>
  );
}

function FolderView({
  entries,
  folder,
  onOpen,
}: {
  entries: Schemas["EntryModel"][];
  folder: string;
  onOpen: (dir: string, file?: string) => void;
}) {
  const prefix = folder ? `${folder}/` : "";
  const dirs = new Set<string>();
  const files: Schemas["EntryModel"][] = [];
  for (const e of entries) {
    if (!e.path.startsWith(prefix)) continue;
    const rest = e.path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash >= 0) dirs.add(rest.slice(0, slash));
    else files.push(e);
  }
  const parts = folder ? folder.split("/") : [];
  return (
    <div className="folder">
      <nav aria-label="Folder" className="crumbs">
        <button type="button" className="linkish" onClick={() => onOpen("")}>
          (root)
        </button>
        {parts.map((p, i) => (
          <span key={i}>
            {" / "}
            <button type="button" className="linkish" onClick={() => onOpen(parts.slice(0, i + 1).join("/"))}>
              {p}
            </button>
          </span>
        ))}
      </nav>
      <table className="table" aria-label="Files">
        <thead>
          <tr>
            <th>Name</th>
            <th>Size</th>
          </tr>
        </thead>
        <tbody>
          {[...dirs].sort().map((d) => (
            <tr key={`d:${d}`}>
              <td>
                <button type="button" className="linkish" onClick={() => onOpen(prefix + d)}>
                  {d}/
                </button>
              </td>
              <td />
            </tr>
          ))}
          {files.map((f) => (
            <tr key={f.path}>
              <td>
                <button type="button" className="linkish" onClick={() => onOpen(folder, f.path)}>
                  {f.path.slice(prefix.length)}
                </button>
              </td>
              <td>{f.size}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A version of a dataset or a model; without one, the viewer shows the project's files. */
export interface Collection {
  kind: "dataset" | "model";
  name: string;
}

function previewOf(projectId: string, commit: string, path: string, collection: Collection | undefined, offset: number) {
  const query = { commit, rows: PAGE, offset };
  if (collection?.kind === "dataset") {
    return api("dataset_preview", { path: { project_id: projectId, name: collection.name, path }, query });
  }
  if (collection?.kind === "model") {
    return api("model_preview", { path: { project_id: projectId, name: collection.name, path }, query });
  }
  return api("files_preview", { path: { project_id: projectId, path }, query });
}

function contentUrl(projectId: string, commit: string, path: string, collection: Collection | undefined): string {
  if (collection) {
    const op = collection.kind === "dataset" ? OPERATIONS.dataset_get_content : OPERATIONS.model_get_content;
    return buildUrl(op[1], { project_id: projectId, name: collection.name, path }, { commit });
  }
  return buildUrl(OPERATIONS.files_get_content[1], { project_id: projectId, path }, { commit });
}

/** One file through the server's preview route: a CSV table paged by the server (any size), an
 * image, text, or notebook cells. */
export function Viewer({
  projectId,
  commit,
  path,
  collection,
}: {
  projectId: string;
  commit: string;
  path: string;
  collection?: Collection;
}) {
  const [offset, setOffset] = useState(0);
  const where = [projectId, commit, path, collection?.kind, collection?.name];
  const [shownFor, setShownFor] = useState(where.join("\0"));
  if (shownFor !== where.join("\0")) {
    setShownFor(where.join("\0")); // another file: back to its first page
    setOffset(0);
  }
  const preview = useData(
    () => previewOf(projectId, commit, path, collection, offset),
    [...where, offset],
  );
  if (preview.error) return <ErrorNote error={preview.error} />;
  if (!preview.data) return <Loading what={path} />;
  const p = preview.data;
  let body;
  if (p.kind === "csv") {
    const rows = p.rows ?? [];
    const first = p.offset ?? 0;
    body = (
      <>
        <table className="table" aria-label="CSV">
          <thead>
            <tr>
              {(p.columns ?? []).map((c, i) => (
                <th key={i}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={first + i}>
                {r.map((v, j) => (
                  <td key={j}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <div className="pager">
          <button type="button" disabled={first === 0 || preview.loading} onClick={() => setOffset(Math.max(0, first - PAGE))}>
            Previous
          </button>{" "}
          <span role="status">
            Rows {rows.length ? first + 1 : first}–{first + rows.length}
            {p.truncated ? "" : " (the end)"}
          </span>{" "}
          <button type="button" disabled={!p.truncated || preview.loading} onClick={() => setOffset(first + PAGE)}>
            Next
          </button>
        </div>
      </>
    );
  } else if (p.kind === "image") {
    body = <AuthorizedImage url={contentUrl(projectId, commit, path, collection)} alt={path} />;
  } else if (p.kind === "notebook") {
    body = <Notebook cells={p.cells ?? []} />;
  } else if (p.text != null) {
    body = <NumberedText text={p.text} path={path} />;
  } else {
    body = <p className="muted">A binary file ({p.content_type}), not shown.</p>;
  }
  return (
    <div className="viewer" aria-label="Viewer">
      <h2>{path}</h2>
      <p className="muted">
        {p.size} bytes{p.truncated && p.kind !== "csv" ? " (shown in part)" : ""}
      </p>
      {body}
    </div>
  );
}

/** An image fetched with the caller's credentials (cookie or token) and shown from memory. */
function AuthorizedImage({ url, alt }: { url: string; alt: string }) {
  const blob = useData(() => fetchBlob(url), [url]);
  const [objectUrl, setObjectUrl] = useState<string>();
  useEffect(() => {
    if (!blob.data) return;
    const made = URL.createObjectURL(blob.data);
    // an object URL is an external resource: made and revoked with the blob, as an effect
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setObjectUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [blob.data]);
  if (blob.error) return <ErrorNote error={blob.error} />;
  if (!objectUrl) return <Loading what={alt} />;
  return <img src={objectUrl} alt={alt} style={{ maxWidth: "100%" }} />;
}

/** Text with line numbers in a gutter as wide as the largest, highlighted by the file's
 * language (see lib/highlight); long lines wrap rather than scroll sideways. */
function NumberedText({ text, path }: { text: string; path: string }) {
  const lines = highlightLines(text, path);
  const width = `${String(lines.length).length + 1}ch`;
  return (
    <pre className="numbered" data-testid="source">
      {lines.map((tokens, i) => (
        <div key={i} className="line">
          <span className="ln" style={{ width }}>
            {i + 1}
          </span>
          <span className="code">
            <Tokens tokens={tokens} />
          </span>
        </div>
      ))}
    </pre>
  );
}

/** Two versions, the files that changed between them (or one file's changes, from a file's
 * Diff button), their hunks side by side. */
export function FilesDiff({ project }: { project: Project }) {
  const { query } = useLocation();
  const base = `/projects/${project.id}/files/diff`;
  const { commits, branches } = useVersions(project.id);
  const list = commits.data ?? [];
  const a = query.get("a") ?? list[1]?.id ?? list[0]?.id ?? "";
  const b = query.get("b") ?? list[0]?.id ?? "";
  const path = query.get("path") ?? "";
  const diff = useData(
    () =>
      a && b
        ? api("files_diff", { path: { project_id: project.id }, query: { a, b, path: path || undefined } })
        : Promise.resolve(undefined),
    [project.id, a, b, path],
  );
  if (commits.error) return <ErrorNote error={commits.error} />;
  if (!commits.data) return <Loading what="the versions" />;
  const pick = (na: string, nb: string) => {
    const q = new URLSearchParams({ a: na, b: nb });
    if (path) q.set("path", path);
    navigate(`${base}?${q.toString()}`);
  };
  const fileHref = `/projects/${project.id}/files?${new URLSearchParams({ v: b, file: path }).toString()}`;
  return (
    <section className="files-diff">
      <h2>{path ? `Changes to ${path}` : "Compare versions"}</h2>
      <div className="toolbar">
        <VersionSelect label="Older" value={a} commits={list} branches={branches} onChange={(v) => pick(v, b)} />{" "}
        <VersionSelect label="Newer" value={b} commits={list} branches={branches} onChange={(v) => pick(a, v)} />{" "}
        {path ? <Link to={fileHref}>Back to the file</Link> : null}{" "}
        <Link to={`/projects/${project.id}/files`}>Browse files</Link>
      </div>
      {diff.error ? <ErrorNote error={diff.error} /> : null}
      {diff.data ? <DiffFiles files={diff.data.files} /> : a && b ? <Loading what="the diff" /> : null}
    </section>
  );
}
