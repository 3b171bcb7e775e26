// Metric series shaped for a hand-drawn SVG line chart: points, shared scales, nice ticks,
// and downsampling that keeps each bucket's extremes so a spike never disappears.

export interface Series {
  key: string;
  steps: number[];
  values: number[];
}

export interface Point {
  x: number;
  y: number;
}

export interface Line {
  label: string;
  points: Point[];
}

/** A series' points: x is the step when logged, else the point's index; non-finite y dropped. */
export function toPoints(series: Series): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < series.values.length; i++) {
    const y = series.values[i];
    if (!Number.isFinite(y)) continue;
    const step = series.steps[i];
    points.push({ x: Number.isFinite(step) ? step : i, y });
  }
  points.sort((a, b) => a.x - b.x);
  return points;
}

/** At most `max` points: the first and last of each bucket's minimum and maximum, in order. */
export function downsample(points: Point[], max: number): Point[] {
  if (points.length <= max || max < 4) return points;
  const buckets = Math.floor(max / 2);
  const size = points.length / buckets;
  const out: Point[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(points.length, Math.floor((b + 1) * size));
    let lo = from;
    let hi = from;
    for (let i = from; i < to; i++) {
      if (points[i].y < points[lo].y) lo = i;
      if (points[i].y > points[hi].y) hi = i;
    }
    if (lo === hi) out.push(points[lo]);
    else if (lo < hi) out.push(points[lo], points[hi]);
    else out.push(points[hi], points[lo]);
  }
  return out;
}

export interface Extent {
  min: number;
  max: number;
}

/** The range of every line's points, widened when flat so a constant line sits mid-chart. */
export function extent(lines: Line[], axis: "x" | "y"): Extent | null {
  let min = Infinity;
  let max = -Infinity;
  for (const line of lines) {
    for (const p of line.points) {
      min = Math.min(min, p[axis]);
      max = Math.max(max, p[axis]);
    }
  }
  if (min === Infinity) return null;
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return { min: min - pad, max: max + pad };
  }
  return { min, max };
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering `ext`. */
export function niceTicks(ext: Extent, count = 5): number[] {
  const span = ext.max - ext.min;
  if (!(span > 0) || !Number.isFinite(span)) return [ext.min];
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  // the first round step at least three quarters of the even split: close to `count` ticks
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * 0.75) ?? 10 * power;
  const ticks: number[] = [];
  const start = Math.ceil(ext.min / step) * step;
  for (let t = start; t <= ext.max + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** A linear map from `ext` onto [from, to] (to < from for a y axis that grows upwards). */
export function scale(ext: Extent, from: number, to: number): (v: number) => number {
  const k = (to - from) / (ext.max - ext.min);
  return (v) => from + (v - ext.min) * k;
}

/** The SVG path of `points` under the two scales. */
export function pathOf(points: Point[], sx: (v: number) => number, sy: (v: number) => number) {
  return points
    .map((p, i) => `${i === 0 ? "M" : "L"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
    .join("");
}

/**
 * Charts for a compare view: one chart per metric key, one line per experiment that logged it.
 * Keys sorted; experiments kept in the order given.
 */
export function overlay(
  runs: { label: string; series: Series[] }[],
  maxPoints = 600,
): { key: string; lines: Line[] }[] {
  const byKey = new Map<string, Line[]>();
  for (const run of runs) {
    for (const s of run.series) {
      const lines = byKey.get(s.key) ?? [];
      lines.push({ label: run.label, points: downsample(toPoints(s), maxPoints) });
      byKey.set(s.key, lines);
    }
  }
  return [...byKey.keys()].sort().map((key) => ({ key, lines: byKey.get(key) ?? [] }));
}

/** A short label for an axis value: 0.000123 → "1.23e-4", 12500 → "12.5k". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e-0", "e-");
  return String(+v.toPrecision(4));
}

/** The point of `points` (sorted by x) whose x is closest to `x`; undefined when empty. */
export function nearest(points: Point[], x: number): Point | undefined {
  let lo = 0;
  let hi = points.length - 1;
  if (hi < 0) return undefined;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].x < x) lo = mid + 1;
    else hi = mid;
  }
  const before = points[lo - 1];
  return before && x - before.x <= points[lo].x - x ? before : points[lo];
}

const TIME_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600];

/** About `count` ticks on a time axis in seconds, on round clock steps (5 s, 10 s… 1 h), never
 * closer than the 5-second buckets the serving charts draw. */
export function timeTicks(ext: Extent, count = 4): number[] {
  const span = ext.max - ext.min;
  if (!(span > 0) || !Number.isFinite(span)) return [ext.min];
  const raw = span / Math.max(1, count);
  const step = TIME_STEPS.find((s) => s >= raw * 0.75) ?? Math.ceil(raw / 3600) * 3600;
  const ticks: number[] = [];
  for (let t = Math.ceil(ext.min / step) * step; t <= ext.max; t += step) ticks.push(t);
  return ticks;
}

/** The x range of `lines`, at least `span` wide: a short one keeps its right edge (the newest
 * point, on a live chart) and reaches back. */
export function spanAtLeast(lines: Line[], span: number): Extent | null {
  const xs = lines.flatMap((l) => l.points.map((p) => p.x));
  if (xs.length === 0) return null;
  const max = Math.max(...xs);
  return { min: Math.min(Math.min(...xs), max - span), max };
}
