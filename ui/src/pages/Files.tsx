import { useEffect, useState } from "react";
import { api, buildUrl, fetchBlob, type Schemas } from "../api/client";
import { OPERATIONS } from "../api/operations";
import { ErrorNote, Link, Loading } from "../components/common";
import type { Project } from "../lib/access";
import { navigate, useLocation } from "../lib/router";
import { highlightLines } from "../lib/highlight";
import { useData } from "../lib/useData";

type Commit = Schemas["CommitOut"];
const PAGE = 50;

function short(id: string): string {
  return id.slice(0, 10);
}

function commitLabel(c: Commit): string {
  return `${short(c.id)} ${c.message || "(no message)"} — ${new Date(c.created_at).toLocaleString()}`;
}

/** The files repo's versions, the tree at one as a folder browser, and a viewer for one file. */
export function Files({ project }: { project: Project }) {
  const { query } = useLocation();
  const base = `/projects/${project.id}/files`;
  const commits = useData(() => api("files_list_commits", { path: { project_id: project.id } }), [project.id]);
  const version = query.get("v") ?? commits.data?.[0]?.id ?? "";
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
  if (commits.error) return <ErrorNote error={commits.error} />;
  if (!commits.data) return <Loading what="the versions" />;
  if (commits.data.length === 0) return <p>No files yet: <code>hw sync</code> in a linked folder uploads them.</p>;
  return (
    <section className="files">
      <div className="toolbar">
        <label>
          Version{" "}
          <select aria-label="Version" value={version} onChange={(e) => go(e.target.value, folder)}>
            {commits.data.map((c) => (
              <option key={c.id} value={c.id}>
                {commitLabel(c)}
              </option>
            ))}
          </select>
        </label>{" "}
        <Link to={`${base}/diff`}>Compare versions</Link>
      </div>
      {tree.error ? <ErrorNote error={tree.error} /> : null}
      {tree.data ? (
        <FolderView entries={tree.data.entries} folder={folder} onOpen={(dir, f) => go(version, dir, f)} />
      ) : (
        <Loading what="the tree" />
      )}
      {file ? <Viewer projectId={project.id} commit={version} path={file} /> : null}
    </section>
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
    body = (p.cells ?? []).map((cell, i) => {
      const src = cell.source;
      const text = Array.isArray(src) ? src.join("") : String(src ?? "");
      return (
        <div key={i} className={`cell cell-${String(cell.cell_type)}`}>
          <div className="muted">
            [{i + 1}] {String(cell.cell_type)}
          </div>
          <pre>{text}</pre>
        </div>
      );
    });
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

/** Text with line numbers, highlighted by the file's language (see lib/highlight). */
function NumberedText({ text, path }: { text: string; path: string }) {
  const lines = highlightLines(text, path);
  return (
    <pre className="numbered" data-testid="source">
      {lines.map((tokens, i) => (
        <div key={i}>
          <span className="ln">{String(i + 1).padStart(4)} </span>
          {tokens.map((t, j) =>
            t.kind ? (
              <span key={j} className={`tok-${t.kind}`}>
                {t.text}
              </span>
            ) : (
              t.text
            ),
          )}
        </div>
      ))}
    </pre>
  );
}

/** Two versions, the files that changed between them, and their hunks side by side. */
export function FilesDiff({ project }: { project: Project }) {
  const { query } = useLocation();
  const base = `/projects/${project.id}/files/diff`;
  const commits = useData(() => api("files_list_commits", { path: { project_id: project.id } }), [project.id]);
  const list = commits.data ?? [];
  const a = query.get("a") ?? list[1]?.id ?? list[0]?.id ?? "";
  const b = query.get("b") ?? list[0]?.id ?? "";
  const diff = useData(
    () =>
      a && b
        ? api("files_diff", { path: { project_id: project.id }, query: { a, b } })
        : Promise.resolve(undefined),
    [project.id, a, b],
  );
  if (commits.error) return <ErrorNote error={commits.error} />;
  if (!commits.data) return <Loading what="the versions" />;
  const pick = (na: string, nb: string) => navigate(`${base}?a=${encodeURIComponent(na)}&b=${encodeURIComponent(nb)}`);
  const menu = (label: string, value: string, on: (v: string) => void) => (
    <label>
      {label}{" "}
      <select aria-label={label} value={value} onChange={(e) => on(e.target.value)}>
        {list.map((c) => (
          <option key={c.id} value={c.id}>
            {commitLabel(c)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="files-diff">
      <h2>Compare versions</h2>
      <div className="toolbar">
        {menu("Older", a, (v) => pick(v, b))} {menu("Newer", b, (v) => pick(a, v))}{" "}
        <Link to={`/projects/${project.id}/files`}>Browse files</Link>
      </div>
      {diff.error ? <ErrorNote error={diff.error} /> : null}
      {diff.data ? <DiffFiles files={diff.data.files} /> : a && b ? <Loading what="the diff" /> : null}
    </section>
  );
}

export function DiffFiles({ files }: { files: Schemas["FileDiff"][] }) {
  if (files.length === 0) return <p>No changes between these versions.</p>;
  return (
    <>
      <ul aria-label="Changed files">
        {files.map((f) => (
          <li key={f.path}>
            <span className={`change change-${f.kind}`}>{f.kind}</span> <a href={`#diff-${f.path}`}>{f.path}</a>
          </li>
        ))}
      </ul>
      {files.map((f) => (
        <div key={f.path} id={`diff-${f.path}`} className="file-diff">
          <h3>
            {f.path} <span className="muted">({f.kind})</span>
          </h3>
          {f.hunks && f.hunks.length ? <Hunks hunks={f.hunks} /> : null}
          {f.cells && f.cells.length ? <Cells cells={f.cells} /> : null}
          {!f.hunks?.length && !f.cells?.length ? (
            <p className="muted">
              {f.format} file: {f.old_size ?? "–"} → {f.new_size ?? "–"} bytes
            </p>
          ) : null}
        </div>
      ))}
    </>
  );
}

function Hunks({ hunks }: { hunks: Schemas["Hunk"][] }) {
  return (
    <table className="diff table">
      <tbody>
        {hunks.map((h, hi) => {
          let o = h.old_start;
          let n = h.new_start;
          return [
            <tr key={`h${hi}`} className="hunk-head">
              <td colSpan={4} className="muted">
                @@ -{h.old_start} +{h.new_start} @@
              </td>
            </tr>,
            ...h.rows.map(([left, right, tag], ri) => {
              const ol = left != null ? o++ : null;
              const nl = right != null ? n++ : null;
              return (
                <tr key={`${hi}-${ri}`} className={`row-${tag}`}>
                  <td className="ln">{ol ?? ""}</td>
                  <td className={left != null && tag !== "equal" ? "del" : ""}>
                    <pre>{left != null ? (tag === "equal" ? "  " : "- ") + left : ""}</pre>
                  </td>
                  <td className="ln">{nl ?? ""}</td>
                  <td className={right != null && tag !== "equal" ? "add" : ""}>
                    <pre>{right != null ? (tag === "equal" ? "  " : "+ ") + right : ""}</pre>
                  </td>
                </tr>
              );
            }),
          ];
        })}
      </tbody>
    </table>
  );
}

function Cells({ cells }: { cells: Schemas["CellDiff"][] }) {
  return (
    <table className="diff table">
      <tbody>
        {cells.map((c) => (
          <tr key={c.index} className={`row-${c.status}`}>
            <td className="ln">
              {c.index + 1} {c.cell_type} ({c.status}
              {c.outputs_changed ? ", outputs changed" : ""})
            </td>
            <td className={c.old_source != null && c.status !== "equal" ? "del" : ""}>
              <pre>{c.old_source ?? ""}</pre>
            </td>
            <td className={c.new_source != null && c.status !== "equal" ? "add" : ""}>
              <pre>{c.new_source ?? ""}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
