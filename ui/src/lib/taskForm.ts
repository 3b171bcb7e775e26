// What the task popup's pickers do to a task (seed 002), without React: a data task's dataset,
// version and query; a deploy task's endpoint (an existing one or a new one), its Flask config
// variables; a text field that removes its key when emptied. Each keeps the keys the server
// refuses together apart (data_commit and data_query, endpoint_id and endpoint_title).
import type { FlowTask, Json } from "./flowYaml";

/** Set `key` from text: empty text removes the key. */
export function setText(task: FlowTask, key: string, text: string, as: "text" | "number" | "list" = "text"): FlowTask {
  const next: FlowTask = { ...task };
  const t = text.trim();
  if (t === "") delete next[key];
  else if (as === "number") next[key] = Number.isFinite(Number(t)) ? Number(t) : t;
  else if (as === "list")
    next[key] = t
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  else next[key] = text;
  return next;
}

const without = (task: FlowTask, ...keys: string[]): FlowTask => {
  const next: FlowTask = { ...task };
  for (const k of keys) delete next[k];
  return next;
};

/** Another dataset: its version and query were the old dataset's, so they go. */
export function pickDataset(task: FlowTask, name: string): FlowTask {
  if (task.dataset === name) return task;
  return { ...without(task, "data_commit", "data_query"), dataset: name };
}

/** A version (commit id) of the dataset, or "" for the latest; a version replaces a query. */
export function pickVersion(task: FlowTask, commit: string): FlowTask {
  return commit ? { ...without(task, "data_query"), data_commit: commit } : without(task, "data_commit");
}

/** A saved query of the dataset, or "" for none; a query replaces a version. */
export function pickQuery(task: FlowTask, query: string): FlowTask {
  return query ? { ...without(task, "data_commit"), data_query: query } : without(task, "data_query");
}

/** The Setup tab's endpoint menu: an existing endpoint (by slug) or a new one. */
export type EndpointChoice = { existing: string } | { new: true };

export function endpointChoice(task: FlowTask): EndpointChoice {
  return typeof task.endpoint_id === "string" && task.endpoint_id && !task.endpoint_title ? { existing: task.endpoint_id } : { new: true };
}

/** Update an existing endpoint (`endpoint_id`) or create one (`endpoint_title`): never both. */
export function pickEndpoint(task: FlowTask, choice: EndpointChoice): FlowTask {
  if ("existing" in choice) return { ...without(task, "endpoint_title"), endpoint_id: choice.existing };
  const title = typeof task.endpoint_title === "string" ? task.endpoint_title : "";
  return { ...without(task, "endpoint_id"), endpoint_title: title };
}

/** Flask config variables as the Setup tab shows them: one KEY=VALUE a line. */
export function configVarsText(value: Json | undefined): string {
  if (Array.isArray(value)) return value.map(String).join("\n");
  return typeof value === "string" ? value : "";
}

/** The lines back as `config_vars:`, or the first line that is not KEY=VALUE. */
export function configVarsFromText(text: string): { vars: string[] } | { error: string } {
  const vars = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const [i, v] of vars.entries()) {
    if (!/^[^=\s]+=/.test(v)) return { error: `Entry ${i + 1} (${v}) is not KEY=VALUE: write one like MAX_CONTENT_LENGTH=1048576.` };
  }
  return { vars };
}

/** A project file that could hold a predict function: the Setup tab's File suggestions. */
export function predictFiles(paths: string[], limit = 200): string[] {
  const code = paths.filter((p) => /\.(py|r|R)$/.test(p));
  return code.sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b)).slice(0, limit);
}

/** A commit's id, or `held` when the file names this commit by a prefix of its id (7 or more). */
export function commitMatching(id: string, held: string): string {
  return held.length >= 7 && held !== id && id.startsWith(held) ? held : id;
}
