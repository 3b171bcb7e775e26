// The task popup's pickers (seed 002): a data task's dataset, version and query from the
// project's lists; a deploy task's Setup tab (an existing endpoint or a new one, the file and
// function that predict, replicas, language, Flask config variables, files as input).
import { useId, useState, type ReactNode } from "react";
import { api } from "../../api/client";
import { formatTime } from "../../lib/format";
import type { FlowTask, Json } from "../../lib/flowYaml";
import {
  configVarsFromText,
  commitMatching,
  configVarsText,
  endpointChoice,
  pickDataset,
  pickEndpoint,
  pickQuery,
  pickVersion,
  predictFiles,
  setText,
} from "../../lib/taskForm";
import { useData } from "../../lib/useData";
import { TextField } from "./Modal";

type Setter = (next: FlowTask) => void;
const str = (v: Json | undefined): string => (v === undefined || v === null ? "" : Array.isArray(v) ? v.join(",") : String(v));
const NEW = "\u0000new"; // the "+ Add new" entry: no slug can be this

/** A menu of `options` that still shows a value the file holds but the lists lack. */
function Picker(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  none: string;
  options: { value: string; label: string }[];
  note?: ReactNode;
}) {
  const listed = props.value === "" || props.options.some((o) => o.value === props.value);
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">{props.none}</option>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
        {listed ? null : <option value={props.value}>{props.value} (not found)</option>}
      </select>
      {props.note}
    </label>
  );
}

export function DataPickers({ projectId, task, set }: { projectId: string; task: FlowTask; set: Setter }) {
  const name = str(task.dataset);
  const datasets = useData(() => api("list_datasets", { path: { project_id: projectId } }), [projectId]);
  const versions = useData(
    () => (name ? api("dataset_list_commits", { path: { project_id: projectId, name } }) : Promise.resolve([])),
    [projectId, name],
  );
  const queries = useData(() => (name ? api("list_queries", { path: { project_id: projectId, name } }) : Promise.resolve([])), [projectId, name]);
  if (datasets.error) {
    // no access to the datasets list: the name can still be typed
    return <TextField label="Dataset" value={name} hint={datasets.error.message} onChange={(v) => set(setText(task, "dataset", v))} />;
  }
  const missing = (what: string) => <span className="muted small">{what}</span>;
  return (
    <div className="grid2">
      <Picker
        label="Dataset"
        value={name}
        none={datasets.data ? "Choose a dataset…" : "Loading datasets…"}
        options={(datasets.data ?? []).map((d) => ({ value: d.name, label: d.description ? `${d.name} · ${d.description}` : d.name }))}
        note={datasets.data?.length === 0 ? missing("This project has no datasets yet: hw dataset create NAME") : undefined}
        onChange={(v) => set(v ? pickDataset(task, v) : setText(pickDataset(task, ""), "dataset", ""))}
      />
      <Picker
        label="Version (data_commit)"
        value={str(task.data_commit)}
        none="latest"
        options={(versions.data ?? []).map((c) => ({
          // a file may name a commit by a prefix: the menu shows it as that commit
          value: commitMatching(c.id, str(task.data_commit)),
          label: `${c.id.slice(0, 12)} · ${c.message || "no message"} · ${formatTime(c.created_at)}`,
        }))}
        onChange={(v) => set(pickVersion(task, v))}
      />
      <Picker
        label="Query (data_query)"
        value={str(task.data_query)}
        none="none: the whole version"
        options={(queries.data ?? []).map((q) => ({ value: q.name, label: `${q.name} (${q.filter})` }))}
        note={missing("A query or a version, not both")}
        onChange={(v) => set(pickQuery(task, v))}
      />
    </div>
  );
}

