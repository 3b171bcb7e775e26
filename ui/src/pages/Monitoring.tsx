import { useMemo } from "react";
import { api, type Schemas } from "../api/client";
import { ErrorNote, Link, Loading, StateBadge } from "../components/common";
import { LineChart } from "../components/LineChart";
import { type Line, timeTicks } from "../lib/chart";
import { clockLabel } from "../lib/endpoints";
import { formatBytes, formatTime, percent } from "../lib/format";
import { useData } from "../lib/useData";

type History = Schemas["UsageHistoryOut"];
type Resources = Schemas["ResourcesOut"];

/**
 * Seed 004: active and pending jobs (who, what, since when, on which compute template), usage per
 * compute template with its history, and compute and storage assigned against the total.
 */
export function Monitoring() {
  const m = useData(() => api("monitor"), [], { pollMs: 3000 });
  const jobs = useData(() => api("monitor_jobs", { query: { limit: 100 } }), [], { pollMs: 3000 });
  const history = useData(() => api("monitor_history", { query: { minutes: 60 } }), [], { pollMs: 5000 });
  if (m.error) return <ErrorNote error={m.error} />;
  if (!m.data) return <Loading what="monitoring" />;
  const { overall, total } = m.data;
  return (
    <section aria-labelledby="mon-title">
      <h1 id="mon-title">Monitoring</h1>
      <div className="cards">
        <div className="card">
          <span className="value" data-testid="active-jobs">
            {overall.active_jobs}
          </span>
          <span className="label">Active jobs</span>
        </div>
        <div className="card">
          <span className="value" data-testid="pending-jobs">
            {overall.pending_jobs}
          </span>
          <span className="label">Pending jobs</span>
        </div>
      </div>
      <h2>Assigned against total</h2>
      <Bar label="CPU" used={overall.assigned.cpus} total={total.cpus} unit={(v) => `${+v.toFixed(2)} cores`} />
      <Bar label="GPU" used={overall.assigned.gpus} total={total.gpus} unit={(v) => `${v}`} />
      <Bar
        label="Memory"
        used={overall.assigned.memory_mb}
        total={total.memory_mb}
        unit={(v) => formatBytes(v * 1024 * 1024)}
      />
      <Bar label="Storage" used={m.data.storage_used_bytes} total={m.data.storage_total_bytes} unit={formatBytes} />

      <h2>Usage over time</h2>
      <ErrorNote error={history.error} />
      {history.data ? <UsageCharts history={history.data} /> : <Loading what="the usage history" />}

      <h2>Per compute template</h2>
      <ErrorNote error={jobs.error} />
      {jobs.data ? <ComputeTable computes={jobs.data.computes} /> : null}

      <h2>Active and pending jobs</h2>
      {jobs.data ? <JobsTable jobs={jobs.data} /> : jobs.error ? null : <Loading what="the jobs" />}
    </section>
  );
}

/** CPU, memory and GPU held per compute template, one chart each, over the last hour. */
function UsageCharts({ history }: { history: History }) {
  const { cpu, memory, gpu } = useMemo(() => {
    const names = [...new Set(history.samples.flatMap((s) => Object.keys(s.computes)))].sort();
    const times = history.samples.map((s) => new Date(s.at).getTime() / 1000);
    const series = (pick: (r: Resources) => number): Line[] =>
      names.map((name) => ({
        label: name,
        points: history.samples.map((s, i) => ({ x: times[i], y: s.computes[name] ? pick(s.computes[name]) : 0 })),
      }));
    return {
      cpu: series((r) => r.cpus),
      memory: series((r) => r.memory_mb / 1024),
      gpu: series((r) => r.gpus),
    };
  }, [history]);
  return (
    <>
      <p className="muted small">
        What jobs hold per compute template, sampled every {history.interval_seconds} s; the server keeps the last{" "}
        {history.retention_minutes} minutes in memory (a restart starts again). This server runs at most{" "}
        {+history.total.cpus.toFixed(2)} cores, {formatBytes(history.total.memory_mb * 1024 * 1024)} and{" "}
        {history.total.gpus} GPUs at once.
      </p>
      <div className="charts">
        <LineChart title="CPU" lines={cpu} yLabel="cores" {...usage} />
        <LineChart title="Memory" lines={memory} yLabel="GiB" {...usage} />
        <LineChart title="GPU" lines={gpu} yLabel="GPUs" {...usage} />
      </div>
    </>
  );
}

