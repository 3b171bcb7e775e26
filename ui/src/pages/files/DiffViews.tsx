import type { Schemas } from "../../api/client";
import { alignCells, type CellRow, type Line } from "../../lib/notebookDiff";
import { HighlightedLine } from "./Highlighted";

/** Every changed file of a diff: its hunks side by side, a notebook cell beside cell, or sizes. */
export function DiffFiles({ files }: { files: Schemas["FileDiff"][] }) {
  if (files.length === 0) return <p>No changes between these versions.</p>;
  return (
    <>
      <ul aria-label="Changed files">
        {files.map((f) => (
          <li key={f.path}>
            <span className={`change change-${f.kind}`}>{f.kind}</span> <a href={`#diff-${f.path}`}>{f.path}</a>
          </li>
        ))}
      </ul>
      {files.map((f) => (
        <div key={f.path} id={`diff-${f.path}`} className="file-diff">
          <h3>
            {f.path} <span className="muted">({f.kind})</span>
          </h3>
          {f.hunks && f.hunks.length ? <Hunks hunks={f.hunks} path={f.path} /> : null}
          {f.cells && f.cells.length ? <NotebookDiff cells={f.cells} /> : null}
          {!f.hunks?.length && !f.cells?.length ? (
            <p className="muted">
              {f.format} file: {f.old_size ?? "–"} → {f.new_size ?? "–"} bytes
            </p>
          ) : null}
        </div>
      ))}
    </>
  );
}

/** A gutter just wide enough for the largest line number. */
function gutter(largest: number): string {
  return `${String(Math.max(1, largest)).length + 1}ch`;
}

/** A script's hunks side by side, each line highlighted in the file's language. */
function Hunks({ hunks, path }: { hunks: Schemas["Hunk"][]; path: string }) {
  const largest = Math.max(...hunks.map((h) => Math.max(h.old_start, h.new_start) + h.rows.length));
  const width = gutter(largest);
  return (
    <table className="diff" aria-label={`Diff of ${path}`}>
      <colgroup>
        <col style={{ width }} />
        <col />
        <col style={{ width }} />
        <col />
      </colgroup>
      <tbody>
        {hunks.map((h, hi) => {
          let o = h.old_start;
          let n = h.new_start;
          return [
            <tr key={`h${hi}`} className="hunk-head">
              <td colSpan={4} className="muted">
                @@ -{h.old_start} +{h.new_start} @@
              </td>
            </tr>,
            ...h.rows.map(([left, right, tag], ri) => {
              const ol = left != null ? o++ : null;
              const nl = right != null ? n++ : null;
              const changed = tag !== "equal";
              return (
                <tr key={`${hi}-${ri}`} className={`row-${tag}`}>
                  <td className="ln">{ol ?? ""}</td>
                  <td className={left != null && changed ? "del" : ""}>
                    {left != null ? (
                      <pre>
                        <HighlightedLine text={left} path={path} />
                      </pre>
                    ) : null}
                  </td>
                  <td className="ln">{nl ?? ""}</td>
                  <td className={right != null && changed ? "add" : ""}>
                    {right != null ? (
                      <pre>
                        <HighlightedLine text={right} path={path} />
                      </pre>
                    ) : null}
                  </td>
                </tr>
              );
            }),
          ];
        })}
      </tbody>
    </table>
  );
}

/** A notebook's cells aligned old beside new; only what changed is coloured. */
export function NotebookDiff({ cells }: { cells: Schemas["CellDiff"][] }) {
  const rows = alignCells(cells);
  return (
    <div className="nb-diff" role="table" aria-label="Notebook diff">
      {rows.map((row, i) => (
        <div
          key={i}
          role="row"
          className={`nb-diff-row ${row.changed ? "changed" : "same"} status-${row.status}`}
          data-status={row.status}
        >
          <CellSide row={row} side="old" />
          <CellSide row={row} side="new" />
        </div>
      ))}
    </div>
  );
}

function CellSide({ row, side }: { row: CellRow; side: "old" | "new" }) {
  const lines = side === "old" ? row.old : row.new;
  const number = side === "old" ? row.oldNumber : row.newNumber;
  if (!lines) return <div role="cell" className="nb-side empty" aria-label={side === "old" ? "No old cell" : "No new cell"} />;
  const whole = row.status === "added" || row.status === "removed";
  const path = row.cellType === "code" ? "cell.py" : "cell.md";
  return (
    <div role="cell" className={`nb-side ${whole ? (side === "old" ? "del" : "add") : ""}`}>
      <div className="nb-side-head">
        <span className={`cell-kind kind-${row.cellType}`}>{row.cellType === "markdown" ? "Markdown" : row.cellType === "code" ? "Code" : row.cellType}</span>{" "}
        <span className="muted">
          cell {number}
          {row.status !== "unchanged" ? ` · ${row.status}` : ""}
          {row.outputsChanged && side === "new" ? " · outputs changed" : ""}
        </span>
      </div>
      <pre className="nb-lines">
        {lines.map((l: Line, k) => (
          <div key={k} className={whole ? undefined : l.tag === "removed" ? "del" : l.tag === "added" ? "add" : undefined}>
            <HighlightedLine text={l.text} path={path} />
            {l.text === "" ? "\u200b" : null}
          </div>
        ))}
      </pre>
    </div>
  );
}
