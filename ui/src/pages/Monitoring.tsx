import { api } from "../api/client";
import { ErrorNote, Loading } from "../components/common";
import { formatBytes, percent } from "../lib/format";
import { useData } from "../lib/useData";

/** Seed 004: active and pending jobs, and compute and storage assigned against the total. */
export function Monitoring() {
  const m = useData(() => api("monitor"), [], { pollMs: 3000 });
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
    </section>
  );
}

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
