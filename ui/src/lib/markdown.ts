// A small Markdown reader for notebook cells: blocks and inline marks as plain data, which
// components/Markdown.tsx turns into React elements. No HTML is ever produced or passed through:
// raw HTML in a cell stays visible text, and a link or image keeps its address only when it is
// web, mail or relative (never `javascript:`), so rendering a notebook cannot run its author's code.

export type Inline =
  | { type: "text"; text: string }
  | { type: "code"; text: string }
  | { type: "strong"; children: Inline[] }
  | { type: "em"; children: Inline[] }
  | { type: "link"; href: string; children: Inline[] }
  | { type: "image"; src: string; alt: string };

export type Block =
  | { type: "heading"; level: number; children: Inline[] }
  | { type: "paragraph"; children: Inline[] }
  | { type: "code"; lang: string; text: string }
  | { type: "list"; ordered: boolean; items: Inline[][] }
  | { type: "quote"; children: Block[] }
  | { type: "table"; head: Inline[][]; rows: Inline[][][] }
  | { type: "rule" };

const FENCE = /^\s{0,3}(```|~~~)\s*([\w+-]*)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}\d{1,9}[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

/** The blocks of `source`. */
export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) body.push(lines[i]);
      i++; // the closing fence (or the end)
      blocks.push({ type: "code", lang: fence[2], text: body.join("\n") });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ type: "heading", level: heading[1].length, children: parseInline(heading[2]) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ type: "rule" });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner: string[] = [];
      for (; i < lines.length && QUOTE.test(lines[i]); i++) inner.push(QUOTE.exec(lines[i])![1]);
      blocks.push({ type: "quote", children: parseMarkdown(inner.join("\n")) });
      continue;
    }
    const list = BULLET.test(line) ? BULLET : NUMBERED.test(line) ? NUMBERED : null;
    if (list) {
      const items: string[] = [];
      for (; i < lines.length && lines[i].trim(); i++) {
        const item = list.exec(lines[i]);
        if (item) items.push(item[1]);
        else items[items.length - 1] += " " + lines[i].trim(); // a continued item
      }
      blocks.push({ type: "list", ordered: list === NUMBERED, items: items.map(parseInline) });
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      const head = cells(line).map(parseInline);
      const rows: Inline[][][] = [];
      for (i += 2; i < lines.length && lines[i].includes("|"); i++) rows.push(cells(lines[i]).map(parseInline));
      blocks.push({ type: "table", head, rows });
      continue;
    }
    const para: string[] = [];
    for (; i < lines.length && lines[i].trim() && !startsBlock(lines[i]); i++) para.push(lines[i].trim());
    blocks.push({ type: "paragraph", children: parseInline(para.join(" ")) });
  }
  return blocks;
}

function startsBlock(line: string): boolean {
  return [FENCE, HEADING, RULE, BULLET, NUMBERED, QUOTE].some((re) => re.test(line));
}

function cells(row: string): string[] {
  const trimmed = row.trim().replace(/^\|/, "").replace(/\|$/, "");
  return trimmed.split("|").map((c) => c.trim());
}

// One alternative per inline form, tried at each position; the first that matches wins.
const INLINE =
  /`([^`]+)`|!\[([^\]]*)\]\(\s*([^)\s]*)(?:\s+"[^"]*")?\s*\)|\[([^\]]+)\]\(\s*([^)\s]*)(?:\s+"[^"]*")?\s*\)|\*\*(.+?)\*\*|__(.+?)__|\*([^*\s](?:[^*]*[^*\s])?)\*|(?<![\w])_([^_\s](?:[^_]*[^_\s])?)_(?![\w])|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

/** The inline marks of one block's text. */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  const push = (t: string) => {
    if (!t) return;
    const last = out[out.length - 1];
    if (last?.type === "text") last.text += t;
    else out.push({ type: "text", text: t });
  };
  const re = new RegExp(INLINE.source, "g");
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    push(text.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[1] !== undefined) out.push({ type: "code", text: m[1] });
    else if (m[3] !== undefined) {
      const src = safeUrl(m[3], true);
      if (src) out.push({ type: "image", src, alt: m[2] });
      else push(m[2] ? `[${m[2]}]` : "");
    } else if (m[5] !== undefined) {
      const href = safeUrl(m[5], false);
      const children = parseInline(m[4]);
      if (href) out.push({ type: "link", href, children });
      else children.forEach((c) => (c.type === "text" ? push(c.text) : out.push(c)));
    } else if (m[6] !== undefined || m[7] !== undefined) out.push({ type: "strong", children: parseInline(m[6] ?? m[7]) });
    else if (m[8] !== undefined || m[9] !== undefined) out.push({ type: "em", children: parseInline(m[8] ?? m[9]) });
    else if (m[10] !== undefined) out.push({ type: "link", href: m[10], children: [{ type: "text", text: m[10] }] });
  }
  push(text.slice(at));
  return out;
}

/** `url` when it is safe to follow or load: http(s), mail, an anchor or a relative path; for an
 * image also an embedded picture (`data:image/png;base64,...`, not SVG). Otherwise null. */
export function safeUrl(url: string, image: boolean): string | null {
  const trimmed = url.trim();
  if (!trimmed) return null;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed);
  if (!scheme) return hasControlOrBackslash(trimmed) ? null : trimmed; // relative
  const name = scheme[1].toLowerCase();
  if (name === "http" || name === "https") return trimmed;
  if (name === "mailto" && !image) return trimmed;
  if (name === "data" && image && /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/i.test(trimmed)) {
    return trimmed;
  }
  return null;
}

/** A browser drops tabs and newlines from an address and reads `\\` as `/`: either could
 * hide a scheme, so a relative address with them is refused. */
function hasControlOrBackslash(url: string): boolean {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}
