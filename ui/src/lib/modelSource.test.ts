import { describe, expect, it } from "vitest";
import { describeSource } from "./modelSource";

describe("describeSource", () => {
  it("links the experiment and lists params and metrics in key order", () => {
    const said = describeSource("p1", {
      experiment_id: "e1",
      experiment_number: 7,
      path: "output/model.pkl",
      params: { lr: "0.1", depth: "3" },
      metrics: { loss: 0.123456, auc: 0.8, epochs: 10 },
    });
    expect(said.label).toBe("from experiment #7");
    expect(said.href).toBe("/projects/p1/experiments/7");
    expect(said.path).toBe("output/model.pkl");
    expect(said.params).toBe("depth=3, lr=0.1");
    expect(said.metrics).toBe("auc=0.8, epochs=10, loss=0.1235");
  });
  it("says nothing for an experiment with no params or metrics", () => {
    const said = describeSource("p1", { experiment_id: "e", experiment_number: 1, path: "output", params: {}, metrics: {} });
    expect([said.params, said.metrics]).toEqual(["", ""]);
  });
});
