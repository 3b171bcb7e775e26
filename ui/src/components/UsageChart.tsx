import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One line of a time chart: its label and a value per time (null: no value then). */
export interface TimeSeries {
  label: string;
  values: (number | null)[];
}

// usage holds from one sample to the next: a step, never a slope between samples
const steps = uPlot.paths.stepped?.({ align: 1 });
const COLORS = ["#1f5f8b", "#d1495b", "#2e933c", "#edae49", "#6b4c9a", "#00798c", "#8d6a9f", "#444"];

/**
 * A small time chart on uPlot: seconds since the epoch on x, one line per series, a legend with
 * the hovered values, and an axis label. Self-contained (no shared chart code) so that it can be
 * folded into a common chart component later; the chart is made once per shape (the series'
 * labels) and then only given new data, so a poll does not rebuild it.
 */
export function UsageChart(props: {
  title: string;
  unit: string;
  times: number[]; // seconds since the epoch
  series: TimeSeries[];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const { title, unit, times, series } = props;
  const height = props.height ?? 220;
  const shape = series.map((s) => s.label).join("\u0000");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const options: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { label: unit, size: 60 }],
      legend: { live: true },
      series: [
        { label: "time" },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          paths: steps,
          points: { show: times.length < 3 },
        })),
      ],
    };
    const made = new uPlot(options, [times, ...series.map((s) => s.values)], el);
    chart.current = made;
    const resize = new ResizeObserver(() => made.setSize({ width: Math.max(240, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      made.destroy();
      chart.current = null;
    };
    // made again only when the lines change; new points go through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, unit, height]);

  useEffect(() => {
    chart.current?.setData([times, ...series.map((s) => s.values)]);
  }, [times, series]);

  return (
    <figure className="usage-chart" data-chart={title} data-points={times.length}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${series.map((s) => s.label).join(", ") || "no jobs"}`} />
    </figure>
  );
}
