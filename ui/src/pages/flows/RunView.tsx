// One run (bake): polled every 1.5 s until it ends. The graph coloured by status with instance
// counts, the instances with their parameters and tags, the timeline (Gantt), the approval
// dialog for a task pending approval, and Stop / Restart. A run may hold 10,000 instances:
// the poll carries each task's counts and its first few instances only, and the Instances and
// Timeline tabs read pages of the server's list.
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect, useRef, useState } from "react";
import { api, type Schemas } from "../../api/client";
import { ErrorNote, Link, Loading, Pager, StateBadge, UserName } from "../../components/common";
import { Tabs } from "../../components/Tabs";
import { canRunJobs, type Project } from "../../lib/access";
import { duration, formatTime } from "../../lib/format";
import { elapsed, ganttLayout } from "../../lib/gantt";
import { navigate } from "../../lib/router";
import { useData } from "../../lib/useData";
import { Modal } from "./Modal";
import { counts, RunGraph, type Run, type RunTask } from "./RunGraph";
import { Decision, RunTaskPanel } from "./RunTaskPanel";

function complete(run: Schemas["FlowRunOut"]): Run {
  return {
    ...run,
    tasks: (run.tasks ?? []).map((t) => ({
      ...t,
      instances: t.instances ?? [],
      approvers: t.approvers ?? [],
      counts: t.counts ?? {},
      total: t.total ?? (t.instances ?? []).length,
    })),
    relations: run.relations ?? [],
  };
}
const ENDED = new Set(["success", "failed", "aborted"]);
const SHOWN_PER_TASK = 20; // instances each poll carries per task (the approval dialog's tags)
const PAGE = 50; // instances a page of the Instances tab shows
const TIMELINE_ROWS = 200; // instances the timeline draws, the first ones made