export function SetupTab(props: { projectId: string; task: FlowTask; set: Setter; titleField: ReactNode; onError: (error: string | null) => void }) {
  const { projectId, task, set } = props;
  const endpoints = useData(() => api("list_endpoints", { path: { project_id: projectId }, query: { limit: 200 } }), [projectId]);
  // the newest files, for the File suggestions; a project without files has none
  const tree = useData(() => api("files_get_tree", { path: { project_id: projectId } }).catch(() => null), [projectId]);
  const files = predictFiles((tree.data?.entries ?? []).map((e) => e.path));
  const choice = endpointChoice(task);
  const listId = useId();
  const [vars, setVars] = useState(configVarsText(task.config_vars));
  const [varsError, setVarsError] = useState<string | null>(null);
  const changeVars = (text: string) => {
    setVars(text);
    const out = configVarsFromText(text);
    const error = "error" in out ? out.error : null;
    setVarsError(error);
    props.onError(error);
    if ("vars" in out) {
      const next: FlowTask = { ...task, config_vars: out.vars };
      if (out.vars.length === 0) delete next.config_vars;
      set(next);
    }
  };
  const slugs = (endpoints.data?.items ?? []).map((e) => ({ value: e.slug, label: `${e.title} (${e.slug}, ${e.status})` }));
  const current = "existing" in choice ? choice.existing : NEW;
  return (
    <>
      {props.titleField}
      <label>
        Select endpoint
        <select
          value={current}
          onChange={(e) => set(pickEndpoint(task, e.target.value === NEW ? { new: true } : { existing: e.target.value }))}
        >
          <option value={NEW}>+ Add new</option>
          {slugs.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
          {current !== NEW && !slugs.some((o) => o.value === current) ? <option value={current}>{current} (not found)</option> : null}
        </select>
        <span className="muted small">{current === NEW ? "The flow creates this endpoint" : "The flow deploys a new version of this endpoint"}</span>
      </label>
      <div className="grid2">
        {current === NEW ? (
          <TextField
            label="Endpoint title (endpoint_title)"
            value={str(task.endpoint_title)}
            hint="Letters, digits and hyphens: it is part of the URL"
            onChange={(v) => set({ ...task, endpoint_title: v.trim() })}
          />
        ) : null}
        <label>
          File (file_name)
          <input list={listId} value={str(task.file_name)} placeholder="predict.py" onChange={(e) => set(setText(task, "file_name", e.target.value))} />
          <datalist id={listId}>
            {files.map((f) => (
              <option key={f} value={f} />
            ))}
          </datalist>
          <span className="muted small">The file with your predict function</span>
        </label>
        <TextField label="Function (function_name)" value={str(task.function_name)} placeholder="predict" onChange={(v) => set(setText(task, "function_name", v))} />
      </div>
      <fieldset className="rows">
        <legend>Advanced settings</legend>
        <div className="grid2">
          <TextField label="Min replicas (min_replica)" value={str(task.min_replica)} onChange={(v) => set(setText(task, "min_replica", v, "number"))} />
          <TextField label="Max replicas (max_replica)" value={str(task.max_replica)} onChange={(v) => set(setText(task, "max_replica", v, "number"))} />
          <label>
            Language (env_setup)
            <select value={str(task.env_setup) || "python_3"} onChange={(e) => set({ ...task, env_setup: e.target.value })}>
              <option value="python_3">Python 3</option>
              <option value="r_endpoint">R</option>
            </select>
          </label>
          <label>
            Flask config (config_vars)
            <textarea rows={3} value={vars} placeholder="MAX_CONTENT_LENGTH=1048576" aria-invalid={Boolean(varsError)} onChange={(e) => changeVars(e.target.value)} />
            {varsError ? (
              <span role="alert" className="error small">
                {varsError}
              </span>
            ) : (
              <span className="muted small">One KEY=VALUE a line</span>
            )}
          </label>
        </div>
        <label className="inline">
          <input type="checkbox" checked={task.accept_files === true} onChange={(e) => set({ ...task, accept_files: e.target.checked })} />
          Function accepts files as input (accept_files)
        </label>
      </fieldset>
    </>
  );
}
