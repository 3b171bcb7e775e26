import type { ReactNode } from "react";
import { parseMarkdown, type Block, type Inline } from "../lib/markdown";

/** Markdown as React elements (see lib/markdown): text only ever becomes text nodes, so a
 * notebook's prose cannot inject markup or script. */
export function Markdown({ source }: { source: string }) {
  return <div className="markdown">{parseMarkdown(source).map(block)}</div>;
}

function block(b: Block, key: number): ReactNode {
  switch (b.type) {
    case "heading": {
      const Tag = `h${Math.min(6, b.level + 2)}` as "h3"; // below the page's own headings
      return <Tag key={key}>{inline(b.children)}</Tag>;
    }
    case "paragraph":
      return <p key={key}>{inline(b.children)}</p>;
    case "code":
      return (
        <pre key={key} className="md-code">
          {b.text}
        </pre>
      );
    case "list": {
      const items = b.items.map((item, i) => <li key={i}>{inline(item)}</li>);
      return b.ordered ? <ol key={key}>{items}</ol> : <ul key={key}>{items}</ul>;
    }
    case "quote":
      return <blockquote key={key}>{b.children.map(block)}</blockquote>;
    case "table":
      return (
        <table key={key}>
          <thead>
            <tr>
              {b.head.map((c, i) => (
                <th key={i}>{inline(c)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {b.rows.map((r, i) => (
              <tr key={i}>
                {r.map((c, j) => (
                  <td key={j}>{inline(c)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
    case "rule":
      return <hr key={key} />;
  }
}

function inline(parts: Inline[]): ReactNode[] {
  return parts.map((p, i) => {
    switch (p.type) {
      case "text":
        return p.text;
      case "code":
        return <code key={i}>{p.text}</code>;
      case "strong":
        return <strong key={i}>{inline(p.children)}</strong>;
      case "em":
        return <em key={i}>{inline(p.children)}</em>;
      case "link":
        return (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer nofollow">
            {inline(p.children)}
          </a>
        );
      case "image":
        return <img key={i} src={p.src} alt={p.alt} referrerPolicy="no-referrer" style={{ maxWidth: "100%" }} />;
    }
  });
}
