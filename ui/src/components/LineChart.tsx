import { useState, type MouseEvent } from "react";
import {
  extent,
  formatTick,
  nearest,
  niceTicks,
  pathOf,
  scale,
  spanAtLeast,
  type Extent,
  type Line,
} from "../lib/chart";

const W = 560;
const H = 220;
const PAD = { left: 56, right: 14, top: 12, bottom: 30 };
const LABELLED = { left: 70, bottom: 44 }; // room for the axis titles
export const COLORS = ["#1f6fb2", "#d1495b", "#2e933c", "#e08e0b", "#7b4fb3"];

export interface ChartProps {
  title: string;
  lines: Line[];
  /** Axis titles, e.g. "time" and "requests/s". */
  xLabel?: string;
  yLabel?: string;
  /** How an x value reads on the axis and under the pointer (default: a number). */
  formatX?: (x: number) => string;
  /** Where the x axis has its labels (default: round numbers). */
  xTicks?: (ext: Extent) => number[];
  /** The x axis covers at least this much (a live chart's first points do not fill it). */
  xMinSpan?: number;
  /** The y axis starts at 0 (counts and rates: an idle line lies on the floor, not mid-chart). */
  fromZero?: boolean;
}

/**
 * One metric as an SVG line chart; several lines overlay (the compare view, versions). Hovering
 * shows each line's value at the nearest x. `data-drawn` carries the drawn points, so a test can
 * tell that a live chart moved without reading pixels.
 */
export function LineChart(props: ChartProps) {
  const { title, lines, xLabel, yLabel, formatX = formatTick, fromZero = false } = props;
  const xTicks = props.xTicks ?? ((ext: Extent) => niceTicks(ext, 6));
  const [hoverX, setHoverX] = useState<number | null>(null);
  const pad = {
    ...PAD,
    left: yLabel ? LABELLED.left : PAD.left,
    bottom: xLabel ? LABELLED.bottom : PAD.bottom,
  };
  const ex = props.xMinSpan ? spanAtLeast(lines, props.xMinSpan) : extent(lines, "x");
  const ey = fromZero ? fromFloor(lines) : extent(lines, "y");
  const count = lines.reduce((n, l) => n + l.points.length, 0);
  const last = lines.length === 1 ? lines[0].points.at(-1) : undefined;
  const summary =
    `${title}: ${count} point${count === 1 ? "" : "s"}` +
    (last ? `, last value ${formatTick(last.y)} at ${xLabel ?? "step"} ${formatX(last.x)}` : "");
  const drawn = lines.map((l) => `${l.label}=${l.points.map((p) => `${p.x}:${p.y}`).join(",")}`).join("|");
  const sx = ex ? scale(ex, pad.left, W - pad.right) : null;
  const sy = ey ? scale(ey, H - pad.bottom, pad.top) : null;
  const onMove = (e: MouseEvent<SVGSVGElement>) => {
    if (!ex) return;
    const box = e.currentTarget.getBoundingClientRect();
    const vx = ((e.clientX - box.left) / box.width) * W;
    const x = ex.min + ((vx - pad.left) / (W - pad.right - pad.left)) * (ex.max - ex.min);
    setHoverX(Math.min(ex.max, Math.max(ex.min, x)));
  };
  return (
    <figure className="chart" data-metric={title} data-points={count} data-drawn={drawn}>
      <figcaption>
        <strong>{title}</strong>
        {lines.length > 1 ? (
          <span className="legend">
            {lines.map((l, i) => (
              <span key={l.label}>
                <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} />
                {l.label}
              </span>
            ))}
          </span>
        ) : last ? (
          <span className="muted"> last {formatTick(last.y)}</span>
        ) : null}
      </figcaption>
      {ex && ey && sx && sy ? (
        <svg
          viewBox={`0 0 ${W} ${H}`}
          role="img"
          aria-label={summary}
          onMouseMove={onMove}
          onMouseLeave={() => setHoverX(null)}
        >
          <Axes ex={ex} ey={ey} pad={pad} formatX={formatX} xTicks={xTicks} xLabel={xLabel} yLabel={yLabel} />
          {lines.map((l, i) => {
            const color = COLORS[i % COLORS.length];
            return l.points.length === 1 ? (
              <circle key={l.label} cx={sx(l.points[0].x)} cy={sy(l.points[0].y)} r={3} fill={color} />
            ) : (
              <path key={l.label} d={pathOf(l.points, sx, sy)} fill="none" stroke={color} strokeWidth={1.8} />
            );
          })}
          {hoverX !== null ? <Hover lines={lines} x={hoverX} sx={sx} sy={sy} formatX={formatX} /> : null}
        </svg>
      ) : (
        <p className="muted">No points yet.</p>
      )}
    </figure>
  );
}

