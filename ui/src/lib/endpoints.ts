// The Endpoints page's logic without React: traffic buckets shaped into chart lines, the
// calling snippets, and the try-it box's body check.
import type { Line, Point } from "./chart";

/** One 5-second bucket of one version, as the traffic route answers it. */
export interface TrafficPoint {
  at: string;
  version: number;
  requests: number;
  errors: number;
  rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

/** Seconds after a bucket closes by which the gateway has written all of it (it flushes every
 * second). */
export const FLUSH_GRACE_S = 2;

export interface TrafficCharts {
  rate: Line[];
  latency: Line[];
  errors: Line[];
}

/**
 * Per-version lines over time (x in seconds since the epoch). Only buckets written whole are
 * drawn: the gateway flushes its counts every second, so a bucket still open, or closed less
 * than FLUSH_GRACE_S ago, holds part of its requests and would read as a drop at the right
 * edge. Requests/s and errors/s count a bucket with no row as zero, from the version's first
 * bucket up to the last whole one, so a line falls to 0 when the load stops instead of holding
 * its last value. Latency has no value without requests: no filling.
 */
export function trafficCharts(points: TrafficPoint[], bucketSeconds: number, nowS: number): TrafficCharts {
  const step = Math.max(1, bucketSeconds);
  const byVersion = new Map<number, Map<number, TrafficPoint>>();
  const whole = nowS - FLUSH_GRACE_S; // buckets that ended before this are written whole
  for (const p of points) {
    const at = Math.floor(Date.parse(p.at) / 1000);
    if (!Number.isFinite(at) || at + step > whole) continue;
    const rows = byVersion.get(p.version) ?? new Map<number, TrafficPoint>();
    rows.set(at, p);
    byVersion.set(p.version, rows);
  }
  const lastClosed = Math.floor(whole / step) * step - step;
  const charts: TrafficCharts = { rate: [], latency: [], errors: [] };
  for (const version of [...byVersion.keys()].sort((a, b) => a - b)) {
    const rows = byVersion.get(version) ?? new Map<number, TrafficPoint>();
    const times = [...rows.keys()].sort((a, b) => a - b);
    const rate: Point[] = [];
    const errors: Point[] = [];
    const end = Math.max(times[times.length - 1], lastClosed);
    for (let t = times[0]; t <= end; t += step) {
      const row = rows.get(t);
      rate.push({ x: t, y: row ? row.rate : 0 });
      errors.push({ x: t, y: row ? row.errors / step : 0 });
    }
    const p50: Point[] = [];
    const p99: Point[] = [];
    for (const t of times) {
      const row = rows.get(t);
      if (row?.p50_ms != null) p50.push({ x: t, y: row.p50_ms });
      if (row?.p99_ms != null) p99.push({ x: t, y: row.p99_ms });
    }
    const label = `v${version}`;
    charts.rate.push({ label, points: rate });
    charts.errors.push({ label, points: errors });
    charts.latency.push({ label: `${label} p50`, points: p50 }, { label: `${label} p99`, points: p99 });
  }
  return charts;
}

/** An x value (seconds since the epoch) as the local time of day, `14:03:25`. */
export function clockLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

const KEY_VAR = "HEADWATER_ENDPOINT_KEY";

/** `curl` calling `url` with `body`, the key read from the environment, never written out. */
export function curlSnippet(url: string, body: string): string {
  const quoted = body.replace(/'/g, `'\\''`);
  return [
    `curl -X POST '${url}' \\`,
    `  -H "Authorization: Bearer $${KEY_VAR}" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '${quoted}'`,
  ].join("\n");
}

/** The same call in Python with `requests`. */
export function pythonSnippet(url: string, body: string): string {
  let payload: string;
  try {
    payload = toPython(JSON.parse(body));
  } catch {
    payload = '{"input_params": ...}';
  }
  return [
    "import os",
    "",
    "import requests",
    "",
    "answer = requests.post(",
    `    ${JSON.stringify(url)},`,
    `    json=${payload},`,
    `    headers={"Authorization": f"Bearer {os.environ['${KEY_VAR}']}"},`,
    "    timeout=30,",
    ")",
    'print(answer.status_code, answer.json()["prediction"])',
  ].join("\n");
}

/** A JSON value as a Python literal (true → True, null → None). */
export function toPython(value: unknown): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `[${value.map(toPython).join(", ")}]`;
  if (typeof value === "object") {
    const items = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${JSON.stringify(k)}: ${toPython(v)}`,
    );
    return `{${items.join(", ")}}`;
  }
  return JSON.stringify(value);
}

/** What the try-it box starts with: the newest logged input when it is a whole request. */
export function defaultTryBody(loggedInput: string | undefined, acceptFiles: boolean): string {
  if (loggedInput) {
    try {
      const parsed: unknown = JSON.parse(loggedInput);
      if (isRequest(parsed)) return JSON.stringify(parsed, null, 2);
    } catch {
      // cut by the log's size limit: fall back to an example
    }
  }
  const example = acceptFiles ? "BASE64 OF THE FILE" : "hello";
  return JSON.stringify({ input_params: example }, null, 2);
}

function isRequest(value: unknown): value is { input_params: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "input_params" in value;
}

export type Checked = { ok: true; body: string } | { ok: false; error: string };

/** The try-it box's text as a request body, or why it is not one (before anything is sent). */
export function checkTryBody(text: string): Checked {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isRequest(parsed)) {
    return { ok: false, error: 'The body must be an object with "input_params", e.g. {"input_params": [1, 2]}' };
  }
  return { ok: true, body: JSON.stringify(parsed) };
}

/** A logged or returned body shown in a table cell: one line, at most `max` characters. */
export function shorten(text: string, max = 80): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
