import { useEffect, useMemo, useRef, useState } from "react";
import type uPlot from "uplot";
import { alignLines, formatTick, fromZero as zeroRange, valueNear, type Extent, type Line } from "../lib/chart";

/** The lines' colours, in order (the compare view's swatches use them too). */
export const COLORS = [
  "#1f6fb2",
  "#d1495b",
  "#2e933c",
  "#e08e0b",
  "#7b4fb3",
  "#0f9aa8",
  "#8c564b",
  "#d45fb0",
  "#6b7a8f",
  "#a0a61f",
];

export const colorOf = (i: number) => COLORS[i % COLORS.length];

export interface ChartProps {
  /** The chart's name, shown above it and in `data-metric`. */
  title: string;
  /** One line per label; points sorted by x. Several lines overlay (the compare view, versions). */
  lines: Line[];
  /** Axis titles, e.g. "step" and "loss". */
  xLabel?: string;
  yLabel?: string;
  /** How an x value reads on the axis and under the pointer (default: a number). */
  formatX?: (x: number) => string;
  /** Where the x axis has its labels (default: uPlot's round numbers). */
  xTicks?: (ext: Extent) => number[];
  /** The x axis covers at least this much (a live chart's first points do not fill it). */
  xMinSpan?: number;
  /** How a y value reads (default: a short number) and where the y axis has its labels. */
  formatY?: (y: number) => string;
  yTicks?: (ext: Extent) => number[];
  /** Fixed axis ranges (a category axis: -0.5 to n - 0.5); default: the data's. */
  xRange?: Extent;
  yRange?: Extent;
  /** The y axis starts at 0 (counts and rates: an idle line lies on the floor, not mid-chart). */
  fromZero?: boolean;
  /** Each line's colour (default: COLORS in order), e.g. a run's colour across several charts. */
  colors?: string[];
  /** Dots only, no lines: a scatter (one "line" per run, its points at each x it has). */
  points?: boolean;
  /** Each value holds until the next (sampled usage): steps, not slopes between points. */
  steps?: boolean;
  /** Name the lines above the plot even when there is only one (default: with two or more). */
  legend?: boolean;
  /** The plot's height in CSS pixels (default 220); its width follows the figure's. */
  height?: number;
}

// uPlot (~22 KB gzipped) and its stylesheet load with the first chart, not with the app.
let loading: Promise<typeof uPlot> | undefined;
function loadUPlot(): Promise<typeof uPlot> {
  loading ??= Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([m]) => m.default);
  return loading;
}

/** Where the pointer is: the x index, and the place for the box (in the plot's pixels). */
interface Hover {
  idx: number;
  left: number;
  top: number;
  flip: boolean; // right half: the box goes left of the pointer
}

/**
 * Metric lines drawn by uPlot (canvas; tens of thousands of points stay quick): axis titles,
 * and on hover a box with the x and each line's value there (`data-testid="chart-hover"`).
 * Drag across the plot to zoom in, double-click to zoom out. `data-points` counts the points
 * and `data-drawn` lists them, so a test can tell a live chart moved without reading pixels.
 */
