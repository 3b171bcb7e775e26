import { api } from "../../api/client";
import { ErrorNote } from "../../components/common";
import { AGGS, sameColumn, toggled, type ColumnChoice, type ColumnKind } from "../../lib/columns";
import { useData } from "../../lib/useData";

/** Choose the table's param, tag and metric columns (a metric's latest, min or max value). */
export function ColumnPicker(props: { projectId: string; columns: ColumnChoice[]; onChange: (c: ColumnChoice[]) => void }) {
  const { projectId, columns, onChange } = props;
  const keys = useData(() => api("experiment_columns", { path: { project_id: projectId } }), [projectId]);
  const has = (c: ColumnChoice) => columns.some((x) => sameColumn(x, c));
  const flip = (c: ColumnChoice) => onChange(toggled(columns, c));
  const group = (kind: ColumnKind, title: string, names: string[]) =>
    names.length ? (
      <fieldset className="column-group">
        <legend>{title}</legend>
        {names.map((key) =>
          kind === "metrics" ? (
            <div key={key} className="metric-choice">
              <span>{key}</span>
              {AGGS.map((agg) => (
                <label key={agg}>
                  <input
                    type="checkbox"
                    aria-label={`Column ${key} (${agg})`}
                    checked={has({ kind, key, agg })}
                    onChange={() => flip({ kind, key, agg })}
                  />
                  {agg}
                </label>
              ))}
            </div>
          ) : (
            <label key={key}>
              <input
                type="checkbox"
                aria-label={`Column ${key} (${kind === "params" ? "param" : "tag"})`}
                checked={has({ kind, key })}
                onChange={() => flip({ kind, key })}
              />
              {key}
            </label>
          ),
        )}
      </fieldset>
    ) : null;
  const k = keys.data;
  return (
    <details className="panel columns-picker">
      <summary>Columns{columns.length ? ` (${columns.length})` : ""}</summary>
      <ErrorNote error={keys.error} />
      {k ? (
        k.params.length + k.tags.length + k.metrics.length === 0 ? (
          <p className="muted">No parameters, tags or metrics logged yet.</p>
        ) : (
          <div className="column-groups">
            {group("metrics", "Metrics", k.metrics)}
            {group("params", "Parameters", k.params)}
            {group("tags", "Tags", k.tags)}
          </div>
        )
      ) : null}
      {columns.length ? (
        <button type="button" onClick={() => onChange([])}>
          Clear columns
        </button>
      ) : null}
    </details>
  );
}
