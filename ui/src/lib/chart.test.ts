import { describe, expect, it } from "vitest";
import { alignLines, downsample, formatTick, fromZero, timeTicks, toPoints, valueNear } from "./chart";

describe("toPoints", () => {
  it("uses steps, drops non-finite values and sorts by x", () => {
    const pts = toPoints({ key: "loss", steps: [2, 0, 1], values: [0.5, 1, Number.NaN] });
    expect(pts).toEqual([
      { x: 0, y: 1 },
      { x: 2, y: 0.5 },
    ]);
  });
  it("falls back to the index when a step is missing", () => {
    const pts = toPoints({ key: "a", steps: [], values: [3, 4] });
    expect(pts).toEqual([
      { x: 0, y: 3 },
      { x: 1, y: 4 },
    ]);
  });
});

describe("downsample", () => {
  it("leaves short series alone", () => {
    const pts = [0, 1, 2].map((x) => ({ x, y: x }));
    expect(downsample(pts, 10)).toBe(pts);
  });
  it("keeps a spike and stays within the budget", () => {
    const pts = Array.from({ length: 10_000 }, (_, x) => ({ x, y: x === 4321 ? 100 : 1 }));
    const out = downsample(pts, 200);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out.some((p) => p.y === 100 && p.x === 4321)).toBe(true);
    const xs = out.map((p) => p.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });
});

describe("timeTicks", () => {
  it("ticks on round clock steps, never closer than 5 s", () => {
    expect(timeTicks({ min: 1000, max: 1006 })).toEqual([1000, 1005]);
    expect(timeTicks({ min: 1000, max: 1900 })).toEqual([1200, 1500, 1800]);
    expect(timeTicks({ min: 0, max: 120 }, 4)).toEqual([0, 30, 60, 90, 120]);
  });
  it("stays a few ticks over any span", () => {
    expect(timeTicks({ min: 0, max: 4e8 }).length).toBeLessThanOrEqual(6);
  });
});

describe("formatTick", () => {
  it("labels values briefly", () => {
    expect(formatTick(0)).toBe("0");
    expect(formatTick(12500)).toBe("12.5k");
    expect(formatTick(0.25)).toBe("0.25");
    expect(formatTick(0.000123)).toBe("1.23e-4");
  });
});

describe("alignLines", () => {
  it("puts every line on the union of the x values, null where a line has no point", () => {
    const data = alignLines([
      { label: "a", points: [{ x: 0, y: 1 }, { x: 2, y: 3 }] },
      { label: "b", points: [{ x: 1, y: 5 }, { x: 2, y: 6 }] },
    ]);
    expect(data).toEqual([
      [0, 1, 2],
      [1, null, 3],
      [null, 5, 6],
    ]);
  });
  it("keeps a repeated x's last point and handles no lines", () => {
    expect(alignLines([{ label: "a", points: [{ x: 1, y: 1 }, { x: 1, y: 2 }] }])).toEqual([[1], [2]]);
    expect(alignLines([])).toEqual([[]]);
  });
});

describe("valueNear", () => {
  it("reads the value at the index, else the nearest logged one, the earlier on a tie", () => {
    expect(valueNear([1, null, 3], 0)).toBe(1);
    expect(valueNear([1, null, 3], 1)).toBe(1);
    expect(valueNear([null, null, 3], 0)).toBe(3);
    expect(valueNear([null, null], 1)).toBeNull();
    expect(valueNear([], 0)).toBeNull();
  });
});

describe("fromZero", () => {
  it("starts at 0 or below and reaches past the highest value, at least 1", () => {
    expect(fromZero(2, 10)).toEqual([0, 10.5]);
    expect(fromZero(-3, 10)).toEqual([-3, 10.5]);
    expect(fromZero(0, 0)).toEqual([0, 1.05]);
    expect(fromZero(null, null)).toEqual([0, 1.05]);
  });
});
