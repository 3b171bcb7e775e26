import { describe, expect, it } from "vitest";
import { buildUrl } from "./client";

describe("buildUrl", () => {
  it("fills the path and repeats a list's parameter in the query", () => {
    const url = buildUrl("/api/v1/projects/{project_id}/endpoints", { project_id: "a b" }, {
      limit: 1,
      status: ["running", "degraded"],
      empty: "",
      none: undefined,
    });
    expect(url).toBe("/api/v1/projects/a%20b/endpoints?limit=1&status=running&status=degraded");
  });

  it("leaves the query out when nothing is in it", () => {
    expect(buildUrl("/x/{id}", { id: 3 }, { skip: [] })).toBe("/x/3");
  });
});
