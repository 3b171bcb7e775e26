import { describe, expect, it } from "vitest";
import { type Activity, groupFeed, numberRanges } from "./feed";

let id = 0;
const commit = (experiment?: number): Activity => ({
  id: ++id,
  kind: "version_committed",
  actor: "ann",
  message: experiment ? `outputs of experiment ${experiment}: 1 file(s)` : "committed 1 file(s) to files",
  at: "2026-01-01T00:00:00Z",
  data: experiment ? { experiment } : {},
});
const other = (): Activity => ({ ...commit(), kind: "run_started", message: "started run 1" });

describe("groupFeed", () => {
  it("folds consecutive machine commits into one line", () => {
    const lines = groupFeed([other(), commit(5), commit(4), commit(3), commit(), commit(2)]);
    expect(lines.map((l) => l.kind)).toEqual(["one", "outputs", "one", "one"]);
    const folded = lines[1];
    expect(folded.kind === "outputs" && folded.experiments).toEqual([3, 4, 5]);
    expect(folded.kind === "outputs" && folded.items.length).toBe(3);
  });

  it("leaves a lone machine commit and people's commits as they are", () => {
    expect(groupFeed([commit(1), commit(), commit()]).map((l) => l.kind)).toEqual(["one", "one", "one"]);
  });
});

describe("numberRanges", () => {
  it("writes runs as ranges", () => {
    expect(numberRanges([1, 2, 3, 5, 7, 8])).toBe("1–3, 5, 7–8");
    expect(numberRanges([4])).toBe("4");
  });
});