export function RunView({ project, runRef }: { project: Project; runRef: string }) {
  const pid = project.id;
  const run = useData(
    () => api("inspect_flow_run", { path: { project_id: pid, ref: runRef }, query: { instance_limit: SHOWN_PER_TASK } }).then(complete),
    [pid, runRef],
    { pollMs: 1500, poll: (r) => !r || !ENDED.has(r.status) },
  );
  const polling = !run.data || !ENDED.has(run.data.status);
  // the version's file, for the tasks' places on the canvas
  const flow = run.data?.flow;
  const version = run.data?.version;
  const file = useData(
    () => (flow && version ? api("show_flow_version", { path: { project_id: pid, name: flow, number: version } }) : Promise.resolve(null)),
    [pid, flow, version],
  );
  const [tab, setTab] = useState("graph");
  const [chosen, setChosen] = useState<string | null>(null);
  const [deciding, setDeciding] = useState<string | null>(null);
  const offered = useRef(new Set<string>());
  const [error, setError] = useState<unknown>();
  const writer = canRunJobs(project);
  const pending = (run.data?.tasks ?? []).filter((t) => t.status === "pending_approval");

  useEffect(() => {
    // the approval dialog opens by itself once for each task that waits (seed 002)
    const first = pending.find((t) => !offered.current.has(t.title));
    if (writer && first && deciding === null) {
      offered.current.add(first.title);
      setDeciding(first.title);
    }
    // once per task that starts waiting: `pending` and `deciding` are read as they are then
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pending.map((t) => t.title).join("\n"), writer]);

  if (run.error && !run.data) return <ErrorNote error={run.error} />;
  if (!run.data) return <Loading what={`run ${runRef}`} />;
  const r = run.data;
  const act = async (what: "stop" | "restart") => {
    setError(undefined);
    try {
      if (what === "stop") {
        await api("stop_flow_run", { path: { project_id: pid, ref: String(r.number) } });
        run.reload();
      } else {
        const next = await api("restart_flow_run", { path: { project_id: pid, ref: String(r.number) }, body: {} });
        navigate(`/projects/${pid}/bakes/${next.number}`);
      }
    } catch (err) {
      setError(err);
    }
  };
  // the graph waits for the version's file: drawn before it, the boxes would jump once it came
  const placesKnown = file.error !== undefined || (file.data?.flow === r.flow && file.data.number === r.version);
  const chosenTask = chosen ? r.tasks.find((t) => t.title === chosen) : undefined;
  const decided = r.tasks.filter((t) => t.decided_by);
  const decidingTask = deciding ? r.tasks.find((t) => t.title === deciding) : undefined;
  return (
    <section aria-labelledby="run-title">
      <div className="toolbar">
        <div>
          <h2 id="run-title">
            Run {r.number} <StateBadge state={r.status} />
          </h2>
          <p className="muted small">
            <Link to={`/projects/${pid}/flows/edit/${encodeURIComponent(r.flow)}`}>{r.flow}</Link> version {r.version} · {r.trigger}
            {r.only ? ` (only ${r.only})` : ""} · by <UserName project={pid} id={r.created_by} /> · created {formatTime(r.created_at)}
            {r.ended_at ? ` · ended ${formatTime(r.ended_at)} (${duration(r.started_at ?? r.created_at, r.ended_at)})` : ""}
            {r.restart_of ? (
              <>
                {" "}
                · restart of <Link to={`/projects/${pid}/bakes/${r.restart_of}`}>run {r.restart_of}</Link>
              </>
            ) : null}
          </p>
          {r.reason ? <p className="small">{r.reason}</p> : null}
        </div>
        <span className="buttons">
          <Link to={`/projects/${pid}/bakes`}>All bakes</Link>
          {writer && !ENDED.has(r.status) ? (
            <button type="button" className="danger" onClick={() => void act("stop")}>
              Stop
            </button>
          ) : null}
          {writer && (r.status === "failed" || r.status === "aborted") ? (
            <button type="button" onClick={() => void act("restart")}>
              Restart
            </button>
          ) : null}
        </span>
      </div>
      <ErrorNote error={error} />
      {pending.map((t) => (
        <div className="notice pending" key={t.title} role="status">
          Task <strong>{t.title}</strong> waits for approval{t.approvers.length ? ` by ${t.approvers.join(", ")}` : ""}.{" "}
          {writer ? (
            <button type="button" onClick={() => setDeciding(t.title)}>
              Review {t.title}
            </button>
          ) : null}
        </div>
      ))}
      {decided.map((t) => (
        <Decision key={t.title} task={t} notice />
      ))}
      <Tabs
        tabs={[
          { id: "graph", label: "Graph" },
          { id: "instances", label: "Instances" },
          { id: "timeline", label: "Timeline" },
        ]}
        active={tab}
        onSelect={setTab}
        label="Run"
      />
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === "graph" ? (
          <>
            {placesKnown ? (
              <ReactFlowProvider>
                <RunGraph run={r} yaml={file.data?.yaml ?? null} selected={chosenTask ? chosenTask.title : null} onSelect={setChosen} />
              </ReactFlowProvider>
            ) : (
              <Loading what="the graph" />
            )}
            {chosenTask ? <RunTaskPanel project={project} run={r} task={chosenTask} onClose={() => setChosen(null)} /> : null}
          </>
        ) : null}
        {tab === "instances" ? <Instances run={r} pid={pid} polling={polling} /> : null}
        {tab === "timeline" ? <Timeline run={r} pid={pid} polling={polling} /> : null}
      </div>
      {decidingTask ? (
        <ApprovalDialog
          pid={pid}
          run={r}
          task={decidingTask}
          onClose={() => setDeciding(null)}
          onDone={() => {
            setDeciding(null);
            run.reload();
          }}
        />
      ) : null}
    </section>
  );
}