/** The usage charts' shared props: clock times on x, held amounts from 0, steps between samples. */
const usage = { xLabel: "time", formatX: clockLabel, xTicks: timeTicks, fromZero: true, steps: true, legend: true };

function ComputeTable({ computes }: { computes: Schemas["MonitorJobsOut"]["computes"] }) {
  const names = Object.keys(computes);
  if (names.length === 0) return <p className="muted">No job holds or waits for compute now.</p>;
  return (
    <table className="table" aria-label="Usage per compute template">
      <thead>
        <tr>
          <th>Template</th>
          <th>Size</th>
          <th>Active</th>
          <th>Pending</th>
          <th>CPU</th>
          <th>Memory</th>
          <th>GPU</th>
        </tr>
      </thead>
      <tbody>
        {names.map((name) => {
          const c = computes[name];
          return (
            <tr key={name}>
              <td>{name}</td>
              <td>{c.template ? size(c.template) : "unknown template"}</td>
              <td>{c.active_jobs}</td>
              <td>{c.pending_jobs}</td>
              <td>{+c.assigned.cpus.toFixed(2)} cores</td>
              <td>{formatBytes(c.assigned.memory_mb * 1024 * 1024)}</td>
              <td>{c.assigned.gpus}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function JobsTable({ jobs }: { jobs: Schemas["MonitorJobsOut"] }) {
  if (jobs.items.length === 0) return <p className="muted">No job is running or waiting.</p>;
  return (
    <>
      <table className="table" aria-label="Active and pending jobs">
        <thead>
          <tr>
            <th>Job</th>
            <th>State</th>
            <th>Who</th>
            <th>What</th>
            <th>Since</th>
            <th>Compute</th>
          </tr>
        </thead>
        <tbody>
          {jobs.items.map((j) => (
            <tr key={j.id}>
              <td>
                <Link to={`/projects/${j.project_id}/experiments/${j.number}`}>
                  {j.project_name} #{j.number}
                </Link>
              </td>
              <td>
                <StateBadge state={j.state} />
              </td>
              <td>{j.created_by_name}</td>
              <td>
                {j.title ? <strong>{j.title} </strong> : null}
                <code>{j.command}</code>
              </td>
              <td>
                <time dateTime={j.since}>{formatTime(j.since)}</time>
              </td>
              <td>{j.compute}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {jobs.total > jobs.items.length ? (
        <p className="muted">
          The first {jobs.items.length} of {jobs.total} jobs.
        </p>
      ) : null}
    </>
  );
}

const size = (r: Resources) =>
  `${+r.cpus.toFixed(2)} CPU, ${formatBytes(r.memory_mb * 1024 * 1024)}${r.gpus ? `, ${r.gpus} GPU` : ""}`;

function Bar(props: { label: string; used: number; total: number; unit: (v: number) => string }) {
  const pct = percent(props.used, props.total);
  const text = props.total > 0 ? `${props.unit(props.used)} of ${props.unit(props.total)}` : "none on this server";
  return (
    <div className="bar">
      <span className="bar-label" id={`bar-${props.label}`}>
        {props.label}
      </span>
      <div
        className="track"
        role="meter"
        aria-labelledby={`bar-${props.label}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
        aria-valuetext={text}
      >
        <div className="fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="bar-text">{text}</span>
    </div>
  );
}
