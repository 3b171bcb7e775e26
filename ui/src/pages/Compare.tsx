import { api } from "../api/client";
import { COLORS, LineChart } from "../components/LineChart";
import { ErrorNote, Link, Loading, StateBadge } from "../components/common";
import type { Project } from "../lib/access";
import { overlay } from "../lib/chart";
import { useLocation } from "../lib/router";
import { useData } from "../lib/useData";

/** Two to five experiments: parameters side by side (differences marked), metrics overlaid. */
export function Compare({ project }: { project: Project }) {
  const { query } = useLocation();
  const numbers = (query.get("n") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^\d+$/.test(s))
    .slice(0, 5);
  const key = numbers.join(",");
  const data = useData(
    () =>
      Promise.all(
        numbers.map(async (n) => {
          const path = { project_id: project.id, ref: n };
          const [e, series] = await Promise.all([api("show_experiment", { path }), api("get_metrics", { path })]);
          return { e, series };
        }),
      ),
    [project.id, key],
    { pollMs: 3000 },
  );
  const back = <Link to={`/projects/${project.id}/experiments`}>← Experiments</Link>;
  if (numbers.length < 2) return <p>{back} Choose two to five experiments to compare.</p>;
  if (data.error) return <ErrorNote error={data.error} />;
  if (!data.data) return <Loading what="experiments" />;
  const runs = data.data;
  const params = [...new Set(runs.flatMap((r) => Object.keys({ ...r.e.params, ...r.e.logged_params })))].sort();
  const value = (i: number, k: string) => ({ ...runs[i].e.params, ...runs[i].e.logged_params })[k] ?? "—";
  const charts = overlay(runs.map((r) => ({ label: `#${r.e.number}`, series: r.series })));
  return (
    <section aria-labelledby="cmp-title">
      <p>{back}</p>
      <h2 id="cmp-title">Compare experiments {runs.map((r) => `#${r.e.number}`).join(", ")}</h2>
      <table className="list compare">
        <thead>
          <tr>
            <th scope="col">Parameter</th>
            {runs.map((r, i) => (
              <th scope="col" key={r.e.id}>
                <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} />
                <Link to={`/projects/${project.id}/experiments/${r.e.number}`}>#{r.e.number}</Link>{" "}
                <StateBadge state={r.e.state} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {params.map((k) => {
            const differs = new Set(runs.map((_, i) => value(i, k))).size > 1;
            return (
              <tr key={k} className={differs ? "differs" : undefined}>
                <th scope="row">
                  {k}
                  {differs ? <span className="sr-only"> (differs)</span> : null}
                </th>
                {runs.map((r, i) => (
                  <td key={r.e.id}>{value(i, k)}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      <h3>Metrics</h3>
      {charts.length ? (
        <div className="charts">
          {charts.map((c) => (
            <LineChart key={c.key} title={c.key} lines={c.lines} />
          ))}
        </div>
      ) : (
        <p className="muted">None of these experiments logged metrics.</p>
      )}
    </section>
  );
}
