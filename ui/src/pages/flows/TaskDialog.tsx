// The task popup (seed 002): tabs Params, Conditions, Advanced and YAML. It edits a draft of the
// task; Apply hands it back, Cancel drops it. Keys no tab shows stay in the draft untouched.
import { useState } from "react";
import { Tabs } from "../../components/Tabs";
import {
  APPROVAL,
  approvers,
  conditions,
  dumpTask,
  parseTask,
  valuesFromText,
  valuesText,
  withApprovers,
  type FlowTask,
  type Json,
  type Obj,
} from "../../lib/flowYaml";
import { setText } from "../../lib/taskForm";
import { Modal, TextField } from "./Modal";
import { DataPickers, SetupTab } from "./TaskSetup";

const OBJECTIVES = ["gt", "lt", "eq", "min", "max"];

type Setter = (next: FlowTask) => void;

export const str = (v: Json | undefined): string => (v === undefined || v === null ? "" : Array.isArray(v) ? v.join(",") : String(v));

export function TaskDialog(props: {
  projectId: string;
  task: FlowTask;
  titles: string[];
  readOnly: boolean;
  onApply: (task: FlowTask) => void;
  onDelete: () => void;
  onClose: () => void;
}) {
  const [draft, setDraft] = useState<FlowTask>(props.task);
  const [tab, setTab] = useState(props.task.type === "deploy" ? "setup" : "params");
  const [yamlText, setYamlText] = useState("");
  const [yamlError, setYamlError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const taken = props.titles.filter((t) => t !== props.task.title);
  const titleError = draft.title.trim() === "" ? "A task needs a title." : taken.includes(draft.title) ? "Another task has this title." : null;
  // seed 002: a data task has Params; a custom task Params, Conditions, Advanced; a deploy
  // task Setup (its endpoint) in place of Params
  const tabs =
    draft.type === "data"
      ? [
          { id: "params", label: "Params" },
          { id: "yaml", label: "YAML" },
        ]
      : [
          draft.type === "deploy" ? { id: "setup", label: "Setup" } : { id: "params", label: "Params" },
          { id: "conditions", label: "Conditions" },
          { id: "advanced", label: "Advanced" },
          { id: "yaml", label: "YAML" },
        ];
  const blocked = Boolean(titleError || yamlError || fieldError);
  const select = (id: string) => {
    if (id === "yaml") {
      setYamlText(dumpTask(draft));
      setYamlError(null);
    }
    setTab(id);
  };
  return (
    <Modal title={`Task: ${props.task.title}`} onClose={props.onClose} wide>
      {/* outside the form: the tabs are buttons, which would submit it */}
      <Tabs tabs={tabs} active={tab} onSelect={select} label="Task" />
      <form
        aria-label="Task"
        onSubmit={(e) => {
          e.preventDefault();
          if (!blocked && !props.readOnly) props.onApply(draft);
        }}
      >
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tabpanel">
          <fieldset disabled={props.readOnly} className="plain">
            {tab === "params" ? <ParamsTab projectId={props.projectId} task={draft} set={setDraft} titleError={titleError} /> : null}
            {tab === "setup" ? (
              <SetupTab projectId={props.projectId} task={draft} set={setDraft} titleField={<TitleField task={draft} set={setDraft} titleError={titleError} />} onError={setFieldError} />
            ) : null}
            {tab === "conditions" ? <ConditionsTab task={draft} set={setDraft} titles={taken} /> : null}
            {tab === "advanced" ? <AdvancedTab task={draft} set={setDraft} /> : null}
            {tab === "yaml" ? (
              <label>
                The task's YAML
                <textarea
                  className="code"
                  rows={16}
                  spellCheck={false}
                  value={yamlText}
                  onChange={(e) => {
                    setYamlText(e.target.value);
                    try {
                      setDraft(parseTask(e.target.value));
                      setYamlError(null);
                    } catch (err) {
                      setYamlError(err instanceof Error ? err.message : String(err));
                    }
                  }}
                />
                {yamlError ? (
                  <span role="alert" className="error">
                    {yamlError}
                  </span>
                ) : null}
              </label>
            ) : null}
          </fieldset>
        </div>
        <div className="actions">
          {props.readOnly ? null : (
            <>
              <button type="submit" disabled={blocked}>
                Apply
              </button>
              <button type="button" className="danger" onClick={props.onDelete}>
                Delete task
              </button>
            </>
          )}
          <button type="button" className="secondary" onClick={props.onClose}>
            {props.readOnly ? "Close" : "Cancel"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function TitleField({ task, set, titleError }: { task: FlowTask; set: Setter; titleError: string | null }) {
  return (
    <label>
      Title
      <input value={task.title} aria-invalid={Boolean(titleError)} onChange={(e) => set({ ...task, title: e.target.value })} />
      {titleError ? <span className="error small">{titleError}</span> : null}
    </label>
  );
}

function ParamsTab({ projectId, task, set, titleError }: { projectId: string; task: FlowTask; set: Setter; titleError: string | null }) {
  return (
    <>
      <TitleField task={task} set={set} titleError={titleError} />
      {task.type === "data" ? (
        <>
          <DataPickers projectId={projectId} task={task} set={set} />
          <Check task={task} set={set} name="use_cached" label="Use the cached copy" fallback={false} />
        </>
      ) : null}
      {task.type === "exec" ? (
        <>
          <TextField label="Script" value={str(task.input)} placeholder="python3 train.py" onChange={(v) => set(setText(task, "input", v))} />
          <ParamRows task={task} set={set} />
        </>
      ) : null}
    </>
  );
}

function ParamRows({ task, set }: { task: FlowTask; set: Setter }) {
  const params: Obj[] = Array.isArray(task.params) ? (task.params.filter((p) => typeof p === "object" && p !== null && !Array.isArray(p)) as Obj[]) : [];
  const update = (i: number, p: Obj | null) => {
    const next = params.flatMap((q, j) => (j === i ? (p ? [p] : []) : [q]));
    const copy: FlowTask = { ...task, params: next };
    if (next.length === 0) delete copy.params;
    set(copy);
  };
  return (
    <fieldset className="rows">
      <legend>Parameters (a run per combination)</legend>
      {params.map((p, i) => (
        <div className="row" key={`${i}-${params.length}`}>
          <TextField label="Key" value={str(p.key)} onChange={(v) => update(i, { ...p, key: v })} />
          {p.type === "discrete" || p.min !== undefined ? (
            <p className="muted small">
              {String(p.type ?? "")} grid {str(p.min)}…{str(p.max)}, {str(p.steps)} steps (edit in YAML)
            </p>
          ) : (
            <TextField label="Values" value={valuesText(p.value)} placeholder="0.01,0.1" onChange={(v) => update(i, { ...p, value: valuesFromText(v) })} />
          )}
          <button type="button" className="secondary" aria-label={`Remove parameter ${str(p.key) || i + 1}`} onClick={() => update(i, null)}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => set({ ...task, params: [...params, { key: "", value: "" }] })}>
        Add parameter
      </button>
    </fieldset>
  );
}

function ConditionsTab({ task, set, titles }: { task: FlowTask; set: Setter; titles: string[] }) {
  const all = conditions(task);
  const rows = all.filter((c) => c.objective !== APPROVAL);
  const people = approvers(task);
  const gated = people.length > 0 || all.some((c) => c.objective === APPROVAL) || (task.confirmation !== undefined && task.confirmation !== null);
  const gate = all.filter((c) => c.objective === APPROVAL);
  const write = (next: Obj[]) => {
    const copy: FlowTask = { ...task, conditions: [...next, ...gate] };
    if (copy.conditions && (copy.conditions as Json[]).length === 0) delete copy.conditions;
    set(copy);
  };
  const update = (i: number, c: Obj | null) => write(rows.flatMap((q, j) => (j === i ? (c ? [c] : []) : [q])));
  return (
    <>
      <fieldset className="rows">
        <legend>Conditions on the parents' tags</legend>
        {rows.map((c, i) => (
          <div className="row" key={`${i}-${rows.length}`}>
            <label>
              Objective
              <select value={str(c.objective)} onChange={(e) => update(i, { ...c, objective: e.target.value })}>
                {OBJECTIVES.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            </label>
            <label>
              Task
              <select value={str(c.task)} onChange={(e) => update(i, e.target.value ? { ...c, task: e.target.value } : withoutKey(c, "task"))}>
                <option value="">every parent</option>
                {titles.map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </label>
            <TextField label="Tag key" value={str(c.tag_key)} onChange={(v) => update(i, { ...c, tag_key: v })} />
            <TextField
              label="Target"
              value={str(c.target)}
              onChange={(v) => update(i, v.trim() === "" ? withoutKey(c, "target") : { ...c, target: Number.isFinite(Number(v)) ? Number(v) : v })}
            />
            <button type="button" className="secondary" onClick={() => update(i, null)}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => write([...rows, { objective: "gt", tag_key: "", target: 0 }])}>
          Add condition
        </button>
      </fieldset>
      <fieldset className="rows">
        <legend>Human validation</legend>
        <label className="inline">
          <input type="checkbox" checked={gated} onChange={(e) => set(withApprovers(task, e.target.checked ? people : null))} />
          Needs approval before it runs
        </label>
        {gated ? (
          <TextField
            label="Approvers"
            value={people.join(",")}
            placeholder="ana,yochay"
            hint="Usernames or emails, comma-separated. The project's owner may always decide."
            onChange={(v) =>
              set(
                withApprovers(
                  task,
                  v
                    .split(",")
                    .map((s) => s.trim())
                    .filter(Boolean),
                ),
              )
            }
          />
        ) : null}
      </fieldset>
    </>
  );
}

function withoutKey(o: Obj, key: string): Obj {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

export function Check(props: { task: FlowTask; set: Setter; name: string; label: string; fallback: boolean }) {
  const v = props.task[props.name];
  return (
    <label className="inline">
      <input type="checkbox" checked={typeof v === "boolean" ? v : props.fallback} onChange={(e) => props.set({ ...props.task, [props.name]: e.target.checked })} />
      {props.label}
    </label>
  );
}

function AdvancedTab({ task, set }: { task: FlowTask; set: Setter }) {
  return (
    <>
      <div className="grid2">
        <TextField label="Computes" value={str(task.computes)} hint="Compute templates, tried in order" onChange={(v) => set(setText(task, "computes", v, "list"))} />
        <TextField label="Image" value={str(task.image)} placeholder="the project's" onChange={(v) => set(setText(task, "image", v))} />
        {task.type === "exec" ? (
          <TextField label="Output folder (output_dir)" value={str(task.output_dir)} placeholder="output" onChange={(v) => set(setText(task, "output_dir", v))} />
        ) : null}
        {task.type === "exec" ? (
          <TextField label="Register as model (model)" value={str(task.model)} hint="Each successful instance's outputs become a version" onChange={(v) => set(setText(task, "model", v))} />
        ) : null}
        {task.type === "exec" ? (
          <TextField label="Model file or folder (model_path)" value={str(task.model_path)} placeholder="the whole output folder" onChange={(v) => set(setText(task, "model_path", v))} />
        ) : null}
        <TextField label="Git branch (git_branch)" value={str(task.git_branch)} placeholder="master" hint="When the project is linked to Git" onChange={(v) => set(setText(task, "git_branch", v))} />
        <TextField label="Git commit (git_commit)" value={str(task.git_commit)} placeholder="the branch's latest" onChange={(v) => set(setText(task, "git_commit", v))} />
        {task.type === "exec" ? <TextField label="Emails" value={str(task.emails)} onChange={(v) => set(setText(task, "emails", v, "list"))} /> : null}
        <TextField label="Description" value={str(task.description)} onChange={(v) => set(setText(task, "description", v))} />
      </div>
      {task.type === "exec" ? (
        <div className="checks">
          <Check task={task} set={set} name="single_mode" label="Single mode" fallback={false} />
          <Check task={task} set={set} name="requirements" label="Install requirements.txt" fallback={true} />
          <Check task={task} set={set} name="prerun" label="Run prerun.sh" fallback={true} />
          <Check task={task} set={set} name="notify_on_error" label="Email on error" fallback={false} />
          <Check task={task} set={set} name="notify_on_success" label="Email on success" fallback={false} />
          <Check task={task} set={set} name="restart_if_stuck" label="Restart if stuck" fallback={false} />
          <Check task={task} set={set} name="periodic_sync" label="Periodic sync" fallback={false} />
        </div>
      ) : null}
    </>
  );
}
