// Syntax highlighting for the file viewer: a small scanner per language family (comments,
// strings, numbers, keywords), enough to read a script at a glance without a highlighting
// library in the bundle. Unknown extensions come back as plain text.

export type TokenKind = "comment" | "string" | "number" | "keyword";
export interface Token {
  text: string;
  kind?: TokenKind;
}

interface Language {
  comment: string; // regex source
  string: string;
  keywords: ReadonlySet<string>;
}

const words = (s: string): ReadonlySet<string> => new Set(s.split(/\s+/).filter(Boolean));
const QUOTED = String.raw`"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'`;

const PYTHON: Language = {
  comment: "#[^\\n]*",
  string: String.raw`[rRbBfFuU]{0,2}(?:"""[\s\S]*?"""|'''[\s\S]*?'''|` + QUOTED + ")",
  keywords: words(`and as assert async await break class continue def del elif else except False finally
    for from global if import in is lambda None nonlocal not or pass raise return True try while with
    yield match case self print`),
};
const SHELL: Language = {
  comment: "(?<![\\w$])#[^\\n]*",
  string: QUOTED,
  keywords: words(`if then else elif fi for while until do done case esac function in return exit
    export local set unset echo cd source`),
};
const YAML: Language = {
  comment: "(?<!\\S)#[^\\n]*",
  string: QUOTED,
  keywords: words("true false null yes no on off True False"),
};
const C_LIKE: Language = {
  comment: String.raw`//[^\n]*|/\*[\s\S]*?\*/`,
  string: QUOTED + "|`(?:\\\\.|[^`\\\\])*`",
  keywords: words(`break case catch class const continue default do else enum export extends false
    finally for fn func function go if impl import in interface let match mut new null package pub
    return static struct switch this throw true try type typeof undefined use var void while yield
    async await int float double char bool string`),
};
const SQL: Language = {
  comment: String.raw`--[^\n]*|/\*[\s\S]*?\*/`,
  string: QUOTED,
  keywords: words(`select from where and or not insert into values update set delete create table
    join left right inner outer on group by order having limit as null is in distinct union
    SELECT FROM WHERE AND OR NOT INSERT INTO VALUES UPDATE SET DELETE CREATE TABLE JOIN LEFT RIGHT
    INNER OUTER ON GROUP BY ORDER HAVING LIMIT AS NULL IS IN DISTINCT UNION`),
};
const R: Language = {
  comment: "#[^\\n]*",
  string: QUOTED,
  keywords: words("if else for while repeat function return next break TRUE FALSE NULL NA Inf NaN library"),
};

const BY_EXTENSION: Record<string, Language> = {
  py: PYTHON,
  sh: SHELL,
  bash: SHELL,
  yaml: YAML,
  yml: YAML,
  toml: YAML,
  cfg: YAML,
  ini: YAML,
  json: C_LIKE,
  js: C_LIKE,
  ts: C_LIKE,
  tsx: C_LIKE,
  jsx: C_LIKE,
  c: C_LIKE,
  h: C_LIKE,
  cpp: C_LIKE,
  java: C_LIKE,
  scala: C_LIKE,
  go: C_LIKE,
  rs: C_LIKE,
  sql: SQL,
  r: R,
};

export function languageOf(path: string): Language | undefined {
  const name = path.split("/").pop() ?? "";
  if (name === "Dockerfile" || name === "prerun.sh") return SHELL;
  const dot = name.lastIndexOf(".");
  return dot > 0 ? BY_EXTENSION[name.slice(dot + 1).toLowerCase()] : undefined;
}

const compiled = new Map<Language, RegExp>();

function scanner(lang: Language): RegExp {
  let re = compiled.get(lang);
  if (!re) {
    const number = String.raw`\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b`;
    const word = String.raw`\b[A-Za-z_][A-Za-z0-9_]*\b`;
    re = new RegExp(`(${lang.comment})|(${lang.string})|(${number})|(${word})`, "g");
    compiled.set(lang, re);
  }
  re.lastIndex = 0;
  return re;
}

/** `text` as tokens; plain text between them has no kind. */
export function highlight(text: string, path: string): Token[] {
  const lang = languageOf(path);
  if (!lang) return [{ text }];
  const out: Token[] = [];
  const re = scanner(lang);
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const kind: TokenKind | undefined = m[1]
      ? "comment"
      : m[2]
        ? "string"
        : m[3]
          ? "number"
          : lang.keywords.has(m[4])
            ? "keyword"
            : undefined;
    if (!kind) continue; // an ordinary name stays in the plain text around it
    if (m.index > at) out.push({ text: text.slice(at, m.index) });
    out.push({ text: m[0], kind });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** The tokens of each line: a token that spans lines (a docstring) is cut at each newline. */
export function highlightLines(text: string, path: string): Token[][] {
  const lines: Token[][] = [[]];
  for (const token of highlight(text, path)) {
    token.text.split("\n").forEach((piece, i) => {
      if (i > 0) lines.push([]);
      if (piece) lines[lines.length - 1].push(token.kind ? { text: piece, kind: token.kind } : { text: piece });
    });
  }
  if (lines.length > 1 && lines[lines.length - 1].length === 0 && text.endsWith("\n")) lines.pop();
  return lines;
}
