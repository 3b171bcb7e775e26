import { useState } from "react";
import { api, type Schemas } from "../api/client";
import { colorOf, LineChart } from "../components/LineChart";
import { ParallelCoordinates } from "../components/ParallelCoordinates";
import { ErrorNote, Link, Loading, StateBadge } from "../components/common";
import type { Project } from "../lib/access";
import { downsample, formatTick, toPoints, type Extent, type Line } from "../lib/chart";
import {
  axisOf,
  columnsOf,
  coordinate,
  diffRows,
  formatDelta,
  keysOf,
  parallel,
  valueOf,
  type Axis,
  type Column,
  type Run,
  type Stat,
} from "../lib/compare";
import { useLocation } from "../lib/router";
import { useData } from "../lib/useData";
import { isEnded } from "./Experiment";

const MAX_COMPARE = 10;
const MAX_POINTS = 4000; // per curve

type Experiment = Schemas["ExperimentOut"];

/**
 * Two to ten experiments (`?n=1,3`): a chosen metric's curves overlaid, a parallel-coordinates
 * plot of params → metric, a scatter of any two columns, and a diff of params and final metrics.
 */
export function Compare({ project }: { project: Project }) {
  const { query } = useLocation();
  const numbers = (query.get("n") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^\d+$/.test(s))
    .slice(0, MAX_COMPARE);
  const key = numbers.join(",");
  const data = useData(
    () =>
      Promise.all(
        numbers.map(async (n) => {
          const path = { project_id: project.id, ref: n };
          const [e, series] = await Promise.all([api("show_experiment", { path }), api("get_metrics", { path })]);
          return { e, series };
        }),
      ),
    [project.id, key],
    { pollMs: 3000, poll: (got) => !got || got.some((r) => !isEnded(r.e.state)) },
  );
  const back = <Link to={`/projects/${project.id}/experiments`}>← Experiments</Link>;
  if (numbers.length < 2) return <p>{back} Choose two to ten experiments to compare.</p>;
  if (data.error) return <ErrorNote error={data.error} />;
  if (!data.data) return <Loading what="experiments" />;
  const exps = data.data.map((r) => r.e);
  const runs: Run[] = data.data.map((r) => ({
    label: `#${r.e.number}`,
    params: { ...r.e.params, ...r.e.logged_params },
    series: r.series,
  }));
  return (
    <section aria-labelledby="cmp-title">
      <p>{back}</p>
      <h2 id="cmp-title">Compare experiments {runs.map((r) => r.label).join(", ")}</h2>
      <Plots runs={runs} />
      <Diff project={project} exps={exps} runs={runs} />
    </section>
  );
}

