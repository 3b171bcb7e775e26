import { describe, expect, it } from "vitest";
import {
  DEFAULT_STATE,
  filterQuery,
  fromQuery,
  pageCount,
  rangeLabel,
  serverQuery,
  sortedBy,
  toQuery,
  withFilter,
} from "./paging";

describe("URL round trip", () => {
  it("leaves defaults out and reads them back", () => {
    expect(toQuery(DEFAULT_STATE)).toBe("");
    expect(fromQuery(new URLSearchParams(""))).toEqual(DEFAULT_STATE);
  });
  it("keeps every field", () => {
    const state = {
      ...DEFAULT_STATE,
      page: 2,
      size: 50,
      sort: "metrics.`val acc`.min",
      order: "asc" as const,
      state: "running",
      ended: "false" as const,
      first: 3,
      last: 40,
      title: "x",
      filter: 'lr > 0.1 and params.opt == "a&b"',
    };
    expect(fromQuery(new URLSearchParams(toQuery(state)))).toEqual(state);
  });
  it("ignores nonsense", () => {
    const long = "x".repeat(301);
    const s = fromQuery(new URLSearchParams(`page=-3&size=7&order=up&sort=${long}&first=abc&ended=maybe`));
    expect(s).toEqual(DEFAULT_STATE);
  });
});

describe("columns and filters", () => {
  it("sends any column's sort and the filter to the server", () => {
    const q = serverQuery({ ...DEFAULT_STATE, sort: "metrics.accuracy.max", filter: "lr > 0.1" });
    expect(q.sort).toBe("metrics.accuracy.max");
    expect(q.filter).toBe("lr > 0.1");
    expect(filterQuery({ ...DEFAULT_STATE, filter: "  " }).filter).toBeUndefined();
  });
});

describe("paging", () => {
  it("a filter change goes back to the first page", () => {
    expect(withFilter({ ...DEFAULT_STATE, page: 4 }, { state: "failed" }).page).toBe(0);
  });
  it("counts pages", () => {
    expect(pageCount(0, 25)).toBe(1);
    expect(pageCount(51, 25)).toBe(3);
  });
  it("labels the range", () => {
    expect(rangeLabel({ ...DEFAULT_STATE, page: 1 }, 60)).toBe("26–50 of 60");
    expect(rangeLabel({ ...DEFAULT_STATE, page: 2 }, 60)).toBe("51–60 of 60");
    expect(rangeLabel(DEFAULT_STATE, 0)).toBe("0 of 0");
  });
});

describe("server query", () => {
  it("asks the server for the window, the column and the direction", () => {
    expect(serverQuery({ ...DEFAULT_STATE, page: 2 })).toEqual({ sort: "number", desc: true, offset: 50, limit: 25 });
    const byTitle = { ...DEFAULT_STATE, sort: "title" as const, order: "asc" as const, size: 50, page: 1 };
    expect(serverQuery(byTitle)).toEqual({ sort: "title", desc: false, offset: 50, limit: 50 });
  });
  it("maps filters to the server's parameters", () => {
    const q = filterQuery({ ...DEFAULT_STATE, state: "failed", ended: "true", first: 2 });
    expect(q).toEqual({ state: "failed", ended: true, first: 2 });
    expect(serverQuery({ ...DEFAULT_STATE, state: "failed" })).toMatchObject({ state: "failed" });
  });
  it("a header click sorts by its column highest first, a second turns it round", () => {
    const paged = { ...DEFAULT_STATE, page: 3 };
    expect(sortedBy(paged, "title")).toMatchObject({ sort: "title", order: "desc", page: 0 });
    expect(sortedBy(sortedBy(paged, "title"), "title")).toMatchObject({ sort: "title", order: "asc" });
    expect(sortedBy(DEFAULT_STATE, "number")).toMatchObject({ sort: "number", order: "asc" });
  });
});

import { grid } from "./grid";

describe("grid", () => {
  it("crosses every parameter line", () => {
    expect(grid("")).toEqual([{}]);
    expect(grid("lr=0.1, 0.2\nbs=8\n\nnonsense")).toEqual([
      { lr: "0.1", bs: "8" },
      { lr: "0.2", bs: "8" },
    ]);
  });
});