function anchor(x: number, pad: typeof PAD): "start" | "middle" | "end" {
  if (x > W - pad.right - 30) return "end";
  if (x < pad.left + 30) return "start";
  return "middle";
}

/** The y range from 0 (or below, for a negative value) to the highest value, at least 1. */
function fromFloor(lines: Line[]): { min: number; max: number } | null {
  const ys = lines.flatMap((l) => l.points.map((p) => p.y));
  if (ys.length === 0) return null;
  const max = Math.max(...ys);
  return { min: Math.min(0, ...ys), max: max > 0 ? max : 1 };
}

/** A guide at the nearest point's x and a box with every line's value there. */
function Hover(props: {
  lines: Line[];
  x: number;
  sx: (v: number) => number;
  sy: (v: number) => number;
  formatX: (x: number) => string;
}) {
  const { lines, x, sx, sy, formatX } = props;
  const found = lines
    .map((l, i) => ({ label: l.label, color: COLORS[i % COLORS.length], point: nearest(l.points, x) }))
    .filter((f) => f.point !== undefined);
  if (found.length === 0) return null;
  const at = found[0].point?.x ?? x;
  const gx = sx(at);
  const rows = [formatX(at), ...found.map((f) => `${lines.length > 1 ? `${f.label}: ` : ""}${formatTick(f.point?.y ?? 0)}`)];
  const boxW = 14 + 8.5 * Math.max(...rows.map((r) => r.length));
  const boxX = gx + boxW + 8 > W ? gx - boxW - 8 : gx + 8;
  return (
    <g className="hover" pointerEvents="none" data-testid="chart-hover">
      <line x1={gx} x2={gx} y1={PAD.top} y2={H - PAD.bottom} className="guide" />
      {found.map((f) => (f.point ? <circle key={f.label} cx={sx(f.point.x)} cy={sy(f.point.y)} r={3.5} fill={f.color} /> : null))}
      <rect x={boxX} y={PAD.top} width={boxW} height={8 + rows.length * 17} rx={4} className="tip" />
      {rows.map((r, i) => (
        <text key={r} x={boxX + 6} y={PAD.top + 17 + i * 17}>
          {r}
        </text>
      ))}
    </g>
  );
}

function Axes(props: {
  ex: { min: number; max: number };
  ey: { min: number; max: number };
  pad: typeof PAD;
  formatX: (x: number) => string;
  xTicks: (ext: Extent) => number[];
  xLabel?: string;
  yLabel?: string;
}) {
  const { ex, ey, pad, formatX, xLabel, yLabel } = props;
  const sx = scale(ex, pad.left, W - pad.right);
  const sy = scale(ey, H - pad.bottom, pad.top);
  return (
    <g className="axes" aria-hidden="true">
      {niceTicks(ey, 4).map((t) => (
        <g key={`y${t}`}>
          <line x1={pad.left} x2={W - pad.right} y1={sy(t)} y2={sy(t)} className="grid" />
          <text x={pad.left - 6} y={sy(t) + 4} textAnchor="end">
            {formatTick(t)}
          </text>
        </g>
      ))}
      {props.xTicks(ex).map((t) => (
        // a label at either edge is anchored inside the chart, not cut in half
        <text key={`x${t}`} x={sx(t)} y={H - pad.bottom + 22} textAnchor={anchor(sx(t), pad)}>
          {formatX(t)}
        </text>
      ))}
      {xLabel ? (
        <text className="axis-title" x={(pad.left + W - pad.right) / 2} y={H - 4} textAnchor="middle">
          {xLabel}
        </text>
      ) : null}
      {yLabel ? (
        <text
          className="axis-title"
          x={-(pad.top + H - pad.bottom) / 2}
          y={16}
          transform="rotate(-90)"
          textAnchor="middle"
        >
          {yLabel}
        </text>
      ) : null}
    </g>
  );
}
