import { extent, formatTick, niceTicks, pathOf, scale, type Line } from "../lib/chart";

const W = 560;
const H = 220;
const PAD = { left: 56, right: 14, top: 12, bottom: 30 };
export const COLORS = ["#1f6fb2", "#d1495b", "#2e933c", "#e08e0b", "#7b4fb3"];

/** One metric as an SVG line chart; several lines overlay (the compare view). */
export function LineChart({ title, lines }: { title: string; lines: Line[] }) {
  const ex = extent(lines, "x");
  const ey = extent(lines, "y");
  const count = lines.reduce((n, l) => n + l.points.length, 0);
  const last = lines.length === 1 ? lines[0].points.at(-1) : undefined;
  const summary =
    `${title}: ${count} point${count === 1 ? "" : "s"}` +
    (last ? `, last value ${formatTick(last.y)} at step ${last.x}` : "");
  return (
    <figure className="chart" data-metric={title} data-points={count}>
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
      {ex && ey ? (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
          <Axes ex={ex} ey={ey} />
          {lines.map((l, i) => {
            const sx = scale(ex, PAD.left, W - PAD.right);
            const sy = scale(ey, H - PAD.bottom, PAD.top);
            const color = COLORS[i % COLORS.length];
            return l.points.length === 1 ? (
              <circle key={l.label} cx={sx(l.points[0].x)} cy={sy(l.points[0].y)} r={3} fill={color} />
            ) : (
              <path key={l.label} d={pathOf(l.points, sx, sy)} fill="none" stroke={color} strokeWidth={1.8} />
            );
          })}
        </svg>
      ) : (
        <p className="muted">No points yet.</p>
      )}
    </figure>
  );
}

function Axes({ ex, ey }: { ex: { min: number; max: number }; ey: { min: number; max: number } }) {
  const sx = scale(ex, PAD.left, W - PAD.right);
  const sy = scale(ey, H - PAD.bottom, PAD.top);
  return (
    <g className="axes" aria-hidden="true">
      {niceTicks(ey, 4).map((t) => (
        <g key={`y${t}`}>
          <line x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} className="grid" />
          <text x={PAD.left - 6} y={sy(t) + 4} textAnchor="end">
            {formatTick(t)}
          </text>
        </g>
      ))}
      {niceTicks(ex, 6).map((t) => (
        <text key={`x${t}`} x={sx(t)} y={H - 8} textAnchor="middle">
          {formatTick(t)}
        </text>
      ))}
    </g>
  );
}
