import { useState } from "react";
import { formatTick } from "../lib/chart";
import { ticksOf, type Axis } from "../lib/compare";

export interface ParallelLine {
  label: string;
  color: string;
  /** Per axis: 0 (bottom) to 1 (top), null where the run has no value (the line breaks). */
  points: (number | null)[];
  /** Per axis: the value as shown when the line is hovered. */
  values: string[];
}

const W = 760;
const H = 300;
const PAD = { left: 60, right: 60, top: 34, bottom: 18 };

/**
 * A parallel-coordinates plot as SVG (uPlot has none): one vertical axis per column, one line per
 * run across them. Hovering a line (or its legend entry) brings it forward and lists its values.
 */
export function ParallelCoordinates({ axes, lines, title }: { axes: Axis[]; lines: ParallelLine[]; title: string }) {
  const [hovered, setHovered] = useState<number | null>(null);
  const span = W - PAD.left - PAD.right;
  const xOf = (i: number) => (axes.length === 1 ? W / 2 : PAD.left + (i * span) / (axes.length - 1));
  const yOf = (p: number) => PAD.top + (1 - p) * (H - PAD.top - PAD.bottom);
  const pathOf = (points: (number | null)[]) => {
    let d = "";
    let pen = false;
    points.forEach((p, i) => {
      if (p === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${xOf(i).toFixed(1)},${yOf(p).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const shown = hovered === null ? null : lines[hovered];
  return (
    <figure className="chart parcoords" data-testid="parcoords" data-lines={lines.length} data-axes={axes.map((a) => a.label).join("|")}>
      <figcaption>
        <strong>{title}</strong>
        <span className="legend">
          {lines.map((l, i) => (
            <span key={l.label} onMouseEnter={() => setHovered(i)} onMouseLeave={() => setHovered(null)}>
              <span className="swatch" style={{ background: l.color }} />
              {l.label}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${lines.length} runs across ${axes.map((a) => a.label).join(", ")}`}>
        {axes.map((a, i) => (
          <g key={a.label} className="axes">
            <line x1={xOf(i)} x2={xOf(i)} y1={yOf(0)} y2={yOf(1)} className="axis" />
            <text className="axis-title" x={xOf(i)} y={14} textAnchor={i === 0 ? "start" : i === axes.length - 1 ? "end" : "middle"}>
              {a.label}
            </text>
            {ticksOf(a, formatTick).map((t) => (
              <text key={t.at} x={xOf(i) - 5} y={yOf(t.at) + 4} textAnchor="end">
                {t.text}
              </text>
            ))}
          </g>
        ))}
        {lines.map((l, i) => (
          <path
            key={l.label}
            d={pathOf(l.points)}
            fill="none"
            stroke={l.color}
            strokeWidth={hovered === i ? 4 : 2.2}
            opacity={hovered === null || hovered === i ? 1 : 0.25}
            onMouseEnter={() => setHovered(i)}
            onMouseLeave={() => setHovered(null)}
          >
            <title>{`${l.label}: ${axes.map((a, k) => `${a.label} ${l.values[k]}`).join(", ")}`}</title>
          </path>
        ))}
      </svg>
      {shown ? (
        <p className="chart-hover-line" data-testid="parcoords-hover">
          <span className="swatch" style={{ background: shown.color }} />
          <strong>{shown.label}</strong> {axes.map((a, k) => `${a.label} ${shown.values[k]}`).join(" · ")}
        </p>
      ) : (
        <p className="muted chart-hover-line">Hover a line to read its values.</p>
      )}
    </figure>
  );
}
