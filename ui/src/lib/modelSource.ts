import type { Schemas } from "../api/client";

export type ModelSource = Schemas["ModelSourceOut"];

/** A model version's origin in a few words: the experiment's page, what it registered, and its
 * params and final metrics as `key=value` pairs in key order (metrics at 4 significant digits). */
export function describeSource(projectId: string, source: ModelSource) {
  const pairs = (values: Record<string, string>) =>
    Object.keys(values)
      .sort()
      .map((k) => `${k}=${values[k]}`)
      .join(", ");
  const metrics: Record<string, string> = {};
  for (const [k, v] of Object.entries(source.metrics)) metrics[k] = shortNumber(v);
  return {
    label: `from experiment #${source.experiment_number}`,
    href: `/projects/${projectId}/experiments/${source.experiment_number}`,
    path: source.path,
    params: pairs(source.params),
    metrics: pairs(metrics),
  };
}

function shortNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
