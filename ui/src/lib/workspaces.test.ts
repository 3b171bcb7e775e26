import { describe, expect, it } from "vitest";
import { canUseWorkspaces, cullText, safeNext, span, startBody, tensorboardUrl, type Workspace } from "./workspaces";
import type { Project } from "./access";

const workspace = (over: Partial<Workspace>): Workspace =>
  ({
    id: "w1",
    name: "lab",
    state: "running",
    created_at: "2026-01-01T00:00:00Z",
    last_activity: "2026-01-01T00:00:00Z",
    idle_seconds: 3600,
    max_age_seconds: 7 * 86400,
    culls_at: "2026-01-01T01:00:00Z",
    ...over,
  }) as Workspace;

describe("cullText", () => {
  it("names the idle limit when that comes first", () => {
    const now = new Date("2026-01-01T00:02:00Z");
    expect(cullText(workspace({}), now)).toBe("in 58m (idle 1h)");
  });
  it("names the maximum age when that comes first", () => {
    const w = workspace({ max_age_seconds: 1800, culls_at: "2026-01-01T00:30:00Z" });
    expect(cullText(w, new Date("2026-01-01T00:00:00Z"))).toBe("in 30m (max age 30m)");
  });
  it("says due now once passed, and a dash when ended", () => {
    expect(cullText(workspace({}), new Date("2026-01-01T02:00:00Z"))).toBe("due now (idle 1h)");
    expect(cullText(workspace({ culls_at: null, state: "stopped" }))).toBe("–");
  });
});

describe("span", () => {
  it("keeps the two largest units", () => {
    expect(span(45)).toBe("45s");
    expect(span(5400)).toBe("1h 30m");
    expect(span(7 * 86400 - 3600)).toBe("6d 23h");
    expect(span(86400 + 30)).toBe("1d");
    expect(span(0)).toBe("0s");
  });
});

describe("startBody", () => {
  it("leaves blanks to the server and splits datasets", () => {
    expect(startBody({ name: " ", compute: "", datasets: "", version: "" })).toEqual({});
    expect(startBody({ name: "lab2", compute: "small", datasets: "images, text@abc\nq:x", version: "c0ffee" })).toEqual({
      name: "lab2",
      compute: "small",
      datasets: ["images", "text@abc", "q:x"],
      commit: "c0ffee",
    });
  });
});

describe("safeNext", () => {
  it("keeps a same-origin path with its query", () => {
    expect(safeNext("/workspaces/abc/lab?reset")).toBe("/workspaces/abc/lab?reset");
    expect(safeNext("/projects/p1/workspaces")).toBe("/projects/p1/workspaces");
  });
  it("refuses anything that could leave the origin", () => {
    for (const bad of [null, "", "workspaces", "//evil.example/x", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/\tx"]) {
      expect(safeNext(bad)).toBeNull();
    }
  });
});

describe("canUseWorkspaces", () => {
  const project = (jobs: string, files: string) => ({ access: { jobs, files } }) as unknown as Project;
  it("needs all access to jobs and files", () => {
    expect(canUseWorkspaces(project("all", "all"))).toBe(true);
    expect(canUseWorkspaces(project("all", "read"))).toBe(false);
    expect(canUseWorkspaces(project("read", "all"))).toBe(false);
  });
});

describe("tensorboardUrl", () => {
  const project = (jobs: string, files: string) => ({ access: { jobs, files } }) as unknown as Project;
  const board = (over: Partial<Workspace>) => workspace({ kind: "tensorboard", url: "/workspaces/w1/", ...over });
  it("links a running TensorBoard for a member the proxy lets in", () => {
    expect(tensorboardUrl(project("all", "all"), board({}))).toBe("/workspaces/w1/");
  });
  it("links nothing while it starts, once it ended, or when there is none", () => {
    expect(tensorboardUrl(project("all", "all"), board({ state: "starting" }))).toBeNull();
    expect(tensorboardUrl(project("all", "all"), board({ state: "stopped" }))).toBeNull();
    expect(tensorboardUrl(project("all", "all"), null)).toBeNull();
  });
  it("links nothing for a member the proxy refuses, nor for a JupyterLab", () => {
    expect(tensorboardUrl(project("read", "all"), board({}))).toBeNull();
    expect(tensorboardUrl(project("all", "read"), board({}))).toBeNull();
    expect(tensorboardUrl(project("all", "all"), board({ kind: "jupyter" }))).toBeNull();
  });
});