export function LineChart(props: ChartProps) {
  const { title, lines, xLabel, yLabel, formatX = formatTick, formatY = formatTick, xTicks, yTicks } = props;
  const { xMinSpan, xRange, yRange, fromZero = false, points = false, steps = false, height = 220 } = props;
  const legend = props.legend ?? lines.length > 1;
  const colors = lines.map((_, i) => props.colors?.[i] ?? colorOf(i));
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const data = useMemo(() => alignLines(lines), [lines]);
  // what makes a new uPlot (series and scales); new points alone only call setData
  const shape: Shape = {
    labels: lines.map((l) => l.label),
    colors,
    xMinSpan,
    xRange,
    yRange,
    fromZero,
    points,
    steps,
    height,
    xTicks: xTicks !== undefined,
    yTicks: yTicks !== undefined,
    wholeX: data[0].length > 0 && data[0].every(Number.isInteger),
  };
  const shapeKey = JSON.stringify(shape);
  // the latest formatters and data, read by uPlot's callbacks and by a newly made plot
  const latest = useRef<Latest>({ formatX, formatY, xTicks, yTicks, data });
  useEffect(() => {
    latest.current = { formatX, formatY, xTicks, yTicks, data };
  });

  useEffect(() => {
    let stopped = false;
    let resize: ResizeObserver | undefined;
    void loadUPlot().then((UPlot) => {
      const el = host.current;
      if (stopped || !el) return;
      const opts = options(UPlot, JSON.parse(shapeKey) as Shape, latest, setHover);
      const u = new UPlot({ ...opts, width: Math.max(200, el.clientWidth) }, latest.current.data, el);
      plot.current = u;
      resize = new ResizeObserver(() => {
        if (el.clientWidth > 0) u.setSize({ width: el.clientWidth, height });
      });
      resize.observe(el);
    });
    return () => {
      stopped = true;
      resize?.disconnect();
      plot.current?.destroy();
      plot.current = null;
      setHover(null);
    };
    // `shapeKey` stands for the labels, ranges and flags it encodes
  }, [shapeKey, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const count = lines.reduce((n, l) => n + l.points.length, 0);
  const last = lines.length === 1 ? lines[0].points.at(-1) : undefined;
  const summary =
    `${title}: ${count} point${count === 1 ? "" : "s"}` +
    (last ? `, last value ${formatTick(last.y)} at ${xLabel ?? "step"} ${formatX(last.x)}` : "");
  const drawn = lines.map((l) => `${l.label}=${l.points.map((p) => `${p.x}:${p.y}`).join(",")}`).join("|");
  const at = hover && hover.idx < data[0].length ? hover : null;
  return (
    <figure className="chart" data-metric={title} data-points={count} data-drawn={drawn}>
      <figcaption>
        <strong>{title}</strong>
        {legend && lines.length > 0 ? (
          <span className="legend">
            {lines.map((l, i) => (
              <span key={l.label}>
                <span className="swatch" style={{ background: colors[i] }} />
                {l.label}
              </span>
            ))}
          </span>
        ) : last ? (
          <span className="muted"> last {formatTick(last.y)}</span>
        ) : null}
      </figcaption>
      <div className={yLabel ? "plot-frame with-y" : "plot-frame"}>
        <div className="plot" role="img" aria-label={summary} hidden={count === 0}>
          <div ref={host} />
          {at ? (
            <div
              className={at.flip ? "chart-hover flip" : "chart-hover"}
              data-testid="chart-hover"
              style={{ left: at.left, top: at.top }}
            >
              <div className="muted">
                {xLabel ?? "step"} {formatX(data[0][at.idx])}
              </div>
              {lines.map((l, i) => {
                const ys = data[i + 1] ?? [];
                const y = points ? (ys[at.idx] ?? null) : valueNear(ys, at.idx);
                if (points && y === null) return null; // a scatter names the dots under the pointer
                return (
                  <div key={l.label}>
                    <span className="swatch" style={{ background: colors[i] }} />
                    {legend ? `${l.label}: ` : ""}
                    {y === null ? "—" : formatY(y)}
                  </div>
                );
              })}
            </div>
          ) : null}
        </div>
        {xLabel ? <div className="axis-title x-title">{xLabel}</div> : null}
        {yLabel ? <div className="axis-title y-title">{yLabel}</div> : null}
      </div>
      {count === 0 ? <p className="muted">No points yet.</p> : null}
    </figure>
  );
}

const Y_AXIS_WIDTH = 56; // the left axis' labels
// round steps of whole numbers: 1, 2, 5, 10, 20, 50… up to 5e12
const WHOLE_INCRS = Array.from({ length: 13 }, (_, p) => [1, 2, 5].map((m) => m * 10 ** p)).flat();

/** What a new uPlot is made for (a change makes another). */
interface Shape {
  labels: string[];
  colors: string[];
  xMinSpan?: number;
  xRange?: Extent;
  yRange?: Extent;
  fromZero: boolean;
  points: boolean;
  steps: boolean;
  height: number;
  xTicks: boolean;
  yTicks: boolean;
  wholeX: boolean; // every x a whole number (steps): no ticks between them
}

/** What uPlot's callbacks read at the time they run. */
interface Latest {
  formatX: (x: number) => string;
  formatY: (y: number) => string;
  xTicks?: (ext: Extent) => number[];
  yTicks?: (ext: Extent) => number[];
  data: ReturnType<typeof alignLines>;
}

/** uPlot's options: one series per line, our formatters, and the hover hook. */
function options(
  UPlot: typeof uPlot,
  shape: Shape,
  latest: { current: Latest },
  setHover: (h: Hover | null) => void,
): Omit<uPlot.Options, "width"> {
  const { labels, xMinSpan, xRange, yRange, height } = shape;
  // a step holds each value up to the next point (align 1: the step comes at the next x)
  const stepped = shape.steps ? UPlot.paths.stepped?.({ align: 1 }) : undefined;
  const fixed = (r: Extent) => (): uPlot.Range.MinMax => [r.min, r.max];
  const axis = { stroke: "#5b6776", grid: { stroke: "#e6eaef" }, ticks: { stroke: "#e6eaef" }, font: "12px system-ui, sans-serif" };
  return {
    height,
    legend: { show: false },
    cursor: { points: { size: 7 } },
    scales: {
      x: {
        time: false,
        range: xRange
          ? fixed(xRange)
          : xMinSpan
            ? (_u, min, max) => [Math.min(min, max - xMinSpan), max]
            : (_u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]),
      },
      y: yRange ? { range: fixed(yRange) } : shape.fromZero ? { range: (_u, min, max) => zeroRange(min, max) } : {},
    },
    axes: [
      {
        ...axis,
        values: (_u, splits) => splits.map((v) => latest.current.formatX(v)),
        ...(shape.wholeX ? { incrs: WHOLE_INCRS } : {}),
        ...(shape.xTicks ? { splits: (_u, _i, min, max) => latest.current.xTicks?.({ min, max }) ?? [] } : {}),
      },
      {
        ...axis,
        size: Y_AXIS_WIDTH,
        values: (_u, splits) => splits.map((v) => latest.current.formatY(v)),
        ...(shape.yTicks ? { splits: (_u, _i, min, max) => latest.current.yTicks?.({ min, max }) ?? [] } : {}),
      },
    ],
    series: [
      {},
      ...labels.map((label, i) => {
        const color = shape.colors[i];
        return shape.points
          ? { label, stroke: color, fill: color, paths: () => null, points: { show: true, size: 10, fill: color } }
          : { label, stroke: color, width: 1.8, spanGaps: true, points: { size: 5 }, ...(stepped ? { paths: stepped } : {}) };
      }),
    ],
    hooks: {
      setCursor: [
        (u) => {
          const { idx, left, top } = u.cursor;
          if (idx === null || idx === undefined || left === undefined || left < 0) return setHover(null);
          const box = u.over;
          setHover({ idx, left: box.offsetLeft + left, top: box.offsetTop + (top ?? 0), flip: left > box.clientWidth / 2 });
        },
      ],
    },
  };
}
