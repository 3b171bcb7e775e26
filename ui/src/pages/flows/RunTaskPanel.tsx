// One task of a run, opened from its box in the graph: its status and why, who decided it (and
// what they said), and its instances grouped by flow route, each with its log opening in place.
import { useState } from "react";
import { Link, StateBadge } from "../../components/common";
import type { Project } from "../../lib/access";
import { duration } from "../../lib/format";
import { instanceLabel, routesOf } from "../../lib/runGraph";
import { Logs } from "../Experiment";
import type { Run, RunTask } from "./RunGraph";

const ENDED = new Set(["success", "failed", "aborted", "skipped"]);
const PER_ROUTE = 100; // a grid of thousands: the Instances tab pages them all

const pairs = (o: Record<string, string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/**
 * Who decided an approval, and what they said: "Rejected by ana: “too risky”"; with `notice`,
 * the run page's line for it: "Task Ship was rejected by ana: “too risky”".
 */
export function Decision({ task, notice = false }: { task: RunTask; notice?: boolean }) {
  if (!task.decided_by) return null;
  const rejected = task.decision === "rejected";
  const verb = rejected ? "rejected" : "approved";
  return (
    <p
      className={notice ? `notice decided ${verb}` : "small decision"}
      data-testid={notice ? `decided-${task.title}` : `decision-${task.title}`}
    >
      {notice ? (
        <>
          Task <strong>{task.title}</strong> was {verb} by{" "}
        </>
      ) : (
        `${rejected ? "Rejected" : "Approved"} by `
      )}
      <strong>{task.decided_by}</strong>
      {task.comment ? (
        <>
          : <q className="comment">{task.comment}</q>
        </>
      ) : (
        " (no comment)"
      )}
    </p>
  );
}

export function RunTaskPanel(props: { project: Project; run: Run; task: RunTask; onClose: () => void }) {
  const { project, run, task } = props;
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((was) => {
      const next = new Set(was);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const groups = routesOf(run.tasks, task.title);
  const total = task.instances.length;
  return (
    <section className="task-panel" aria-labelledby="task-panel-title" data-testid="task-panel">
      <div className="toolbar">
        <h3 id="task-panel-title">
          Task {task.title} <StateBadge state={task.status} />
        </h3>
        <button type="button" className="plain" aria-label="Close the task" onClick={props.onClose}>
          ×
        </button>
      </div>
      {task.reason ? <p className="small">{task.reason}</p> : null}
      <Decision task={task} />
      {task.status === "pending_approval" && task.approvers.length ? <p className="small">Approvers: {task.approvers.join(", ")}</p> : null}
      {task.total === 0 ? <p className="muted">No instances yet{ENDED.has(task.status) ? "" : ": the task waits for its parents"}.</p> : null}
      {groups.map((g) => (
        <div className="route" key={g.key} role="group" aria-label={g.route.length ? `Route after ${g.route.map((s) => s.label).join(" → ")}` : "Route from the start"}>
          <h4 className="small">
            {g.route.length ? (
              <>
                Route: {g.route.map((s) => s.label).join(" → ")} → <strong>{task.title}</strong>
              </>
            ) : (
              <>Route: the flow's start → {task.title}</>
            )}{" "}
            <span className="muted">
              ({g.instances.length} instance{g.instances.length === 1 ? "" : "s"})
            </span>
          </h4>
          <ul className="instances">
            {g.instances.slice(0, PER_ROUTE).map(({ instance: i, n }) => (
              <li key={i.id} data-testid={`instance-${i.id}`}>
                <div className="instance-row">
                  <StateBadge state={i.cache?.hit ? "cached" : i.status} />
                  <span>{instanceLabel(task.title, n, total, i.params)}</span>
                  {Object.keys(i.tags).length ? <code className="small">{pairs(i.tags)}</code> : null}
                  {i.started_at ? <span className="muted small">{duration(i.started_at, i.finished_at)}</span> : null}
                  {i.experiment_number ? (
                    <>
                      <button type="button" className="secondary" aria-expanded={open.has(i.id)} onClick={() => toggle(i.id)}>
                        {open.has(i.id) ? "Hide log" : "Log"}
                        <span className="sr-only"> of {instanceLabel(task.title, n, total, i.params)}</span>
                      </button>
                      <Link to={`/projects/${project.id}/experiments/${i.experiment_number}`}>experiment {i.experiment_number}</Link>
                    </>
                  ) : (
                    <span className="muted small">{task.type === "data" ? "a dataset: no log" : "no log of its own"}</span>
                  )}
                </div>
                {i.reason ? <div className="muted small">{i.reason}</div> : null}
                {open.has(i.id) && i.experiment_number ? (
                  <Logs project={project} number={String(i.experiment_number)} live={!ENDED.has(i.status)} />
                ) : null}
              </li>
            ))}
          </ul>
          {g.instances.length > PER_ROUTE ? <p className="muted small">…and {g.instances.length - PER_ROUTE} more on this route: see the Instances tab.</p> : null}
        </div>
      ))}
      {task.total > total ? (
        <p className="muted small" data-testid="panel-shown">
          The first {total.toLocaleString("en-US")} of {task.total.toLocaleString("en-US")} instances: see the Instances tab for all.
        </p>
      ) : null}
    </section>
  );
}
