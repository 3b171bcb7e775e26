import { describe, expect, it } from "vitest";
import { dumpTask, type FlowTask } from "./flowYaml";
import { commitMatching, configVarsFromText, configVarsText, endpointChoice, pickDataset, pickEndpoint, pickQuery, pickVersion, predictFiles, setText } from "./taskForm";

const data: FlowTask = { title: "Data", type: "data", dataset: "iris", data_commit: "4f2a", top: 10 };
const deploy: FlowTask = { title: "Deploy", type: "deploy", endpoint_title: "iris-api", computes: ["default"], file_name: "predict.py", function_name: "predict", min_replica: 1, max_replica: 1 };

describe("a data task's pickers", () => {
  it("a version replaces a query and a query replaces a version: the server refuses both", () => {
    const q = pickQuery(data, "setosa");
    expect(q.data_query).toBe("setosa");
    expect(q).not.toHaveProperty("data_commit");
    const v = pickVersion(q, "9b1c");
    expect(v.data_commit).toBe("9b1c");
    expect(v).not.toHaveProperty("data_query");
    expect(dumpTask(v)).toContain("data_commit: 9b1c");
  });
  it("the latest version and no query remove their keys", () => {
    expect(pickVersion(data, "")).not.toHaveProperty("data_commit");
    expect(pickQuery(pickQuery(data, "q"), "")).not.toHaveProperty("data_query");
  });
  it("another dataset drops the old one's version and query; the same keeps them", () => {
    expect(pickDataset(data, "iris")).toBe(data);
    const other = pickDataset(data, "wine");
    expect(other.dataset).toBe("wine");
    expect(other).not.toHaveProperty("data_commit");
    expect(other.top).toBe(10);
  });
});

describe("a deploy task's endpoint", () => {
  it("an existing endpoint is endpoint_id and drops endpoint_title", () => {
    const next = pickEndpoint(deploy, { existing: "iris-api-3f" });
    expect(next.endpoint_id).toBe("iris-api-3f");
    expect(next).not.toHaveProperty("endpoint_title");
    expect(endpointChoice(next)).toEqual({ existing: "iris-api-3f" });
  });
  it("a new endpoint is endpoint_title and drops endpoint_id", () => {
    const next = pickEndpoint({ ...deploy, endpoint_id: "old" }, { new: true });
    expect(next).not.toHaveProperty("endpoint_id");
    expect(next.endpoint_title).toBe("iris-api");
    expect(endpointChoice(next)).toEqual({ new: true });
  });
});

describe("config vars", () => {
  it("round-trip one KEY=VALUE a line", () => {
    expect(configVarsText(["A=1", "B=x,y"])).toBe("A=1\nB=x,y");
    expect(configVarsFromText("A=1\n\n B=x,y \n")).toEqual({ vars: ["A=1", "B=x,y"] });
  });
  it("name the entry that is not KEY=VALUE", () => {
    const out = configVarsFromText("A=1\nnope");
    expect("error" in out && out.error).toContain("Entry 2 (nope)");
  });
});

describe("setText", () => {
  it("removes a key when emptied, reads numbers and lists", () => {
    expect(setText(deploy, "file_name", "  ")).not.toHaveProperty("file_name");
    expect(setText(deploy, "max_replica", "4", "number").max_replica).toBe(4);
    expect(setText(deploy, "computes", "a, b,", "list").computes).toEqual(["a", "b"]);
  });
});

describe("predictFiles", () => {
  it("offers code files, shallow ones first", () => {
    expect(predictFiles(["src/deep/x.py", "data.csv", "predict.py", "serve.R"])).toEqual(["predict.py", "serve.R", "src/deep/x.py"]);
  });
});

describe("commitMatching", () => {
  it("lets a file's short commit id select its full commit in the version menu", () => {
    expect(commitMatching("4f2a9c1e77b0aa", "4f2a9c1")).toBe("4f2a9c1");
    expect(commitMatching("4f2a9c1e77b0aa", "4f2a")).toBe("4f2a9c1e77b0aa"); // too short to trust
    expect(commitMatching("4f2a9c1e77b0aa", "9b1c2d3")).toBe("4f2a9c1e77b0aa");
    expect(commitMatching("4f2a9c1e77b0aa", "")).toBe("4f2a9c1e77b0aa");
  });
});
