import { api } from "../../api/client";
import { LineChart } from "../../components/LineChart";
import { ErrorNote, Loading } from "../../components/common";
import type { Project } from "../../lib/access";
import { timeTicks } from "../../lib/chart";
import { clockLabel, trafficCharts } from "../../lib/endpoints";
import { useData } from "../../lib/useData";

const POLL_MS = 2500; // half a bucket: a new bucket shows within 2.5 s of being written

/** Requests/s, p50/p99 latency and errors/s per version over the last 15 minutes, live. */
export function Traffic({ project, refName }: { project: Project; refName: string }) {
  // the time of the answer decides which buckets are whole (a render reads no clock)
  const traffic = useData(
    () =>
      api("endpoint_traffic", { path: { project_id: project.id, ref: refName } }).then((t) => ({
        ...t,
        nowS: Date.now() / 1000,
      })),
    [project.id, refName],
    { pollMs: POLL_MS },
  );
  if (traffic.error) return <ErrorNote error={traffic.error} />;
  if (!traffic.data) return <Loading what="the traffic" />;
  const charts = trafficCharts(traffic.data.points, traffic.data.bucket_seconds, traffic.data.nowS);
  const time = { formatX: clockLabel, xTicks: timeTicks, xMinSpan: 60, fromZero: true };
  const per = `per ${traffic.data.bucket_seconds} s bucket`;
  return (
    <div className="charts" aria-label="Traffic charts">
      <LineChart title="Requests/s" lines={charts.rate} xLabel={`time (${per})`} yLabel="requests/s" {...time} />
      <LineChart title="Latency" lines={charts.latency} xLabel="time" yLabel="ms" {...time} />
      <LineChart title="Errors/s" lines={charts.errors} xLabel="time" yLabel="errors/s" {...time} />
    </div>
  );
}
