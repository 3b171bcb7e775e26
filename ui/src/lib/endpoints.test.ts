import { describe, expect, it } from "vitest";
import {
  checkTryBody,
  clockLabel,
  curlSnippet,
  defaultTryBody,
  pythonSnippet,
  shorten,
  toPython,
  trafficCharts,
  type TrafficPoint,
} from "./endpoints";

const T0 = Date.UTC(2026, 11, 7, 4, 0, 0) / 1000; // a bucket boundary

function point(offsetS: number, version: number, more: Partial<TrafficPoint> = {}): TrafficPoint {
  return {
    at: new Date((T0 + offsetS) * 1000).toISOString(),
    version,
    requests: 50,
    errors: 0,
    rate: 10,
    p50_ms: 2,
    p99_ms: 9,
    ...more,
  };
}

describe("trafficCharts", () => {
  it("draws a line per version, a missing bucket as zero requests", () => {
    const points = [point(0, 1), point(10, 1, { rate: 20, requests: 100, errors: 5 })];
    const charts = trafficCharts(points, 5, T0 + 18);
    expect(charts.rate).toEqual([
      {
        label: "v1",
        points: [
          { x: T0, y: 10 },
          { x: T0 + 5, y: 0 },
          { x: T0 + 10, y: 20 },
        ],
      },
    ]);
    expect(charts.errors[0].points.map((p) => p.y)).toEqual([0, 0, 1]); // 5 errors in 5 s
  });

  it("falls to zero after the load stops, up to the last bucket written whole", () => {
    const charts = trafficCharts([point(0, 1)], 5, T0 + 23);
    // buckets 0..15 ended by 21 (now less the flush grace); 20 is still open
    expect(charts.rate[0].points.map((p) => p.y)).toEqual([10, 0, 0, 0]);
  });

  it("leaves out a bucket still open or just closed: it may hold part of its requests", () => {
    const points = [point(0, 1), point(5, 1, { rate: 0.2 })];
    expect(trafficCharts(points, 5, T0 + 9).rate[0].points).toEqual([{ x: T0, y: 10 }]);
    expect(trafficCharts(points, 5, T0 + 11).rate[0].points).toEqual([{ x: T0, y: 10 }]);
    expect(trafficCharts(points, 5, T0 + 12).rate[0].points).toHaveLength(2);
  });

  it("draws latency only where there were requests: p50 and p99 per version", () => {
    const points = [point(0, 1), point(0, 2, { p50_ms: 4, p99_ms: 30 }), point(10, 2, { p50_ms: null, p99_ms: null })];
    const charts = trafficCharts(points, 5, T0 + 16);
    expect(charts.latency.map((l) => l.label)).toEqual(["v1 p50", "v1 p99", "v2 p50", "v2 p99"]);
    expect(charts.latency[3].points).toEqual([{ x: T0, y: 30 }]);
    expect(charts.rate.map((l) => l.label)).toEqual(["v1", "v2"]);
  });

  it("draws nothing without points", () => {
    expect(trafficCharts([], 5, T0)).toEqual({ rate: [], latency: [], errors: [] });
  });
});

describe("snippets", () => {
  const url = "http://127.0.0.1:8765/api/v1/endpoints/echo/predict";

  it("curl sends the bearer key from the environment and quotes the body for a shell", () => {
    const text = curlSnippet(url, `{"input_params": "it's"}`);
    expect(text).toContain(`-H "Authorization: Bearer $HEADWATER_ENDPOINT_KEY"`);
    expect(text).toContain(`-d '{"input_params": "it'\\''s"}'`);
    expect(text).toContain(`curl -X POST '${url}'`);
  });

  it("Python posts the body as a Python literal", () => {
    const text = pythonSnippet(url, `{"input_params": [1, true, null]}`);
    expect(text).toContain(`json={"input_params": [1, True, None]},`);
    expect(text).toContain(`"Authorization": f"Bearer {os.environ['HEADWATER_ENDPOINT_KEY']}"`);
  });

  it("Python literals of nested JSON", () => {
    expect(toPython({ a: { b: [false, "x"] } })).toBe(`{"a": {"b": [False, "x"]}}`);
  });
});

describe("the try-it body", () => {
  it("starts from the newest logged request when it is whole", () => {
    expect(defaultTryBody(`{"input_params": [3, 4]}`, false)).toBe(`{\n  "input_params": [\n    3,\n    4\n  ]\n}`);
  });

  it("starts from an example when the log cut the input or there is none", () => {
    expect(JSON.parse(defaultTryBody(`{"input_params": "abc…`, false))).toEqual({ input_params: "hello" });
    expect(JSON.parse(defaultTryBody(undefined, true)).input_params).toMatch(/BASE64/);
  });

  it("refuses what is not JSON or has no input_params, saying why", () => {
    const notJson = checkTryBody(`{"input_params": `);
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.error).toMatch(/^Not JSON/);
    const noParams = checkTryBody(`[1, 2]`);
    expect(noParams.ok).toBe(false);
    if (!noParams.ok) expect(noParams.error).toContain("input_params");
    expect(checkTryBody(` {"input_params": 1} `)).toEqual({ ok: true, body: `{"input_params":1}` });
  });
});

describe("small helpers", () => {
  it("shortens to one line", () => {
    expect(shorten("a\n  b", 10)).toBe("a b");
    expect(shorten("x".repeat(20), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("labels a time of day", () => {
    expect(clockLabel(T0)).toMatch(/^\d\d:\d\d:\d\d$/);
  });
});
