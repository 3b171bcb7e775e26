import { describe, expect, it } from "vitest";
import { alignCells, diffLines, type CellDiff } from "./notebookDiff";

const cell = (status: string, old: string | null, neu: string | null, type = "code"): CellDiff => ({
  index: 0,
  cell_type: type,
  status,
  old_source: old,
  new_source: neu,
  outputs_changed: false,
});

describe("alignCells", () => {
  it("numbers each side and colours only what changed", () => {
    const rows = alignCells([
      cell("unchanged", "# Title", "# Title", "markdown"),
      cell("removed", "x = 1", null),
      cell("modified", "a = 1\nb = 2\nc = 3", "a = 1\nb = 20\nc = 3"),
      cell("added", null, "print(b)"),
      cell("unchanged", "done", "done", "markdown"),
    ]);
    expect(rows.map((r) => [r.oldNumber, r.newNumber, r.cellType, r.changed])).toEqual([
      [1, 1, "markdown", false],
      [2, null, "code", true],
      [3, 2, "code", true],
      [null, 3, "code", true],
      [4, 4, "markdown", false],
    ]);
    expect(rows[0].old).toEqual([{ text: "# Title", tag: "equal" }]);
    expect(rows[1].old).toEqual([{ text: "x = 1", tag: "removed" }]);
    expect(rows[1].new).toBeNull();
    expect(rows[2].old!.map((l) => l.tag)).toEqual(["equal", "removed", "equal"]);
    expect(rows[2].new!.map((l) => [l.text, l.tag])).toEqual([
      ["a = 1", "equal"],
      ["b = 20", "added"],
      ["c = 3", "equal"],
    ]);
    expect(rows[3].new).toEqual([{ text: "print(b)", tag: "added" }]);
  });
  it("marks a cell whose source stayed but whose outputs changed", () => {
    const [row] = alignCells([{ ...cell("unchanged", "f()", "f()"), outputs_changed: true }]);
    expect([row.changed, row.outputsChanged, row.new![0].tag]).toEqual([true, true, "equal"]);
  });
});

describe("diffLines", () => {
  it("keeps common lines and lists removals before additions", () => {
    expect(diffLines(["a", "b", "c", "d"], ["a", "x", "y", "d"]).map((l) => l.tag + ":" + l.text)).toEqual([
      "equal:a",
      "removed:b",
      "removed:c",
      "added:x",
      "added:y",
      "equal:d",
    ]);
    expect(diffLines([], ["n"])).toEqual([{ text: "n", tag: "added" }]);
  });
});
