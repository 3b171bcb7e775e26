import { describe, expect, it } from "vitest";
import { formatTick } from "./chart";
import {
  axisOf,
  columnsOf,
  coordinate,
  diffRows,
  formatDelta,
  lastOf,
  parallel,
  position,
  statOf,
  ticksOf,
  valueOf,
  type Run,
} from "./compare";

const runs: Run[] = [
  {
    label: "#1",
    params: { lr: "0.1", opt: "adam", seed: "7" },
    series: [{ key: "loss", steps: [0, 1, 2], values: [1, 0.2, 0.4] }],
  },
  {
    label: "#2",
    params: { lr: "0.5", opt: "sgd", seed: "7" },
    series: [
      { key: "loss", steps: [2, 0, 1], values: [0.3, 2, Number.NaN] },
      { key: "acc", steps: [0], values: [0.9] },
    ],
  },
];

describe("columnsOf", () => {
  it("offers the params, then each metric's last, min and max", () => {
    expect(columnsOf(runs).map((c) => c.label)).toEqual([
      "lr",
      "opt",
      "seed",
      "acc (last)",
      "acc (min)",
      "acc (max)",
      "loss (last)",
      "loss (min)",
      "loss (max)",
    ]);
  });
});

describe("statOf and valueOf", () => {
  it("takes the last value by step, not by order, and skips values that are not finite", () => {
    expect(statOf(runs[1].series[0], "last")).toBe(0.3);
    expect(statOf(runs[1].series[0], "min")).toBe(0.3);
    expect(statOf(runs[1].series[0], "max")).toBe(2);
    expect(statOf(runs[0].series[0], "last")).toBe(0.4);
    expect(statOf(undefined, "last")).toBeNull();
  });
  it("reads a param as text and a missing metric as null", () => {
    const [lr] = columnsOf(runs);
    expect(valueOf(runs[0], lr)).toBe("0.1");
    expect(valueOf(runs[0], lastOf("acc"))).toBeNull();
  });
});

describe("axes", () => {
  it("makes numbers of params that all read as numbers", () => {
    const axis = axisOf(runs, columnsOf(runs)[0]);
    expect(axis).toEqual({ kind: "number", label: "lr", min: 0.1, max: 0.5 });
    expect(position(axis, "0.5")).toBe(1);
    expect(position(axis, null)).toBeNull();
    expect(coordinate(axis, "0.1")).toBe(0.1);
  });
  it("makes categories of words, sorted, placed evenly", () => {
    const axis = axisOf(runs, columnsOf(runs)[1]);
    expect(axis).toEqual({ kind: "category", label: "opt", categories: ["adam", "sgd"] });
    expect(coordinate(axis, "sgd")).toBe(1);
    expect(position(axis, "adam")).toBe(0);
    expect(position(axis, "rmsprop")).toBeNull();
    expect(ticksOf(axis, formatTick)).toEqual([
      { at: 0, text: "adam" },
      { at: 1, text: "sgd" },
    ]);
  });
  it("widens a flat axis, puts its points mid-way and labels its one value", () => {
    const axis = axisOf(runs, columnsOf(runs)[2]);
    expect(position(axis, "7")).toBeCloseTo(0.5);
    expect(ticksOf(axis, formatTick)).toEqual([{ at: 0.5, text: "7" }]);
  });
  it("labels a numeric axis at its ends and middle", () => {
    const axis = axisOf(runs, columnsOf(runs)[0]);
    expect(ticksOf(axis, formatTick).map((t) => t.text)).toEqual(["0.1", "0.3", "0.5"]);
  });
});

describe("parallel", () => {
  it("gives an axis per param and the metric last, a line per run, null where a value is missing", () => {
    const pc = parallel(runs, ["lr", "opt"], lastOf("acc"));
    expect(pc.axes.map((a) => a.label)).toEqual(["lr", "opt", "acc (last)"]);
    expect(pc.lines[0]).toEqual([0, 0, null]);
    expect(pc.lines[1][0]).toBe(1);
    expect(pc.lines[1][1]).toBe(1);
    expect(pc.lines[1][2]).toBeCloseTo(0.5);
  });
});

describe("diffRows", () => {
  it("marks rows that differ and gives numbers their change from the first run", () => {
    const rows = diffRows(runs, formatTick);
    expect(rows.map((r) => `${r.kind}:${r.key}:${r.differs}`)).toEqual([
      "param:lr:true",
      "param:opt:true",
      "param:seed:false",
      "metric:acc:true",
      "metric:loss:true",
    ]);
    expect(rows[0].values).toEqual(["0.1", "0.5"]);
    expect(rows[0].deltas[1]).toBeCloseTo(0.4);
    expect(rows[1].deltas).toEqual([null, null]); // words
    expect(rows[2].deltas).toEqual([null, null]); // no change
    expect(rows[3].values).toEqual([null, "0.9"]); // #1 logged no acc
    expect(rows[3].deltas).toEqual([null, null]);
    expect(rows[4].deltas[1]).toBeCloseTo(-0.1);
  });
  it("writes a change with its sign", () => {
    expect(formatDelta(0.25, formatTick)).toBe("+0.25");
    expect(formatDelta(-1.5, formatTick)).toBe("\u22121.5");
  });
});
