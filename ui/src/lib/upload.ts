// Files dropped on the Files page become one new version: the latest version's entries with the
// dropped files put in the folder shown (a file of the same path replaced).
import type { Schemas } from "../api/client";

export type Entry = Schemas["EntryModel"];
export interface Uploaded {
  name: string; // the file's path inside the drop (a folder dropped keeps its own folders)
  hash: string;
  size: number;
}

/** The tree after the upload, sorted by path as the server keeps it. */
export function placeUploads(entries: Entry[], folder: string, uploads: Uploaded[]): Entry[] {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const u of uploads) {
    const path = folder ? `${folder}/${u.name}` : u.name;
    byPath.set(path, { path, hash: u.hash, size: u.size, mode: 0o644 });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The new version's message: what was uploaded, and where. */
export function uploadMessage(folder: string, names: string[]): string {
  const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");
  return `Upload ${shown}${folder ? ` to ${folder}/` : ""}`;
}
