import { highlight, highlightLines, type Token } from "../../lib/highlight";

/** Tokens as spans coloured by kind (see lib/highlight and the tok-* styles). */
export function Tokens({ tokens }: { tokens: Token[] }) {
  return (
    <>
      {tokens.map((t, j) =>
        t.kind ? (
          <span key={j} className={`tok-${t.kind}`}>
            {t.text}
          </span>
        ) : (
          t.text
        ),
      )}
    </>
  );
}

/** One line of `path`'s language, highlighted on its own (a diff's rows come one by one). */
export function HighlightedLine({ text, path }: { text: string; path: string }) {
  return <Tokens tokens={highlight(text, path)} />;
}

/** Text of `path`'s language, a line per div. */
export function HighlightedLines({ text, path }: { text: string; path: string }) {
  return (
    <>
      {highlightLines(text, path).map((tokens, i) => (
        <div key={i}>
          <Tokens tokens={tokens} />
          {tokens.length === 0 ? "\u200b" : null}
        </div>
      ))}
    </>
  );
}
