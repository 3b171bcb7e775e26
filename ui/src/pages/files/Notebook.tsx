import { Markdown } from "../../components/Markdown";
import { HighlightedLines } from "./Highlighted";

// A notebook cell as the preview route sends it (storage/previews.py): sources joined, outputs
// reduced to text, tables (from HTML, as text), Markdown and pictures. Nothing here is HTML.
interface Table {
  head: string[][];
  body: string[][];
  truncated: boolean;
}
interface Output {
  output_type: string;
  name?: string;
  text?: string;
  data?: Record<string, string>;
  tables?: Table[];
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string;
}
interface Cell {
  cell_type: string;
  source: string;
  execution_count?: number | null;
  outputs?: Output[];
}

/** A notebook drawn statically: Markdown rendered, code highlighted, outputs shown. */
export function Notebook({ cells }: { cells: Record<string, unknown>[] }) {
  return (
    <div className="notebook" data-testid="notebook">
      {(cells as unknown as Cell[]).map((cell, i) => (
        <div key={i} className={`nb-cell nb-${cell.cell_type}`} aria-label={`Cell ${i + 1} (${cell.cell_type})`}>
          <div className="nb-prompt muted">
            {cell.cell_type === "code" ? `In [${cell.execution_count ?? " "}]` : cell.cell_type}
          </div>
          <div className="nb-body">
            {cell.cell_type === "markdown" ? (
              <Markdown source={String(cell.source ?? "")} />
            ) : (
              <pre className="nb-source">
                <HighlightedLines text={String(cell.source ?? "")} path={cell.cell_type === "code" ? "cell.py" : "cell.txt"} />
              </pre>
            )}
            {(cell.outputs ?? []).map((out, j) => (
              <OutputView key={j} output={out} />
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

function OutputView({ output }: { output: Output }) {
  if (output.output_type === "stream") {
    return <pre className={`nb-output nb-${output.name === "stderr" ? "stderr" : "stdout"}`}>{output.text}</pre>;
  }
  if (output.output_type === "error") {
    return (
      <pre className="nb-output nb-error">
        {output.traceback || `${output.ename ?? "Error"}: ${output.evalue ?? ""}`}
      </pre>
    );
  }
  const data = output.data ?? {};
  const picture = pictureUrl(data);
  if (picture) return <img className="nb-output" src={picture} alt="A cell's output" style={{ maxWidth: "100%" }} />;
  if (output.tables?.length) {
    return (
      <div className="nb-output">
        {output.tables.map((t, k) => (
          <OutputTable key={k} table={t} />
        ))}
      </div>
    );
  }
  if (data["text/markdown"] != null) return <div className="nb-output"><Markdown source={data["text/markdown"]} /></div>;
  if (data["text/plain"] != null) return <pre className="nb-output">{data["text/plain"]}</pre>;
  return null;
}

/** An embedded picture as a data URL (an <img> runs no script, even an SVG's). */
export function pictureUrl(data: Record<string, string>): string | null {
  for (const mime of ["image/png", "image/jpeg"]) {
    if (data[mime]) return `data:${mime};base64,${data[mime].replace(/\s+/g, "")}`;
  }
  if (data["image/svg+xml"]) return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data["image/svg+xml"])}`;
  return null;
}

function OutputTable({ table }: { table: Table }) {
  return (
    <div className="nb-table">
      <table aria-label="Output table">
        {table.head.length ? (
          <thead>
            {table.head.map((r, i) => (
              <tr key={i}>
                {r.map((c, j) => (
                  <th key={j}>{c}</th>
                ))}
              </tr>
            ))}
          </thead>
        ) : null}
        <tbody>
          {table.body.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {table.truncated ? <p className="muted">(table cut)</p> : null}
    </div>
  );
}