function Plots({ runs }: { runs: Run[] }) {
  const { params, metrics } = keysOf(runs);
  const columns = columnsOf(runs);
  const [metricChoice, setMetric] = useState<string>();
  const [stat, setStat] = useState<Stat>("last");
  const [xChoice, setX] = useState<string>();
  const [yChoice, setY] = useState<string>();
  if (metrics.length === 0) return <p className="muted">None of these experiments logged metrics.</p>;
  const metric = metricChoice && metrics.includes(metricChoice) ? metricChoice : metrics[0];
  const metricColumn = columns.find((c) => c.id === `metric:${stat}:${metric}`) ?? columns[columns.length - 1];
  const byId = (id: string | undefined) => columns.find((c) => c.id === id);
  const xColumn = byId(xChoice) ?? columns.find((c) => c.kind === "param") ?? columns[0];
  const yColumn = byId(yChoice) ?? metricColumn;

  const curves: Line[] = runs.flatMap((r) => {
    const s = r.series.find((x) => x.key === metric);
    return s ? [{ label: r.label, points: downsample(toPoints(s), MAX_POINTS) }] : [];
  });
  // a run without the metric keeps its colour: colours follow the runs, not the drawn lines
  const colourOf = new Map(runs.map((r, i) => [r.label, colorOf(i)]));
  const pc = parallel(runs, params, metricColumn);
  return (
    <>
      <div className="toolbar start">
        <label>
          Metric{" "}
          <select aria-label="Metric" value={metric} onChange={(e) => setMetric(e.target.value)}>
            {metrics.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          Value{" "}
          <select aria-label="Value" value={stat} onChange={(e) => setStat(e.target.value as Stat)}>
            <option value="last">last</option>
            <option value="min">min</option>
            <option value="max">max</option>
          </select>
        </label>
      </div>
      <h3>Curves</h3>
      <div className="charts wide">
        <LineChart
          title={metric}
          lines={curves}
          xLabel="step"
          yLabel={metric}
          height={300}
          colors={curves.map((l) => colourOf.get(l.label) ?? colorOf(0))}
        />
      </div>
      <h3>Parallel coordinates</h3>
      {params.length ? (
        <ParallelCoordinates
          title={`Parameters → ${metricColumn.label}`}
          axes={pc.axes}
          lines={runs.map((r, i) => ({
            label: r.label,
            color: colorOf(i),
            points: pc.lines[i],
            values: [...params.map((p) => r.params[p] ?? "—"), shown(valueOf(r, metricColumn))],
          }))}
        />
      ) : (
        <p className="muted">These experiments have no parameters.</p>
      )}
      <h3>Scatter</h3>
      <div className="toolbar start">
        <ColumnSelect label="X" columns={columns} value={xColumn.id} onChange={setX} />
        <ColumnSelect label="Y" columns={columns} value={yColumn.id} onChange={setY} />
      </div>
      <div className="charts wide">
        <Scatter runs={runs} x={xColumn} y={yColumn} />
      </div>
    </>
  );
}

const shown = (v: string | number | null) => (v === null ? "—" : typeof v === "number" ? formatTick(v) : v);

function ColumnSelect(props: { label: string; columns: Column[]; value: string; onChange: (id: string) => void }) {
  const { label, columns, value, onChange } = props;
  const group = (kind: Column["kind"]) =>
    columns
      .filter((c) => c.kind === kind)
      .map((c) => (
        <option key={c.id} value={c.id}>
          {c.label}
        </option>
      ));
  return (
    <label>
      {label}{" "}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        <optgroup label="Parameters">{group("param")}</optgroup>
        <optgroup label="Metrics">{group("metric")}</optgroup>
      </select>
    </label>
  );
}

/** One dot per run at (x, y); a column of words is an axis of categories. */
function Scatter({ runs, x, y }: { runs: Run[]; x: Column; y: Column }) {
  const ax = axisOf(runs, x);
  const ay = axisOf(runs, y);
  const lines: Line[] = [];
  const colors: string[] = [];
  runs.forEach((r, i) => {
    const px = coordinate(ax, valueOf(r, x));
    const py = coordinate(ay, valueOf(r, y));
    if (px === null || py === null) return;
    lines.push({ label: r.label, points: [{ x: px, y: py }] });
    colors.push(colorOf(i));
  });
  const cx = categoryAxis(ax);
  const cy = categoryAxis(ay);
  return (
    <LineChart
      title={`${y.label} vs ${x.label}`}
      lines={lines}
      colors={colors}
      points
      xLabel={x.label}
      yLabel={y.label}
      height={300}
      {...(cx ? { formatX: cx.format, xTicks: cx.ticks, xRange: cx.range } : {})}
      {...(cy ? { formatY: cy.format, yTicks: cy.ticks, yRange: cy.range } : {})}
    />
  );
}

/** A category axis for the chart: its names at 0, 1, 2…, with half a step of room each side. */
function categoryAxis(axis: Axis): { format: (v: number) => string; ticks: () => number[]; range: Extent } | null {
  if (axis.kind !== "category") return null;
  const names = axis.categories;
  return {
    format: (v) => (Number.isInteger(v) ? (names[v] ?? "") : ""),
    ticks: () => names.map((_, i) => i),
    range: { min: -0.5, max: names.length - 0.5 },
  };
}

/** Params and final metrics side by side: rows that differ highlighted, each value that differs
 * from the first experiment's marked, numbers with their change from it. */
function Diff({ project, exps, runs }: { project: Project; exps: Experiment[]; runs: Run[] }) {
  const [onlyDiffs, setOnlyDiffs] = useState(false);
  const rows = diffRows(runs, formatTick).filter((r) => !onlyDiffs || r.differs);
  const section = (kind: "param" | "metric", title: string) => {
    const mine = rows.filter((r) => r.kind === kind);
    return (
      <tbody>
        <tr className="section">
          <th scope="rowgroup" colSpan={runs.length + 1}>
            {title}
          </th>
        </tr>
        {mine.length === 0 ? (
          <tr>
            <td colSpan={runs.length + 1} className="muted">
              {onlyDiffs ? "No differences." : "None."}
            </td>
          </tr>
        ) : null}
        {mine.map((r) => (
          <tr key={r.key} className={r.differs ? "differs" : undefined}>
            <th scope="row">
              {r.key}
              {r.differs ? <span className="sr-only"> (differs)</span> : null}
            </th>
            {r.values.map((v, i) => {
              const changed = i > 0 && r.differs && v !== r.values[0];
              const delta = r.deltas[i];
              return (
                <td key={exps[i].id} className={changed ? "changed" : undefined}>
                  {v ?? "—"}
                  {delta !== null ? <span className="delta"> ({formatDelta(delta, formatTick)})</span> : null}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    );
  };
  return (
    <>
      <h3>Diff</h3>
      <label className="inline">
        <input type="checkbox" checked={onlyDiffs} onChange={(e) => setOnlyDiffs(e.target.checked)} /> Only differences
      </label>
      <table className="list compare" aria-label="Diff of parameters and final metrics">
        <thead>
          <tr>
            <th scope="col">Parameter or metric</th>
            {exps.map((e, i) => (
              <th scope="col" key={e.id}>
                <span className="swatch" style={{ background: colorOf(i) }} />
                <Link to={`/projects/${project.id}/experiments/${e.number}`}>#{e.number}</Link> <StateBadge state={e.state} />
              </th>
            ))}
          </tr>
        </thead>
        {section("param", "Parameters")}
        {section("metric", "Final metrics (last value; change from the first)")}
      </table>
    </>
  );
}
