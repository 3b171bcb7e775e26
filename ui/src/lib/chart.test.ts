import { describe, expect, it } from "vitest";
import { downsample, extent, formatTick, nearest, niceTicks, overlay, pathOf, scale, spanAtLeast, timeTicks, toPoints } from "./chart";

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

describe("extent and ticks", () => {
  it("widens a flat line", () => {
    const ext = extent([{ label: "a", points: [{ x: 0, y: 5 }, { x: 1, y: 5 }] }], "y");
    expect(ext).toEqual({ min: 4.5, max: 5.5 });
    expect(extent([{ label: "a", points: [] }], "y")).toBeNull();
  });
  it("covers several lines", () => {
    const lines = [
      { label: "a", points: [{ x: 0, y: 1 }] },
      { label: "b", points: [{ x: 9, y: -2 }] },
    ];
    expect(extent(lines, "x")).toEqual({ min: 0, max: 9 });
    expect(extent(lines, "y")).toEqual({ min: -2, max: 1 });
  });
  it("gives round ticks inside the range", () => {
    expect(niceTicks({ min: 0, max: 1 }, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks({ min: 3, max: 97 }, 4)).toEqual([20, 40, 60, 80]);
    const small = niceTicks({ min: 0.0012, max: 0.0049 }, 3);
    expect(small.every((t) => t >= 0.0012 && t <= 0.0049)).toBe(true);
  });
  it("labels ticks briefly", () => {
    expect(formatTick(0)).toBe("0");
    expect(formatTick(12500)).toBe("12.5k");
    expect(formatTick(0.25)).toBe("0.25");
    expect(formatTick(0.000123)).toBe("1.23e-4");
  });
});

describe("scale and path", () => {
  it("maps y upwards", () => {
    const sy = scale({ min: 0, max: 10 }, 100, 0);
    expect(sy(0)).toBe(100);
    expect(sy(10)).toBe(0);
    const sx = scale({ min: 0, max: 1 }, 0, 50);
    expect(pathOf([{ x: 0, y: 0 }, { x: 1, y: 10 }], sx, sy)).toBe("M0.0,100.0L50.0,0.0");
  });
});

describe("overlay", () => {
  it("makes one chart per key, one line per run that logged it", () => {
    const charts = overlay([
      { label: "#1", series: [{ key: "loss", steps: [0, 1], values: [1, 0.5] }] },
      {
        label: "#2",
        series: [
          { key: "loss", steps: [0], values: [2] },
          { key: "acc", steps: [0], values: [0.9] },
        ],
      },
    ]);
    expect(charts.map((c) => c.key)).toEqual(["acc", "loss"]);
    expect(charts[1].lines.map((l) => l.label)).toEqual(["#1", "#2"]);
    expect(charts[0].lines).toHaveLength(1);
  });
});

describe("nearest", () => {
  const points = [
    { x: 0, y: 1 },
    { x: 10, y: 2 },
    { x: 20, y: 3 },
  ];
  it("finds the closest x, the earlier on a tie, clamped at both ends", () => {
    expect(nearest(points, 6)).toEqual({ x: 10, y: 2 });
    expect(nearest(points, 4)).toEqual({ x: 0, y: 1 });
    expect(nearest(points, 5)).toEqual({ x: 0, y: 1 });
    expect(nearest(points, -3)).toEqual({ x: 0, y: 1 });
    expect(nearest(points, 99)).toEqual({ x: 20, y: 3 });
    expect(nearest([], 1)).toBeUndefined();
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

describe("spanAtLeast", () => {
  it("reaches back from the newest x, or keeps a wider range", () => {
    expect(spanAtLeast([{ label: "a", points: [{ x: 1000, y: 1 }] }], 60)).toEqual({ min: 940, max: 1000 });
    const wide = [{ label: "a", points: [{ x: 0, y: 1 }, { x: 100, y: 2 }] }];
    expect(spanAtLeast(wide, 60)).toEqual({ min: 0, max: 100 });
    expect(spanAtLeast([], 60)).toBeNull();
  });
});
