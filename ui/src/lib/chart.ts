// Metric series shaped for the charts (components/LineChart.tsx draws them with uPlot): points,
// downsampling that keeps each bucket's extremes so a spike never disappears, lines aligned on
// one x array (uPlot's data shape), axis ranges and labels.

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

/** A short label for an axis value: 0.000123 → "1.23e-4", 12500 → "12.5k". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e-0", "e-");
  return String(+v.toPrecision(4));
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

/** uPlot's data: one sorted x array shared by every line, then each line's y at those x (null
 * where the line has no point, bridged by the drawn line). */
export type Aligned = [number[], ...(number | null)[][]];

/** The lines on the union of their x values, for one uPlot chart. A repeated x in a line keeps
 * its last point. */
export function alignLines(lines: Line[]): Aligned {
  const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p.x)))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const p of l.points) y[at.get(p.x) ?? 0] = p.y;
    return y;
  });
  return [xs, ...ys];
}

/** The value of `ys` at `idx`, or the nearest one logged (a line with other steps than the
 * hovered one still reads a value); the earlier wins a tie, null when the line is empty. */
export function valueNear(ys: (number | null)[], idx: number): number | null {
  for (let d = 0; d < ys.length; d++) {
    const before = ys[idx - d];
    if (before !== undefined && before !== null) return before;
    const after = ys[idx + d];
    if (after !== undefined && after !== null) return after;
  }
  return null;
}

/** The y range from 0 (or below, for a negative value) to the highest value, at least 1: a
 * count or rate that idles lies on the floor, not mid-chart. */
export function fromZero(min: number | null, max: number | null): [number, number] {
  const hi = max !== null && max > 0 ? max : 1;
  return [Math.min(0, min ?? 0), hi * 1.05];
}
