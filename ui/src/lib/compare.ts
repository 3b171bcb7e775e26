// The compare view's logic without React: the columns a run offers (its params, and each
// metric's last, min and max), axes over those columns (numbers, or categories for words), the
// parallel-coordinates layout and the diff of params and final metrics.
import type { Series } from "./chart";

/** One compared experiment: its label ("#3"), params (given and logged) and metric series. */
export interface Run {
  label: string;
  params: Record<string, string>;
  series: Series[];
}

export type Stat = "last" | "min" | "max";

/** A column to plot: a param, or a statistic of a metric. `id` is stable for a select's value. */
export interface Column {
  id: string;
  label: string;
  kind: "param" | "metric";
  key: string;
  stat?: Stat;
}

const STATS: Stat[] = ["last", "min", "max"];

/** The sorted param and metric keys of `runs`, each once. */
export function keysOf(runs: Run[]): { params: string[]; metrics: string[] } {
  const params = new Set(runs.flatMap((r) => Object.keys(r.params)));
  const metrics = new Set(runs.flatMap((r) => r.series.map((s) => s.key)));
  return { params: [...params].sort(), metrics: [...metrics].sort() };
}

/** Every column the runs offer: params first, then each metric's last, min and max. */
export function columnsOf(runs: Run[]): Column[] {
  const { params, metrics } = keysOf(runs);
  return [
    ...params.map((key): Column => ({ id: `param:${key}`, label: key, kind: "param", key })),
    ...metrics.flatMap((key) =>
      STATS.map((stat): Column => ({ id: `metric:${stat}:${key}`, label: `${key} (${stat})`, kind: "metric", key, stat })),
    ),
  ];
}

/** The column for a metric's last value. */
export const lastOf = (key: string): Column => ({ id: `metric:last:${key}`, label: `${key} (last)`, kind: "metric", key, stat: "last" });

/** The last (highest step), lowest and highest finite value of a series; null when none. */
export function statOf(series: Series | undefined, stat: Stat): number | null {
  if (!series) return null;
  let best: number | null = null;
  let bestStep = -Infinity;
  for (let i = 0; i < series.values.length; i++) {
    const v = series.values[i];
    if (!Number.isFinite(v)) continue;
    if (stat === "last") {
      const step = Number.isFinite(series.steps[i]) ? series.steps[i] : i;
      if (step >= bestStep) [best, bestStep] = [v, step];
    } else if (best === null || (stat === "min" ? v < best : v > best)) best = v;
  }
  return best;
}

/** A run's value in a column: a param's text, a metric's number; null when it has none. */
export function valueOf(run: Run, column: Column): string | number | null {
  if (column.kind === "param") return run.params[column.key] ?? null;
  return statOf(
    run.series.find((s) => s.key === column.key),
    column.stat ?? "last",
  );
}

/** An axis over a column's values: numbers when every value reads as one, else categories. */
export type Axis =
  | { kind: "number"; label: string; min: number; max: number; flat?: boolean }
  | { kind: "category"; label: string; categories: string[] };

const asNumber = (v: string | number): number => (typeof v === "number" ? v : v.trim() === "" ? NaN : Number(v));

/** The axis of `column` over `runs`; a flat numeric range is widened so its points sit mid-axis. */
export function axisOf(runs: Run[], column: Column): Axis {
  const values = runs.map((r) => valueOf(r, column)).filter((v): v is string | number => v !== null);
  const numbers = values.map(asNumber);
  if (numbers.every(Number.isFinite)) {
    if (numbers.length === 0) return { kind: "number", label: column.label, min: 0, max: 1 };
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    if (min === max) {
      const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
      return { kind: "number", label: column.label, min: min - pad, max: max + pad, flat: true };
    }
    return { kind: "number", label: column.label, min, max };
  }
  const categories = [...new Set(values.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { kind: "category", label: column.label, categories };
}

/** A value's coordinate on `axis`: the number itself, or its category's index; null if absent. */
export function coordinate(axis: Axis, value: string | number | null): number | null {
  if (value === null) return null;
  if (axis.kind === "number") {
    const n = asNumber(value);
    return Number.isFinite(n) ? n : null;
  }
  const i = axis.categories.indexOf(String(value));
  return i < 0 ? null : i;
}

/** Where a value sits along `axis`, from 0 (its low end) to 1 (its high end); null if absent. */
export function position(axis: Axis, value: string | number | null): number | null {
  const c = coordinate(axis, value);
  if (c === null) return null;
  if (axis.kind === "number") return (c - axis.min) / (axis.max - axis.min);
  return axis.categories.length === 1 ? 0.5 : c / (axis.categories.length - 1);
}

/** The labels along an axis, each with its position: the low, middle and high numbers (the one
 * value of a flat axis), or every category. */
export function ticksOf(axis: Axis, format: (v: number) => string): { at: number; text: string }[] {
  if (axis.kind === "category") {
    return axis.categories.map((text, i) => ({ text, at: position(axis, text) ?? i }));
  }
  const mid = (axis.min + axis.max) / 2;
  if (axis.flat) return [{ at: 0.5, text: format(mid) }];
  return [axis.min, mid, axis.max].map((v, i) => ({ at: i / 2, text: format(v) }));
}

/** A parallel-coordinates plot: one axis per param and the metric last; one line per run, its
 * points (fraction along the axis, 0 at the bottom) null where the run has no value. */
export function parallel(runs: Run[], params: string[], metric: Column): { axes: Axis[]; lines: (number | null)[][] } {
  const columns = [...params.map((key): Column => ({ id: `param:${key}`, label: key, kind: "param", key })), metric];
  const axes = columns.map((c) => axisOf(runs, c));
  const lines = runs.map((r) => columns.map((c, i) => position(axes[i], valueOf(r, c))));
  return { axes, lines };
}

/** One row of the diff: the values of each run as shown, whether they differ, and for numbers
 * the change from the first run. */
export interface DiffRow {
  kind: "param" | "metric";
  key: string;
  values: (string | null)[];
  differs: boolean;
  deltas: (number | null)[];
}

/** The diff of params and final (last) metric values, params first, each sorted by key. */
export function diffRows(runs: Run[], format: (v: number) => string): DiffRow[] {
  const { params, metrics } = keysOf(runs);
  const row = (kind: DiffRow["kind"], key: string, raw: (string | number | null)[]): DiffRow => {
    const values = raw.map((v) => (v === null ? null : typeof v === "number" ? format(v) : v));
    const base = raw[0] === null ? NaN : asNumber(raw[0]);
    const deltas = raw.map((v, i) => {
      if (i === 0 || v === null || !Number.isFinite(base)) return null;
      const n = asNumber(v);
      return Number.isFinite(n) && n !== base ? n - base : null;
    });
    return { kind, key, values, differs: new Set(raw.map((v) => (v === null ? "\0none" : String(v)))).size > 1, deltas };
  };
  return [
    ...params.map((key) => row("param", key, runs.map((r) => r.params[key] ?? null))),
    ...metrics.map((key) => row("metric", key, runs.map((r) => valueOf(r, lastOf(key))))),
  ];
}

/** A change as "+0.25" or "−1.5" (a real minus sign). */
export function formatDelta(d: number, format: (v: number) => string): string {
  return d > 0 ? `+${format(d)}` : `\u2212${format(-d)}`;
}
