import { useState } from "react";
import { api, buildUrl, send, type Sent } from "../../api/client";
import { OPERATIONS } from "../../api/operations";
import { ErrorNote, Loading, Pager } from "../../components/common";
import type { Project } from "../../lib/access";
import { shorten } from "../../lib/endpoints";
import { formatTime } from "../../lib/format";
import { useData } from "../../lib/useData";

const PAGE = 20;

/** The sampled request log, newest first, paged on the server; a replay sends one again. */
export function RequestLog(props: { project: Project; refName: string; canReplay: boolean }) {
  const { project, refName, canReplay } = props;
  const [page, setPage] = useState(0);
  const [replayed, setReplayed] = useState<{ id: number; answer: Sent }>();
  const [error, setError] = useState<unknown>();
  const path = { project_id: project.id, ref: refName };
  const log = useData(
    () => api("list_endpoint_requests", { path, query: { offset: page * PAGE, limit: PAGE } }),
    [project.id, refName, page],
    { pollMs: 5000 },
  );
  if (log.error) return <ErrorNote error={log.error} />;
  if (!log.data) return <Loading what="the request log" />;
  const replay = async (id: number) => {
    setError(undefined);
    try {
      // the answer is shown whatever its status, as the try-it box shows it
      const url = buildUrl(OPERATIONS.replay_endpoint_request[1], { ...path, request_id: id });
      setReplayed({ id, answer: await send(url, "") });
      log.reload();
    } catch (err) {
      setError(err);
    }
  };
  const items = log.data.items;
  return (
    <div className="request-log">
      {items.length === 0 ? (
        <p className="muted">No request logged yet (the project&apos;s request_log setting says which are).</p>
      ) : (
        <table className="table" aria-label="Request log">
          <thead>
            <tr>
              <th>Time</th>
              <th>Version</th>
              <th>Status</th>
              <th>Latency</th>
              <th>Input</th>
              <th>Output</th>
              {canReplay ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id}>
                <td title={r.request_id}>{formatTime(r.at)}</td>
                <td>{r.version ? `v${r.version}` : "–"}</td>
                <td>{r.status}</td>
                <td>{r.latency_ms.toFixed(1)} ms</td>
                <td title={r.input}>
                  <code>{shorten(r.input)}</code>
                </td>
                <td title={r.output}>
                  <code>{shorten(r.output)}</code>
                </td>
                {canReplay ? (
                  <td>
                    <button type="button" className="linkish" onClick={() => replay(r.id)}>
                      Replay
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={page} size={PAGE} total={log.data.total} onGo={setPage} />
      <ErrorNote error={error} />
      {replayed ? (
        <p aria-label="Replayed">
          Replayed {replayed.id}: <strong>{replayed.answer.status}</strong>{" "}
          <code>{shorten(replayed.answer.text, 200)}</code>
        </p>
      ) : null}
    </div>
  );
}
