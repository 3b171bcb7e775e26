import { describe, expect, it } from "vitest";
import { parseInline, parseMarkdown, safeUrl } from "./markdown";

describe("parseMarkdown", () => {
  it("reads headings, paragraphs, lists, code, quotes, rules and tables", () => {
    const blocks = parseMarkdown(
      "# Loss\n\nThe *loss* falls\nquickly.\n\n- one\n- **two**\n\n1. first\n\n```python\nx = 1\n```\n\n> note\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    );
    expect(blocks.map((b) => b.type)).toEqual(["heading", "paragraph", "list", "list", "code", "quote", "rule", "table"]);
    expect(blocks[0]).toEqual({ type: "heading", level: 1, children: [{ type: "text", text: "Loss" }] });
    expect(blocks[1]).toEqual({
      type: "paragraph",
      children: [
        { type: "text", text: "The " },
        { type: "em", children: [{ type: "text", text: "loss" }] },
        { type: "text", text: " falls quickly." },
      ],
    });
    expect(blocks[3]).toMatchObject({ type: "list", ordered: true });
    expect(blocks[4]).toEqual({ type: "code", lang: "python", text: "x = 1" });
    expect(blocks[7]).toMatchObject({ type: "table", head: [[{ text: "a" }], [{ text: "b" }]], rows: [[[{ text: "1" }], [{ text: "2" }]]] });
  });
  it("keeps raw HTML as text", () => {
    expect(parseMarkdown("<script>alert(1)</script>")).toEqual([
      { type: "paragraph", children: [{ type: "text", text: "<script>alert(1)</script>" }] },
    ]);
  });
});

describe("parseInline", () => {
  it("reads code, links, images and bare addresses", () => {
    expect(parseInline("see `f()` in [docs](https://x.org/a) ![plot](data:image/png;base64,AAAA) https://y.org.")).toEqual([
      { type: "text", text: "see " },
      { type: "code", text: "f()" },
      { type: "text", text: " in " },
      { type: "link", href: "https://x.org/a", children: [{ type: "text", text: "docs" }] },
      { type: "text", text: " " },
      { type: "image", src: "data:image/png;base64,AAAA", alt: "plot" },
      { type: "text", text: " " },
      { type: "link", href: "https://y.org", children: [{ type: "text", text: "https://y.org" }] },
      { type: "text", text: "." },
    ]);
  });
  it("drops the address of a script link, keeping its words", () => {
    expect(parseInline("[click](javascript:alert(1))")).toEqual([{ type: "text", text: "click)" }]);
    expect(parseInline("[click](JaVaScRiPt:alert)")).toEqual([{ type: "text", text: "click" }]);
  });
});

describe("safeUrl", () => {
  it("allows web, mail and relative addresses, and embedded raster images", () => {
    expect(safeUrl("https://a.b/c", false)).toBe("https://a.b/c");
    expect(safeUrl("mailto:a@b.c", false)).toBe("mailto:a@b.c");
    expect(safeUrl("#section", false)).toBe("#section");
    expect(safeUrl("img/plot.png", true)).toBe("img/plot.png");
    expect(safeUrl("javascript:alert(1)", false)).toBeNull();
    expect(safeUrl("vbscript:x", false)).toBeNull();
    expect(safeUrl("java\tscript:alert(1)", false)).toBeNull(); // a browser drops the tab
    expect(safeUrl("\\\\evil.example/x", false)).toBeNull(); // read as //evil.example
    expect(safeUrl("data:text/html;base64,PHNjcmlwdD4=", false)).toBeNull();
    expect(safeUrl("data:image/svg+xml;base64,PHN2Zz4=", true)).toBeNull();
    expect(safeUrl("data:image/png;base64,AAAA", false)).toBeNull();
  });
});
