import { describe, expect, it } from "vitest";
import { highlight, highlightLines, languageOf } from "./highlight";

const kinds = (text: string, path: string) =>
  highlight(text, path)
    .filter((t) => t.kind)
    .map((t) => [t.kind, t.text]);

describe("highlight", () => {
  it("marks Python's keywords, strings, numbers and comments", () => {
    expect(kinds('def f(x):\n    return x * 2  # double\nname = "a # not a comment"\n', "src/m.py")).toEqual([
      ["keyword", "def"],
      ["keyword", "return"],
      ["number", "2"],
      ["comment", "# double"],
      ["string", '"a # not a comment"'],
    ]);
  });
  it("keeps every character, in order", () => {
    const text = "import sys\nx = f'{1}' if True else None\n";
    expect(highlight(text, "a.py").map((t) => t.text).join("")).toBe(text);
  });
  it("cuts a docstring across lines and keeps its kind on each", () => {
    const lines = highlightLines('"""one\ntwo"""\nx = 1\n', "a.py");
    expect(lines).toEqual([
      [{ text: '"""one', kind: "string" }],
      [{ text: 'two"""', kind: "string" }],
      [{ text: "x = " }, { text: "1", kind: "number" }],
    ]);
  });
  it("knows shell, YAML and C-like comments apart", () => {
    expect(kinds("echo $# # count\n", "run.sh")).toEqual([
      ["keyword", "echo"],
      ["comment", "# count"],
    ]);
    expect(kinds("url: http://x/#frag  # note\n", "c.yaml")).toEqual([["comment", "# note"]]);
    expect(kinds("const a = 1; // one\n", "a.ts")).toEqual([
      ["keyword", "const"],
      ["number", "1"],
      ["comment", "// one"],
    ]);
  });
  it("leaves unknown files plain", () => {
    expect(languageOf("notes.txt")).toBeUndefined();
    expect(highlight("def x", "notes.txt")).toEqual([{ text: "def x" }]);
    expect(languageOf("docker/Dockerfile")).toBeDefined();
  });
});
