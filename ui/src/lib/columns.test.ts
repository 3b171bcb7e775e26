import { describe, expect, it } from "vitest";
import { cellValue, columnLabel, columnName, parseSaved, toggled, type ColumnChoice } from "./columns";

const exp = {
  params: { lr: "0.1", opt: "sgd" },
  logged_params: { opt: "adam" },
  tags: { stage: "b" },
  metrics: { loss: { latest: 0.25, min: 0.123456789, max: 2 } },
} as unknown as Parameters<typeof cellValue>[0];

describe("columns", () => {
  it("names columns as the server's filter language reads them", () => {
    expect(columnName({ kind: "params", key: "lr" })).toBe("params.lr");
    expect(columnName({ kind: "metrics", key: "loss", agg: "min" })).toBe("metrics.loss.min");
    expect(columnName({ kind: "metrics", key: "loss", agg: "latest" })).toBe("metrics.loss");
    expect(columnName({ kind: "metrics", key: "val acc", agg: "max" })).toBe("metrics.`val acc`.max");
    expect(columnName({ kind: "tags", key: "and" })).toBe("tags.`and`");
    expect(columnLabel({ kind: "metrics", key: "loss", agg: "max" })).toBe("loss (max)");
  });

  it("shows a param's logged value first, a tag, a metric's summary", () => {
    expect(cellValue(exp, { kind: "params", key: "opt" })).toBe("adam");
    expect(cellValue(exp, { kind: "params", key: "lr" })).toBe("0.1");
    expect(cellValue(exp, { kind: "tags", key: "stage" })).toBe("b");
    expect(cellValue(exp, { kind: "metrics", key: "loss" })).toBe("0.25");
    expect(cellValue(exp, { kind: "metrics", key: "loss", agg: "min" })).toBe("0.12346");
    expect(cellValue(exp, { kind: "metrics", key: "nope" })).toBe("");
  });

  it("toggles a choice and reads back only well-formed saved ones", () => {
    const a: ColumnChoice = { kind: "metrics", key: "loss", agg: "min" };
    expect(toggled([], a)).toEqual([a]);
    expect(toggled([a], { ...a })).toEqual([]);
    expect(toggled([a], { ...a, agg: "max" })).toHaveLength(2);
    expect(parseSaved(JSON.stringify([a, { kind: "x", key: "y" }, { kind: "tags" }]))).toEqual([a]);
    expect(parseSaved("{not json")).toEqual([]);
    expect(parseSaved(null)).toEqual([]);
  });
});
