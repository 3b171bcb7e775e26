import { describe, expect, it } from "vitest";
import { layered } from "./flowYaml";
import { instanceLabel, layoutKey, routesOf, sides } from "./runGraph";

describe("sides", () => {
  it("joins a child beside its parent right to left (the default layout is left to right)", () => {
    const places = layered(["Prepare", "Train"], [{ from: "Prepare", to: "Train" }]);
    expect(sides(places.get("Prepare")!, places.get("Train")!)).toEqual({ source: "right", target: "left" });
  });

  it("joins a child under its parent bottom to top", () => {
    expect(sides({ x: 60, y: 60 }, { x: 60, y: 220 })).toEqual({ source: "bottom", target: "top" });
    expect(sides({ x: 60, y: 60 }, { x: 120, y: 300 })).toEqual({ source: "bottom", target: "top" });
  });

  it("picks the larger gap when the child is both right of and below its parent", () => {
    expect(sides({ x: 0, y: 0 }, { x: 600, y: 200 })).toEqual({ source: "right", target: "left" });
    expect(sides({ x: 0, y: 0 }, { x: 250, y: 400 })).toEqual({ source: "bottom", target: "top" });
  });

  it("keeps bottom to top for a child left of its parent", () => {
    expect(sides({ x: 400, y: 0 }, { x: 0, y: 0 })).toEqual({ source: "bottom", target: "top" });
  });
});

describe("layoutKey", () => {
  const places = new Map([
    ["A", { x: 40, y: 40 }],
    ["B", { x: 280, y: 40 }],
  ]);
  it("is the same for the same layout, in any order", () => {
    const again = new Map([
      ["B", { x: 280.2, y: 40 }],
      ["A", { x: 40, y: 40 }],
    ]);
    expect(layoutKey(again, [{ from: "A", to: "B" }])).toBe(layoutKey(places, [{ from: "A", to: "B" }]));
  });
  it("changes when a box moves, a box comes or an edge changes", () => {
    const key = layoutKey(places, []);
    expect(layoutKey(new Map([...places, ["B", { x: 280, y: 200 }]]), [])).not.toBe(key);
    expect(layoutKey(new Map([...places, ["C", { x: 0, y: 0 }]]), [])).not.toBe(key);
    expect(layoutKey(places, [{ from: "A", to: "B" }])).not.toBe(key);
  });
});

const inst = (id: string, parents: string[] = [], params: Record<string, string> = {}) => ({ id, status: "success", params, parents });

describe("routesOf", () => {
  // Prepare runs twice (a grid of 2); Train runs a grid of 2 after each: 4 routes
  const tasks = [
    { title: "Prepare", instances: [inst("p1", [], { n: "1" }), inst("p2", [], { n: "2" })] },
    {
      title: "Train",
      instances: [inst("t1", ["p1"], { lr: "0.1" }), inst("t2", ["p1"], { lr: "0.5" }), inst("t3", ["p2"], { lr: "0.1" }), inst("t4", ["p2"], { lr: "0.5" })],
    },
    { title: "Ship", instances: [inst("s1", ["t2"]), inst("s2", ["t4"])] },
  ];

  it("puts a task without parents on one route that starts the flow", () => {
    const groups = routesOf(tasks, "Prepare");
    expect(groups).toHaveLength(1);
    expect(groups[0].route).toEqual([]);
    expect(groups[0].instances.map((i) => i.instance.id)).toEqual(["p1", "p2"]);
  });

  it("groups a grid's instances under the parent instance they ran after", () => {
    const groups = routesOf(tasks, "Train");
    expect(groups.map((g) => g.route.map((s) => s.label))).toEqual([["Prepare (n=1)"], ["Prepare (n=2)"]]);
    expect(groups.map((g) => g.instances.map((i) => i.n))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it("names every ancestor of a deeper task, from the flow's start down", () => {
    const groups = routesOf(tasks, "Ship");
    expect(groups.map((g) => g.route.map((s) => s.label))).toEqual([
      ["Prepare (n=1)", "Train (lr=0.5)"],
      ["Prepare (n=2)", "Train (lr=0.5)"],
    ]);
  });

  it("puts an instance after several parents (a join) on the route of all of them", () => {
    const join = [
      { title: "A", instances: [inst("a")] },
      { title: "B", instances: [inst("b")] },
      { title: "C", instances: [inst("c1", ["a", "b"], { k: "1" }), inst("c2", ["b", "a"], { k: "2" })] },
    ];
    const groups = routesOf(join, "C");
    expect(groups).toHaveLength(1);
    expect(groups[0].route.map((s) => s.label)).toEqual(["A", "B"]);
  });

  it("sorts routes and instances by label, whatever order the API gives", () => {
    const shuffled = [
      { title: "Prepare", instances: [inst("p2", [], { n: "10" }), inst("p1", [], { n: "9" })] },
      { title: "Train", instances: [inst("t4", ["p2"], { lr: "0.5" }), inst("t3", ["p2"], { lr: "0.1" }), inst("t1", ["p1"], { lr: "0.1" })] },
    ];
    const groups = routesOf(shuffled, "Train");
    expect(groups.map((g) => g.route[0].label)).toEqual(["Prepare (n=9)", "Prepare (n=10)"]);
    expect(groups[1].instances.map((i) => i.instance.id)).toEqual(["t3", "t4"]);
  });

  it("survives a parent id it does not know and an unknown task", () => {
    expect(routesOf([{ title: "X", instances: [inst("x", ["gone"])] }], "X")[0].route).toEqual([]);
    expect(routesOf(tasks, "Nope")).toEqual([]);
  });
});

describe("instanceLabel", () => {
  it("names an instance by its params, else by its place in a task with several", () => {
    expect(instanceLabel("Train", 1, 3, { lr: "0.1", bs: "8" })).toBe("Train (lr=0.1, bs=8)");
    expect(instanceLabel("Train", 1, 3, {})).toBe("Train #2");
    expect(instanceLabel("Prepare", 0, 1, {})).toBe("Prepare");
  });
});
