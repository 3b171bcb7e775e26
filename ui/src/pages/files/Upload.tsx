import { useRef, useState, type DragEvent, type ReactNode } from "react";
import { api, ApiError, buildUrl, putBlob } from "../../api/client";
import { OPERATIONS } from "../../api/operations";
import { ErrorNote } from "../../components/common";
import { sha256OfBlob } from "../../lib/sha256";
import { placeUploads, uploadMessage, type Uploaded } from "../../lib/upload";

interface Picked {
  name: string; // path inside the drop: a dropped folder keeps its folders
  file: File;
}

/**
 * Drop files (or folders) anywhere on `children`, or pick them, to add them to `folder` as one
 * new version of the project's files, on top of the newest: blobs the server lacks are uploaded
 * (PUT, checked against their sha256), then one commit. The server's limits and refusals (a
 * name it will not store, a commit too large) are shown as they come.
 */
export function UploadZone({
  projectId,
  folder,
  onDone,
  children,
}: {
  projectId: string;
  folder: string;
  onDone: (commit: string) => void;
  children: ReactNode;
}) {
  const [over, setOver] = useState(false);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const upload = async (picked: Picked[]) => {
    if (!picked.length || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const commit = await commitFiles(projectId, folder, picked, setStatus);
      setStatus(commit.unchanged ? "Nothing changed: those files are there already." : `Committed ${commit.id.slice(0, 10)}: ${commit.message}`);
      onDone(commit.id);
    } catch (err) {
      setStatus("");
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const drop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    try {
      await upload(await droppedFiles(e.dataTransfer));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div
      className={`drop-zone${over ? " over" : ""}`}
      data-testid="drop-zone"
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={drop}
    >
      <div className="toolbar">
        <button type="button" disabled={busy} onClick={() => input.current?.click()}>
          Upload files
        </button>{" "}
        <span className="muted">or drop files here to add them to {folder ? `${folder}/` : "the top folder"}</span>
        <input
          ref={input}
          type="file"
          multiple
          hidden
          aria-label="Files to upload"
          onChange={(e) => {
            const files = [...(e.target.files ?? [])].map((file) => ({ name: file.name, file }));
            e.target.value = "";
            void upload(files);
          }}
        />
      </div>
      <p role="status" className="muted">
        {status}
      </p>
      <ErrorNote error={error} />
      {children}
    </div>
  );
}

async function commitFiles(
  projectId: string,
  folder: string,
  picked: Picked[],
  say: (s: string) => void,
) {
  const path = { project_id: projectId };
  const uploaded: Uploaded[] = [];
  for (const [i, p] of picked.entries()) {
    say(`Reading ${i + 1} of ${picked.length}: ${p.name}`);
    uploaded.push({ name: p.name, hash: await sha256OfBlob(p.file), size: p.file.size });
  }
  const { missing } = await api("files_missing_objects", { path, body: { hashes: uploaded.map((u) => u.hash) } });
  const wanted = new Set(missing);
  for (const [i, p] of picked.entries()) {
    const hash = uploaded[i].hash;
    if (!wanted.has(hash)) continue;
    wanted.delete(hash); // the same bytes twice go up once
    say(`Uploading ${p.name} (${p.file.size} bytes)`);
    await putBlob(buildUrl(OPERATIONS.files_upload_object[1], { ...path, digest: hash }), p.file);
  }
  const head = await api("files_get_tree", { path }).catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null; // nothing committed yet
    throw err;
  });
  say("Committing");
  return api("files_commit", {
    path,
    body: {
      base: head?.commit.id ?? null,
      entries: placeUploads(head?.entries ?? [], folder, uploaded),
      message: uploadMessage(folder, uploaded.map((u) => u.name)),
    },
  });
}

/** The files of a drop; a folder's files with their paths inside it. */
async function droppedFiles(transfer: DataTransfer): Promise<Picked[]> {
  const entries = [...transfer.items]
    .map((item) => (item.kind === "file" ? item.webkitGetAsEntry?.() : null))
    .filter((e): e is FileSystemEntry => Boolean(e));
  if (!entries.length) return [...transfer.files].map((file) => ({ name: file.name, file }));
  const out: Picked[] = [];
  for (const entry of entries) await walk(entry, "", out);
  return out;
}

async function walk(entry: FileSystemEntry, prefix: string, out: Picked[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    out.push({ name: prefix + entry.name, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return;
    for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
  }
}
