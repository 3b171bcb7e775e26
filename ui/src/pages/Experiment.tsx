import { useEffect, useRef, useState } from "react";
import { ApiError, api, type Schemas } from "../api/client";
import { LineChart } from "../components/LineChart";
import { ErrorNote, KeyValues, Link, Loading, StateBadge, UserName } from "../components/common";
import { canRunJobs, type Project } from "../lib/access";
import { downsample, toPoints } from "../lib/chart";
import { duration, formatTime } from "../lib/format";
import { useData } from "../lib/useData";
import { tensorboardUrl } from "../lib/workspaces";
import { Artifacts } from "./experiment/Artifacts";

const POLL_MS = 1500;
const MAX_POINTS = 4000; // per chart: uPlot draws that many quickly; a spike survives the cut
const MAX_LOG_CHARS = 2_000_000; // keep the tail: a chatty job must not eat the tab's memory

/** One experiment: state, parameters, tags, metric charts and logs, live while it runs. */
export function ExperimentPage({ project, number }: { project: Project; number: string }) {
  const path = { project_id: project.id, ref: number };
  const exp = useData(() => api("show_experiment", { path }), [project.id, number], {
    pollMs: POLL_MS,
    poll: (e) => !e || !isEnded(e.state),
  });
  const live = exp.data ? !isEnded(exp.data.state) : true;
  // `live` in the keys: one more read once it ends, so the last points are never missed
  const metrics = useData(() => api("get_metrics", { path }), [project.id, number, live], {
    pollMs: POLL_MS,
    poll: live,
  });
  // The TensorBoard the project setting started with it (404: none), asked again while the job
  // runs or the board is still starting, so the link shows up once it can be opened.
  const board = useData(() => api("tensorboard_of_experiment", { path }).catch(noneOn404), [project.id, number], {
    pollMs: POLL_MS,
    poll: (b) => live || b?.state === "starting",
  });
  const boardUrl = tensorboardUrl(project, board.data);
  const [stopError, setStopError] = useState<unknown>();

  if (exp.error) return <ErrorNote error={exp.error} />;
  if (!exp.data) return <Loading what={`experiment ${number}`} />;
  const e = exp.data;
  const stop = async () => {
    setStopError(undefined);
    try {
      await api("stop_experiment", { path });
      exp.reload();
    } catch (err) {
      setStopError(err);
    }
  };
  return (
    <section aria-labelledby="exp-title">
      <p>
        <Link to={`/projects/${project.id}/experiments`}>← Experiments</Link>
      </p>
      <h2 id="exp-title">
        Experiment {e.number}
        {e.title && e.title !== `Experiment ${e.number}` ? ` · ${e.title}` : ""} <StateBadge state={e.state} />
      </h2>
      {canRunJobs(project) && live ? (
        <button type="button" onClick={stop}>
          Stop
        </button>
      ) : null}
      {boardUrl ? (
        <p>
          <a href={boardUrl} target="_blank" rel="noopener noreferrer">
            Open TensorBoard
          </a>
        </p>
      ) : null}
      <ErrorNote error={stopError} />
      <div className="grid2">
        <div>
          <h3>Details</h3>
          <KeyValues
            empty=""
            values={{
              command: e.command,
              compute: e.compute ?? "—",
              created: formatTime(e.created_at),
              "created by": <UserName project={project.id} id={e.created_by} />,
              duration: duration(e.started_at, e.ended_at),
              "exit code": e.exit_code ?? "—",
              branch: e.branch,
              ...(e.reason ? { reason: e.reason } : {}),
            }}
          />
        </div>
        <div>
          <h3>Parameters</h3>
          <KeyValues values={{ ...e.params, ...e.logged_params }} empty="No parameters." />
          <h3>Tags</h3>
          <KeyValues values={e.tags ?? {}} empty="No tags." />
        </div>
      </div>
      <Artifacts project={project} experiment={e} />
      <h3>Metrics</h3>
      <ErrorNote error={metrics.error} />
      <Charts series={metrics.data} />
      <h3>Logs</h3>
      <Logs key={`${project.id}/${number}`} project={project} number={number} live={live} />
    </section>
  );
}

/** No TensorBoard for this experiment is an answer (null), not an error to show. */
const noneOn404 = (err: unknown): null => {
  if (err instanceof ApiError && err.status === 404) return null;
  throw err;
};

export const isEnded = (state: string) => state === "success" || state === "failed" || state === "aborted";

function Charts({ series }: { series: Schemas["MetricSeries"][] | undefined }) {
  if (!series) return <Loading what="metrics" />;
  if (series.length === 0) return <p className="muted">No metrics yet: print `hw_linechart_NAME value: V` lines.</p>;
  return (
    <div className="charts">
      {series.map((s) => (
        <LineChart
          key={s.key}
          title={s.key}
          lines={[{ label: s.key, points: downsample(toPoints(s), MAX_POINTS) }]}
          xLabel="step"
          yLabel={s.key}
        />
      ))}
    </div>
  );
}

/** Follows the log by asking for chunks after the last one seen, every POLL_MS while it runs.
 * One experiment's log per mount: a caller that switches experiments keys it by experiment. */
export function Logs({ project, number, live }: { project: Project; number: string; live: boolean }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<unknown>();
  const next = useRef(0);
  const box = useRef<HTMLPreElement>(null);

  // Runs again when the job ends, to read what it printed last.
  useEffect(() => {
    let stopped = false;
    let timer = 0;
    const pull = async () => {
      try {
        for (;;) {
          const out = await api("get_logs", {
            path: { project_id: project.id, ref: number },
            query: { after: next.current, limit: 1000 },
          });
          if (stopped) return;
          if (out.chunks.length) {
            next.current = out.next_seq;
            const more = out.chunks.map((c) => c.text).join("");
            setText((t) => (t + more).slice(-MAX_LOG_CHARS));
          }
          setError(undefined);
          if (out.chunks.length < 1000) break;
        }
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (!stopped && live) timer = window.setTimeout(pull, POLL_MS);
    };
    void pull();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [project.id, number, live]);

  useEffect(() => {
    const el = box.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <>
      <ErrorNote error={error} />
      <pre className="logs" ref={box} tabIndex={0} aria-label="Logs" aria-live="off">
        {text || (live ? "Waiting for output…" : "No output.")}
      </pre>
    </>
  );
}
