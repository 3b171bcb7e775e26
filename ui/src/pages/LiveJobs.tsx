import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { ErrorNote, Link, Loading, Pager, StateBadge } from "../components/common";
import { canRunJobs, type Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { navigate, useLocation } from "../lib/router";
import { useData } from "../lib/useData";

export const LIVE = "live:";
const PAGE = 50;
// a job name as live.yaml allows it: it becomes the experiment's title `live:<job>`
const JOB_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

type Experiment = Schemas["ExperimentOut"];

/** A job's run that has not ended: a second one is refused unless stopped first (`hw live run`). */
async function activeRun(projectId: string, job: string): Promise<Experiment | undefined> {
  const latest = await api("list_experiments", {
    path: { project_id: projectId },
    query: { title: LIVE + job, limit: 1 },
  });
  const run = latest.items[0];
  return run && !run.ended_at ? run : undefined;
}

/** Start `job` as `hw live run` does: an experiment titled `live:<job>`, refused while one runs. */
async function startJob(projectId: string, job: string, command: string, computes: string[]): Promise<Experiment> {
  const running = await activeRun(projectId, job);
  if (running) {
    throw new Error(
      `live job ${job} is already ${running.state} as experiment ${running.number}: stop it first, then start it again`,
    );
  }
  const made = await api("create_experiments", {
    path: { project_id: projectId },
    body: { command, title: LIVE + job, computes },
  });
  return made[0];
}

/**
 * Live jobs are experiments titled `live:<job>` (`hw live run`); the server finds and pages them.
 * Members who may run jobs start one here (a name and a command), stop a running one, or start an
 * ended one again with its command and computes.
 */
export function LiveJobs({ project }: { project: Project }) {
  const { query } = useLocation();
  const page = Math.max(0, Number(query.get("page") ?? "0") || 0);
  const exps = useData(
    () =>
      api("list_experiments", {
        path: { project_id: project.id },
        query: { title_prefix: LIVE, offset: page * PAGE, limit: PAGE },
      }),
    [project.id, page],
    { pollMs: 5000 },
  );
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const may = canRunJobs(project);
  const base = `/projects/${project.id}/live`;

  const act = async (id: string, work: () => Promise<unknown>) => {
    setBusy(id);
    setError(undefined);
    try {
      await work();
      exps.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
    }
  };
  const stop = (e: Experiment) =>
    act(e.id, () => api("stop_experiment", { path: { project_id: project.id, ref: String(e.number) } }));
  const again = (e: Experiment) =>
    act(e.id, () => startJob(project.id, e.title.slice(LIVE.length), e.command, e.computes));

  if (exps.error) return <ErrorNote error={exps.error} />;
  if (!exps.data) return <Loading what="the live jobs" />;
  const live = exps.data.items;
  return (
    <section className="live-jobs">
      <h2>Live jobs</h2>
      {may ? <StartForm project={project} onStarted={exps.reload} /> : null}
      <ErrorNote error={error} />
      {live.length === 0 ? (
        <p>
          No live jobs yet{may ? ": start one above, or" : ":"} <code>hw live run JOB</code> starts one from{" "}
          <code>.headwater/live.yaml</code>.
        </p>
      ) : (
        <>
          <table className="table" aria-label="Live jobs">
            <thead>
              <tr>
                <th>#</th>
                <th>Job</th>
                <th>State</th>
                <th>Started</th>
                <th>Ended</th>
                {may ? <th>Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {live.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/projects/${project.id}/experiments/${e.number}`}>{e.number}</Link>
                  </td>
                  <td>{e.title.slice(LIVE.length)}</td>
                  <td>
                    <StateBadge state={e.state} />
                  </td>
                  <td>{formatTime(e.started_at)}</td>
                  <td>{formatTime(e.ended_at)}</td>
                  {may ? (
                    <td>
                      {e.ended_at ? (
                        <button type="button" disabled={busy === e.id} onClick={() => void again(e)}>
                          Start again
                        </button>
                      ) : (
                        <button type="button" disabled={busy === e.id} onClick={() => void stop(e)}>
                          Stop
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            page={page}
            size={PAGE}
            total={exps.data.total}
            onGo={(p) => navigate(p ? `${base}?page=${p}` : base, { replace: true })}
            labels={["Newer", "Older"]}
          />
        </>
      )}
    </section>
  );
}

/** A new live job: its name, its command and (optionally) the compute it asks for. */
function StartForm({ project, onStarted }: { project: Project; onStarted: () => void }) {
  const [job, setJob] = useState("");
  const [command, setCommand] = useState("");
  const [compute, setCompute] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [note, setNote] = useState("");
  const computes = useData(() => api("list_compute"), []);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setNote("");
    if (!JOB_NAME.test(job)) {
      setError(new Error("A job name starts with a letter and has only letters, digits, - and _ (at most 63)."));
      return;
    }
    setBusy(true);
    try {
      const made = await startJob(project.id, job, command, compute ? [compute] : []);
      setNote(`Started live job ${job}: experiment ${made.number}.`);
      onStarted();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="row" aria-label="Start a live job" onSubmit={(e) => void submit(e)}>
      <label>
        Job <input value={job} onChange={(e) => setJob(e.target.value)} required maxLength={63} placeholder="serve" />
      </label>
      <label>
        Command{" "}
        <input
          value={command}
          onChange={(e) => setCommand(e.target.value)}
          required
          maxLength={10000}
          placeholder="python serve.py"
        />
      </label>
      <label>
        Compute{" "}
        <select value={compute} onChange={(e) => setCompute(e.target.value)}>
          <option value="">the project&apos;s default</option>
          {(computes.data ?? []).map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        Start
      </button>
      {note ? (
        <span role="status" className="muted">
          {note}
        </span>
      ) : null}
      <ErrorNote error={error} />
    </form>
  );
}
