import { describe, expect, it } from "vitest";
import {
  addTask,
  approvers,
  connect,
  dumpFlow,
  dumpTask,
  moveTask,
  parseFlow,
  parseTask,
  removeTask,
  replaceTask,
  valuesFromText,
  valuesText,
  withApprovers,
  layered,
} from "./flowYaml";

// The docs' first flow, with keys the canvas never edits (description, data_commit, a
// grid-file param, git keys, mount_folders, schedule, an unknown top-level key).
const FILE = `flow: Iris classifier
recurring: "30 * * * *"
x-owner: ana
tasks:
  - title: Iris
    type: data
    dataset: iris
    data_commit: 4f2a9c1e77b0
    top: 100
    left: 50
  - title: Train
    type: exec
    description: fits the model
    input: python3 train.py
    computes: [large, default]
    git_branch: main
    mount_folders: ["10.0.0.1:/data"]
    params:
      - key: lr
        value: [0.01, 0.1, 0.5]
      - key: wd
        type: discrete
        min: 0.001
        max: 0.1
        steps: 3
        scale: log
    conditions:
      - task: Iris
        objective: gt
        tag_key: rows
        target: 10
  - title: Deploy
    type: deploy
    endpoint_title: iris-api
    computes: [default]
    file_name: predict.py
    function_name: predict
    min_replica: 1
    max_replica: 3
    confirmation: [ana, yochay]
relations:
  - from: Iris
    to: Train
  - from: Train
    to: Deploy
`;

describe("flow YAML round trip", () => {
  it("keeps every key, including the ones the canvas does not edit", () => {
    const doc = parseFlow(FILE);
    expect(doc.flow).toBe("Iris classifier");
    expect(doc.tasks.map((t) => t.title)).toEqual(["Iris", "Train", "Deploy"]);
    expect(doc.relations).toEqual([
      { from: "Iris", to: "Train" },
      { from: "Train", to: "Deploy" },
    ]);
    const again = parseFlow(dumpFlow(doc));
    expect(again).toEqual(doc);
    expect(again.rest).toEqual({ recurring: "30 * * * *", "x-owner": "ana" });
    expect(again.tasks[1].params).toEqual([
      { key: "lr", value: [0.01, 0.1, 0.5] },
      { key: "wd", type: "discrete", min: 0.001, max: 0.1, steps: 3, scale: "log" },
    ]);
    expect(again.tasks[1].mount_folders).toEqual(["10.0.0.1:/data"]);
    // and the text is stable from the first dump on
    expect(dumpFlow(again)).toBe(dumpFlow(doc));
  });

  it("puts flow, tasks and relations first", () => {
    const text = dumpFlow(parseFlow(FILE));
    expect(text.indexOf("flow:")).toBe(0);
    expect(text.indexOf("tasks:")).toBeLessThan(text.indexOf("relations:"));
    expect(text.indexOf("relations:")).toBeLessThan(text.indexOf("recurring:"));
  });

  it("moves, adds, connects, renames and removes tasks", () => {
    let doc = parseFlow(FILE);
    doc = moveTask(doc, "Train", { x: 310.4, y: 220.6 });
    expect(doc.tasks[1]).toMatchObject({ top: 221, left: 310 });
    const added = addTask(doc, "exec", { x: 10, y: 20 });
    expect(added.title).toBe("Custom");
    doc = connect(added.doc, "Train", "Custom");
    doc = connect(doc, "Train", "Custom"); // once only
    expect(doc.relations).toHaveLength(3);
    doc = replaceTask(doc, "Train", { ...doc.tasks[1], title: "Fit" });
    expect(doc.relations).toContainEqual({ from: "Fit", to: "Custom" });
    expect(doc.relations).toContainEqual({ from: "Iris", to: "Fit" });
    doc = removeTask(doc, "Fit");
    expect(doc.relations).toEqual([]);
    const back = parseFlow(dumpFlow(doc));
    expect(back.tasks.find((t) => t.title === "Custom")).toMatchObject({
      type: "exec",
      input: "",
      computes: ["default"],
      top: 20,
      left: 10,
    });
    expect(addTask(back, "exec", { x: 0, y: 0 }).title).toBe("Custom 2");
  });

  it("a task's YAML tab round-trips the task", () => {
    const doc = parseFlow(FILE);
    for (const t of doc.tasks) expect(parseTask(dumpTask(t))).toEqual(t);
    expect(() => parseTask("title: x\ntype: bogus\n")).toThrow(/not data, exec or deploy/);
    expect(() => parseFlow("tasks: [")).toThrow(/not YAML/);
  });

  it("param values: one line of comma-separated values", () => {
    expect(valuesText([0.01, 0.1])).toBe("0.01,0.1");
    expect(valuesText("data.csv")).toBe("data.csv");
    expect(valuesFromText("a")).toBe("a");
    expect(valuesFromText(" 1, 2 ,")).toEqual(["1", "2"]);
  });

  it("approvers live where the file keeps them", () => {
    const doc = parseFlow(FILE);
    const deploy = doc.tasks[2];
    expect(approvers(deploy)).toEqual(["ana", "yochay"]);
    expect(withApprovers(deploy, ["leah"]).confirmation).toEqual(["leah"]);
    const train = doc.tasks[1];
    expect(approvers(train)).toEqual([]);
    const gated = withApprovers(train, ["ana", "leah"]);
    expect(gated.conditions).toEqual([
      { task: "Iris", objective: "gt", tag_key: "rows", target: 10 },
      { objective: "human_validation", value: "ana,leah" },
    ]);
    expect(approvers(gated)).toEqual(["ana", "leah"]);
    expect(withApprovers(gated, null).conditions).toEqual([
      { task: "Iris", objective: "gt", tag_key: "rows", target: 10 },
    ]);
  });

  it("an empty file is an empty flow", () => {
    expect(parseFlow("")).toEqual({ flow: "", tasks: [], relations: [], rest: {} });
  });
});


describe("layered layout", () => {
  it("puts each task one column right of its deepest parent", () => {
    const at = layered(["A", "B", "C", "D"], [
      { from: "A", to: "B" },
      { from: "B", to: "C" },
      { from: "A", to: "C" },
    ]);
    expect(at.get("A")).toEqual({ x: 40, y: 40 });
    expect(at.get("D")).toEqual({ x: 40, y: 160 });
    expect(at.get("B")).toEqual({ x: 280, y: 40 });
    expect(at.get("C")).toEqual({ x: 520, y: 40 });
  });
});
