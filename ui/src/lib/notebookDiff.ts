// A notebook diff as rows to draw side by side. The server aligns the cells (storage/diffs.py):
// each row is one old cell beside the new cell it became, or a cell only one side has. Here the
// rows get both sides' cell numbers and, for an edited cell, which of its lines changed, so the
// page colours only what changed: an unchanged cell is drawn plain, however long.
import type { Schemas } from "../api/client";

export type CellDiff = Schemas["CellDiff"];
export type LineTag = "equal" | "removed" | "added";
export interface Line {
  text: string;
  tag: LineTag;
}

export interface CellRow {
  cellType: string; // "code", "markdown" or "raw"
  status: "unchanged" | "modified" | "added" | "removed";
  oldNumber: number | null; // 1-based place in the old notebook; null: the old side has none
  newNumber: number | null;
  old: Line[] | null; // the old cell's lines, the removed ones tagged
  new: Line[] | null;
  outputsChanged: boolean;
  changed: boolean; // whether the row is drawn as a change at all
}

/** The server's aligned cells as rows, numbered on each side, edited cells line by line. */
export function alignCells(cells: CellDiff[]): CellRow[] {
  let oldAt = 0;
  let newAt = 0;
  return cells.map((c) => {
    const status = normalStatus(c.status);
    const hasOld = c.old_source != null && status !== "added";
    const hasNew = c.new_source != null && status !== "removed";
    const oldNumber = hasOld ? ++oldAt : null;
    const newNumber = hasNew ? ++newAt : null;
    let old: Line[] | null = null;
    let neu: Line[] | null = null;
    if (status === "modified") {
      const rows = diffLines(splitLines(c.old_source ?? ""), splitLines(c.new_source ?? ""));
      old = rows.filter((r) => r.tag !== "added");
      neu = rows.filter((r) => r.tag !== "removed");
    } else {
      if (hasOld) old = splitLines(c.old_source ?? "").map((text) => ({ text, tag: status === "removed" ? "removed" : "equal" }));
      if (hasNew) neu = splitLines(c.new_source ?? "").map((text) => ({ text, tag: status === "added" ? "added" : "equal" }));
    }
    return {
      cellType: c.cell_type,
      status,
      oldNumber,
      newNumber,
      old,
      new: neu,
      outputsChanged: Boolean(c.outputs_changed),
      changed: status !== "unchanged" || Boolean(c.outputs_changed),
    };
  });
}

function normalStatus(status: string): CellRow["status"] {
  return status === "modified" || status === "added" || status === "removed" ? status : "unchanged";
}

export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

const LCS_MAX = 250_000; // line pairs compared; past it, a cell's lines count as all replaced

/** The lines of `a` and `b` in order, each kept, removed or added (a longest common
 * subsequence; a cell is short, so the plain quadratic table is fine up to LCS_MAX). */
export function diffLines(a: string[], b: string[]): (Line & { tag: LineTag })[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head = a.slice(0, start).map((text) => ({ text, tag: "equal" as const }));
  const tail = a.slice(endA).map((text) => ({ text, tag: "equal" as const }));
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const middle: Line[] = [];
  if (x.length * y.length > LCS_MAX) {
    x.forEach((text) => middle.push({ text, tag: "removed" }));
    y.forEach((text) => middle.push({ text, tag: "added" }));
    return [...head, ...middle, ...tail];
  }
  // best[i][j]: the longest common subsequence of x[i:] and y[j:]
  const best = Array.from({ length: x.length + 1 }, () => new Uint32Array(y.length + 1));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      best[i][j] = x[i] === y[j] ? best[i + 1][j + 1] + 1 : Math.max(best[i + 1][j], best[i][j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      middle.push({ text: x[i++], tag: "equal" });
      j++;
    } else if (j < y.length && (i === x.length || best[i][j + 1] >= best[i + 1][j])) {
      middle.push({ text: y[j++], tag: "added" });
    } else {
      middle.push({ text: x[i++], tag: "removed" });
    }
  }
  // removals before additions within a changed run, as diffs read
  return [...head, ...reorder(middle), ...tail];
}

function reorder(lines: Line[]): Line[] {
  const out: Line[] = [];
  let removed: Line[] = [];
  let added: Line[] = [];
  const flush = () => {
    out.push(...removed, ...added);
    removed = [];
    added = [];
  };
  for (const line of lines) {
    if (line.tag === "removed") removed.push(line);
    else if (line.tag === "added") added.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}