const pairs = (o: Record<string, string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

// The step cache's word on an instance: where a cached one came from, or why it ran.
function CacheNote({ note, pid }: { note: Schemas["InstanceOut"]["cache"]; pid: string }) {
  if (!note) return null;
  if (note.hit) {
    return (
      <div className="muted small" data-testid="cache-note">
        {note.kept ? "kept" : "cached"} from run {note.from_run}
        {note.experiment_number ? (
          <>
            {" "}
            (<Link to={`/projects/${pid}/experiments/${note.experiment_number}`}>experiment {note.experiment_number}</Link>)
          </>
        ) : null}
      </div>
    );
  }
  return note.why ? <div className="muted small">not cached: {note.why}</div> : null;
}

/** One page of the run's instances (one task's, when chosen), read from the server. */
function useInstances(pid: string, run: Run, task: string, offset: number, limit: number, polling: boolean) {
  return useData(
    () =>
      api("list_flow_run_instances", {
        path: { project_id: pid, ref: String(run.number) },
        query: { task: task || undefined, offset, limit },
      }),
    [pid, run.number, task, offset, limit, run.status], // read again as the run ends
    { pollMs: 3000, poll: polling },
  );
}

function Instances({ run, pid, polling }: { run: Run; pid: string; polling: boolean }) {
  const [task, setTask] = useState("");
  const [page, setPage] = useState(0);
  const list = useInstances(pid, run, task, page * PAGE, PAGE, polling);
  const total = run.tasks.reduce((n, t) => n + t.total, 0);
  if (total === 0) return <p className="muted">No instances yet.</p>;
  if (list.error && !list.data) return <ErrorNote error={list.error} />;
  const rows = list.data?.items ?? [];
  return (
    <div data-testid="instances">
      <div className="toolbar">
        <label>
          Task{" "}
          <select
            value={task}
            aria-label="Task"
            onChange={(e) => {
              setTask(e.target.value);
              setPage(0);
            }}
          >
            <option value="">All tasks ({total.toLocaleString("en-US")})</option>
            {run.tasks
              .filter((t) => t.total > 0)
              .map((t) => (
                <option key={t.title} value={t.title}>
                  {t.title} ({t.total.toLocaleString("en-US")})
                </option>
              ))}
          </select>
        </label>
        <Pager page={page} size={PAGE} total={list.data?.total ?? 0} onGo={setPage} />
      </div>
      {!list.data ? (
        <Loading what="instances" />
      ) : (
        <table className="list" aria-label="Instances">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Instance</th>
              <th scope="col">Status</th>
              <th scope="col">Params</th>
              <th scope="col">Tags</th>
              <th scope="col">Created</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i, n) => (
              <tr key={i.id}>
                <td>{i.task}</td>
                <td>
                  {i.experiment_number ? (
                    <Link to={`/projects/${pid}/experiments/${i.experiment_number}`}>experiment {i.experiment_number}</Link>
                  ) : (
                    `#${page * PAGE + n + 1}`
                  )}
                </td>
                <td>
                  <StateBadge state={i.cache?.hit ? "cached" : i.status} />
                  {i.reason ? <div className="muted small">{i.reason}</div> : null}
                  <CacheNote note={i.cache} pid={pid} />
                </td>
                <td>
                  <code>{pairs(i.params)}</code>
                </td>
                <td>
                  <code>{pairs(i.tags)}</code>
                </td>
                <td>{formatTime(i.created_at)}</td>
                <td>{formatTime(i.started_at)}</td>
                <td>{i.started_at ? duration(i.started_at, i.finished_at) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const LABEL_W = 200;
const CHART_W = 760;
const ROW_H = 26;

function Timeline({ run, pid, polling }: { run: Run; pid: string; polling: boolean }) {
  const list = useInstances(pid, run, "", 0, TIMELINE_ROWS, polling);
  const total = run.tasks.reduce((n, t) => n + t.total, 0);
  const wide = new Set(run.tasks.filter((t) => t.total > 1).map((t) => t.title));
  const seen = new Map<string, number>();
  const spans = (list.data?.items ?? []).map((i) => {
    const n = (seen.get(i.task ?? "") ?? 0) + 1;
    seen.set(i.task ?? "", n);
    return {
      id: i.id,
      label: `${i.task ?? ""} ${wide.has(i.task ?? "") ? `#${n}` : ""}`.trim(),
      status: i.status,
      created_at: i.created_at,
      started_at: i.started_at,
      finished_at: i.finished_at,
    };
  });
  if (list.error && !list.data) return <ErrorNote error={list.error} />;
  if (!list.data && total > 0) return <Loading what="the timeline" />;
  // a running instance's bar reaches the time of this render (renders follow each poll)
  // eslint-disable-next-line react-hooks/purity
  const g = ganttLayout(spans, { width: CHART_W, rowHeight: ROW_H, now: run.ended_at ? Date.parse(run.ended_at) : Date.now() });
  if (g.rows.length === 0) return <p className="muted">No instances yet.</p>;
  const top = 22;
  return (
    <figure className="chart gantt" data-testid="gantt" data-rows={g.rows.length}>
      <svg viewBox={`0 0 ${LABEL_W + CHART_W + 10} ${g.height + top + 4}`} role="img" aria-label="When each instance queued, ran and ended">
        <g transform={`translate(${LABEL_W},0)`} className="axes">
          {g.ticks.map((t) => (
            <g key={t.x}>
              <line x1={t.x} x2={t.x} y1={top - 4} y2={g.height + top} className="grid" />
              <text x={t.x} y={14} textAnchor="middle">
                {t.label}
              </text>
            </g>
          ))}
        </g>
        {g.rows.map((row) => (
          <g key={row.id} transform={`translate(0,${row.y + top})`}>
            <text x={LABEL_W - 8} y={ROW_H / 2 + 5} textAnchor="end" className="gantt-label">
              {row.label}
            </text>
            <rect x={LABEL_W + row.queued.x} y={6} width={row.queued.width} height={ROW_H - 12} className="gantt-queued">
              <title>queued {elapsed(row.waitedS)}</title>
            </rect>
            {row.ran ? (
              <rect x={LABEL_W + row.ran.x} y={3} width={row.ran.width} height={ROW_H - 6} className={`gantt-ran status-${row.status}`}>
                <title>
                  {row.status}, ran {elapsed(row.ranS ?? 0)}
                </title>
              </rect>
            ) : null}
          </g>
        ))}
      </svg>
      <figcaption className="legend small">
        <span>
          <span className="swatch gantt-queued" /> queued
        </span>
        <span>
          <span className="swatch status-running" /> running
        </span>
        <span>
          <span className="swatch status-success" /> succeeded
        </span>
        <span>
          <span className="swatch status-failed" /> failed
        </span>
        <span className="muted">from {formatTime(new Date(g.start).toISOString())}</span>
        {total > spans.length ? (
          <span className="muted" data-testid="timeline-shown">
            the first {spans.length.toLocaleString("en-US")} of {total.toLocaleString("en-US")} instances
          </span>
        ) : null}
      </figcaption>
    </figure>
  );
}

function ApprovalDialog(props: { pid: string; run: Run; task: RunTask; onClose: () => void; onDone: () => void }) {
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const { task, run } = props;
  const decide = async (approve: boolean) => {
    setBusy(true);
    setError(undefined);
    const args = { path: { project_id: props.pid, ref: String(run.number), title: task.title }, body: { comment } };
    try {
      if (approve) await api("approve_flow_task", args);
      else await api("reject_flow_task", args);
      props.onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const parents = run.relations.filter((r) => r.to === task.title).map((r) => r.from);
  return (
    <Modal title={`Approve ${task.title}?`} onClose={props.onClose}>
      <p>
        Run {run.number} of {run.flow} waits for approval of task <strong>{task.title}</strong>
        {task.approvers.length ? ` (approvers: ${task.approvers.join(", ")})` : ""}. Approving continues the flow; rejecting stops it.
      </p>
      {parents.length ? (
        <ul className="small">
          {parents.map((p) => {
            const t = run.tasks.find((x) => x.title === p);
            return t ? (
              <li key={p}>
                {p}: {t.status.replace("_", " ")}
                {t.total ? ` (${counts(t)})` : ""}
                {t.instances.some((i) => Object.keys(i.tags).length) ? ` · tags ${t.instances.map((i) => pairs(i.tags)).filter(Boolean).join("; ")}` : ""}
              </li>
            ) : null;
          })}
        </ul>
      ) : null}
      <form aria-label="Decision" onSubmit={(e) => e.preventDefault()}>
        <label>
          Comment (for the record)
          <textarea rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" disabled={busy} onClick={() => void decide(true)}>
            Approve
          </button>
          <button type="button" className="danger" disabled={busy} onClick={() => void decide(false)}>
            Reject
          </button>
          <button type="button" className="secondary" onClick={props.onClose}>
            Later
          </button>
        </div>
      </form>
    </Modal>
  );
}
