import { describe, expect, it } from "vitest";
import { elapsed, ganttLayout, ticks } from "./gantt";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

describe("gantt layout", () => {
  it("scales queued and running bars to the width, sorted by creation", () => {
    const g = ganttLayout(
      [
        { id: "b", label: "Train #2", status: "success", created_at: at(2), started_at: at(4), finished_at: at(10) },
        { id: "a", label: "Train #1", status: "success", created_at: at(0), started_at: at(1), finished_at: at(5) },
      ],
      { width: 1000, rowHeight: 20 },
    );
    expect(g.rows.map((r) => r.id)).toEqual(["a", "b"]);
    expect(g.start).toBe(T0);
    expect(g.end).toBe(T0 + 10_000);
    const [a, b] = g.rows;
    expect(a.y).toBe(0);
    expect(b.y).toBe(20);
    expect(a.queued).toEqual({ x: 0, width: 100 });
    expect(a.ran).toEqual({ x: 100, width: 400 });
    expect(b.queued).toEqual({ x: 200, width: 200 });
    expect(b.ran).toEqual({ x: 400, width: 600 });
    expect(a.waitedS).toBe(1);
    expect(b.ranS).toBe(6);
    expect(g.height).toBe(40);
  });

  it("runs open bars to now, and an instance never started has no run bar", () => {
    const g = ganttLayout(
      [
        { id: "r", label: "running", status: "running", created_at: at(0), started_at: at(2), finished_at: null },
        { id: "q", label: "queued", status: "queued", created_at: at(1), started_at: null, finished_at: null },
        { id: "x", label: "aborted", status: "aborted", created_at: at(1), started_at: null, finished_at: at(3) },
      ],
      { width: 400, now: T0 + 4000 },
    );
    expect(g.rows.map((row) => row.id)).toEqual(["r", "x", "q"]); // ties: by label
    const [r, x, q] = g.rows;
    expect(r.ran).toEqual({ x: 200, width: 200 });
    expect(q.ran).toBeNull();
    expect(q.queued).toEqual({ x: 100, width: 300 });
    expect(x.queued).toEqual({ x: 100, width: 200 });
    expect(x.ranS).toBeNull();
  });

  it("a bar is at least a pixel wide, and nothing is an empty chart", () => {
    const g = ganttLayout(
      [{ id: "z", label: "z", status: "success", created_at: at(0), started_at: at(0), finished_at: at(0) }],
      { width: 100, now: T0 },
    );
    expect(g.rows[0].ran!.width).toBe(1);
    expect(ganttLayout([], { width: 100 }).rows).toEqual([]);
  });

  it("ticks at round steps", () => {
    const t = ticks(T0, T0 + 60_000, 600, 5);
    expect(t.map((k) => k.label)).toEqual(["0 s", "15 s", "30 s", "45 s", "1 min"]);
    expect(t[1].x).toBe(150);
    expect(elapsed(90)).toBe("1 min 30 s");
    expect(elapsed(7200)).toBe("2 h");
  });
});
