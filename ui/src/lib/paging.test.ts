import { describe, expect, it } from "vitest";
import {
  DEFAULT_STATE,
  clampPage,
  filterQuery,
  fromQuery,
  pageCount,
  rangeLabel,
  serverWindow,
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
      order: "asc" as const,
      state: "running",
      ended: "false" as const,
      first: 3,
      last: 40,
      title: "x",
    };
    expect(fromQuery(new URLSearchParams(toQuery(state)))).toEqual(state);
  });
  it("ignores nonsense", () => {
    const s = fromQuery(new URLSearchParams("page=-3&size=7&order=up&first=abc&ended=maybe"));
    expect(s).toEqual(DEFAULT_STATE);
  });
});

describe("paging", () => {
  it("a filter change goes back to the first page", () => {
    expect(withFilter({ ...DEFAULT_STATE, page: 4 }, { state: "failed" }).page).toBe(0);
  });
  it("counts and clamps pages", () => {
    expect(pageCount(0, 25)).toBe(1);
    expect(pageCount(51, 25)).toBe(3);
    expect(clampPage(9, 51, 25)).toBe(2);
    expect(clampPage(-1, 51, 25)).toBe(0);
  });
  it("labels the range", () => {
    expect(rangeLabel({ ...DEFAULT_STATE, page: 1 }, 60)).toBe("26–50 of 60");
    expect(rangeLabel({ ...DEFAULT_STATE, page: 2 }, 60)).toBe("51–60 of 60");
    expect(rangeLabel(DEFAULT_STATE, 0)).toBe("0 of 0");
  });
});

describe("serverWindow", () => {
  it("newest first is the server's order", () => {
    expect(serverWindow({ ...DEFAULT_STATE, page: 2 }, null)).toEqual({
      offset: 50,
      limit: 25,
      reverse: false,
    });
  });
  it("oldest first needs the total", () => {
    expect(serverWindow({ ...DEFAULT_STATE, order: "asc" }, null)).toBeNull();
  });
  it("oldest first mirrors the window and reverses it", () => {
    // 60 experiments numbered 60..1 newest first; oldest first page 0 is numbers 1..25,
    // i.e. newest-first positions 35..59.
    const asc = { ...DEFAULT_STATE, order: "asc" as const };
    expect(serverWindow(asc, 60)).toEqual({ offset: 35, limit: 25, reverse: true });
    expect(serverWindow({ ...asc, page: 2 }, 60)).toEqual({ offset: 0, limit: 10, reverse: true });
    const numbers = Array.from({ length: 60 }, (_, i) => 60 - i);
    const pages = [0, 1, 2].flatMap((page) => {
      const w = serverWindow({ ...asc, page }, 60)!;
      return numbers.slice(w.offset, w.offset + w.limit).reverse();
    });
    expect(pages).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
  it("maps filters to the server's parameters", () => {
    const q = filterQuery({ ...DEFAULT_STATE, state: "failed", ended: "true", first: 2 });
    expect(q).toEqual({ state: "failed", ended: true, first: 2 });
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
