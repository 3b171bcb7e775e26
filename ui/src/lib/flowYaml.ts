// A flow file (docs/flows.md) as the canvas edits it, and back. Pure: no React, no DOM.
//
// The canvas edits titles, types, positions (`top`/`left`), relations and the keys its dialogs
// show; every other key of the file, of a task, of a parameter or of a condition is kept as it
// was read, in its place, so a file round-trips through the editor.
import { parse, stringify } from "yaml";

export type TaskType = "data" | "exec" | "deploy";
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export interface FlowTask extends Obj {
  title: string;
  type: TaskType;
}

export interface Relation {
  from: string;
  to: string;
}

/** The whole file: `flow`, `tasks`, `relations`, and whatever else it holds (schedule, ...). */
export interface FlowDoc {
  flow: string;
  tasks: FlowTask[];
  relations: Relation[];
  /** Every other top-level key, in the file's order. */
  rest: Obj;
}

export class FlowYamlError extends Error {}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function emptyFlow(title = ""): FlowDoc {
  return { flow: title, tasks: [], relations: [], rest: {} };
}

/** Read a flow file. Only what the canvas needs is checked; the server checks the rest. */
export function parseFlow(text: string): FlowDoc {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new FlowYamlError(`not YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (data === null || data === undefined) return emptyFlow();
  if (!isObj(data)) throw new FlowYamlError("a flow file is a mapping with flow:, tasks: and relations:");
  const { flow, tasks, relations, ...rest } = data;
  const doc: FlowDoc = { flow: flow === undefined || flow === null ? "" : String(flow), tasks: [], relations: [], rest };
  if (tasks !== undefined && tasks !== null) {
    if (!Array.isArray(tasks)) throw new FlowYamlError("tasks: is a list");
    doc.tasks = tasks.map((t, i) => toTask(t, `tasks[${i}]`));
  }
  if (relations !== undefined && relations !== null) {
    if (!Array.isArray(relations)) throw new FlowYamlError("relations: is a list");
    doc.relations = relations.map((r, i) => {
      if (!isObj(r)) throw new FlowYamlError(`relations[${i}] is a mapping with from: and to:`);
      return { from: String(r.from ?? ""), to: String(r.to ?? "") };
    });
  }
  return doc;
}

function toTask(value: unknown, where: string): FlowTask {
  if (!isObj(value)) throw new FlowYamlError(`${where} is a mapping with title: and type:`);
  const type = String(value.type ?? "exec");
  if (type !== "data" && type !== "exec" && type !== "deploy") {
    throw new FlowYamlError(`${where}.type: '${type}' is not data, exec or deploy`);
  }
  return { ...value, title: String(value.title ?? ""), type } as FlowTask;
}

/** The file's text: flow, then tasks, then relations, then the other keys as read. */
export function dumpFlow(doc: FlowDoc): string {
  const out: Obj = { flow: doc.flow, tasks: doc.tasks, relations: doc.relations.map((r) => ({ from: r.from, to: r.to })) };
  for (const [k, v] of Object.entries(doc.rest)) if (v !== undefined) out[k] = v;
  return stringify(out, { lineWidth: 0 });
}

/** One task's YAML (the task dialog's YAML tab). */
export function dumpTask(task: FlowTask): string {
  return stringify(task, { lineWidth: 0 });
}

export function parseTask(text: string): FlowTask {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new FlowYamlError(`not YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return toTask(data, "the task");
}

// --- what the canvas does to a flow ---------------------------------------------------------

export interface Point {
  x: number;
  y: number;
}

/** A task's place on the canvas: `left` is x, `top` is y; a task without them gets `fallback`. */
export function position(task: FlowTask, fallback: Point): Point {
  const x = typeof task.left === "number" ? task.left : fallback.x;
  const y = typeof task.top === "number" ? task.top : fallback.y;
  return { x, y };
}

export function moveTask(doc: FlowDoc, title: string, to: Point): FlowDoc {
  return {
    ...doc,
    tasks: doc.tasks.map((t) => (t.title === title ? { ...t, top: Math.round(to.y), left: Math.round(to.x) } : t)),
  };
}

const DEFAULTS: Record<TaskType, Obj> = {
  data: { dataset: "" },
  exec: { input: "", computes: ["default"] },
  deploy: {
    endpoint_title: "",
    computes: ["default"],
    file_name: "predict.py",
    function_name: "predict",
    min_replica: 1,
    max_replica: 1,
  },
};

const TYPE_NAMES: Record<TaskType, string> = { data: "Data", exec: "Custom", deploy: "Deploy" };

/** A title not taken yet: "Custom", "Custom 2", ... */
export function freeTitle(doc: FlowDoc, type: TaskType): string {
  const taken = new Set(doc.tasks.map((t) => t.title));
  const base = TYPE_NAMES[type];
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base} ${n}`)) return `${base} ${n}`;
}

export function addTask(doc: FlowDoc, type: TaskType, at: Point): { doc: FlowDoc; title: string } {
  const title = freeTitle(doc, type);
  const task: FlowTask = { title, type, ...structuredClone(DEFAULTS[type]), top: Math.round(at.y), left: Math.round(at.x) };
  return { doc: { ...doc, tasks: [...doc.tasks, task] }, title };
}

/** Replace task `title` by `task`; a new title is renamed in the relations too. */
export function replaceTask(doc: FlowDoc, title: string, task: FlowTask): FlowDoc {
  const rename = (s: string) => (s === title ? task.title : s);
  return {
    ...doc,
    tasks: doc.tasks.map((t) => (t.title === title ? task : t)),
    relations: doc.relations.map((r) => ({ from: rename(r.from), to: rename(r.to) })),
  };
}

export function removeTask(doc: FlowDoc, title: string): FlowDoc {
  return {
    ...doc,
    tasks: doc.tasks.filter((t) => t.title !== title),
    relations: doc.relations.filter((r) => r.from !== title && r.to !== title),
  };
}

export function connect(doc: FlowDoc, from: string, to: string): FlowDoc {
  if (from === to || doc.relations.some((r) => r.from === from && r.to === to)) return doc;
  return { ...doc, relations: [...doc.relations, { from, to }] };
}

export function disconnect(doc: FlowDoc, from: string, to: string): FlowDoc {
  return { ...doc, relations: doc.relations.filter((r) => !(r.from === from && r.to === to)) };
}

// --- parameters and conditions as the dialog edits them --------------------------------------

/** A param's values as the dialog shows them: one comma-separated line. */
export function valuesText(value: Json | undefined): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((v) => String(v)).join(",");
  return String(value);
}

/** The line back: one value stays a string, several become a list. */
export function valuesFromText(text: string): Json {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return parts.length === 1 ? parts[0] : parts;
}

export const APPROVAL = "human_validation";

/** Who may approve the task: its `confirmation:` or its human_validation condition. */
export function approvers(task: FlowTask): string[] {
  const split = (v: Json | undefined) =>
    (Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.split(",") : [])
      .map((s) => s.trim())
      .filter(Boolean);
  if (task.confirmation !== undefined && task.confirmation !== null) return split(task.confirmation);
  const gate = conditions(task).find((c) => c.objective === APPROVAL);
  return gate ? split(gate.value) : [];
}

export function conditions(task: FlowTask): Obj[] {
  return Array.isArray(task.conditions) ? task.conditions.filter(isObj) : [];
}

/** Set the approvers (none: no approval), where the task keeps them. */
export function withApprovers(task: FlowTask, users: string[] | null): FlowTask {
  const next: FlowTask = { ...task };
  const others = conditions(task).filter((c) => c.objective !== APPROVAL);
  const gate = conditions(task).find((c) => c.objective === APPROVAL);
  if (users === null) {
    delete next.confirmation;
    if (gate) next.conditions = others;
    return next;
  }
  if (task.confirmation !== undefined && task.confirmation !== null) {
    next.confirmation = users;
    return next;
  }
  const value = users.join(",");
  next.conditions = gate
    ? conditions(task).map((c) => (c === gate ? { ...c, value } : c))
    : [...others, { objective: APPROVAL, value }];
  return next;
}

/**
 * Places for tasks without `top`/`left`: a column per depth (the longest path from a task
 * without parents), tasks of one depth one below the other, in the given order.
 */
export function layered(titles: string[], relations: Relation[], gap: Point = { x: 240, y: 120 }): Map<string, Point> {
  const depth = new Map<string, number>(titles.map((t) => [t, 0]));
  // relax edges |titles| times: enough for a DAG, and a cycle cannot loop forever
  for (let pass = 0; pass < titles.length; pass++) {
    let changed = false;
    for (const r of relations) {
      const d = (depth.get(r.from) ?? 0) + 1;
      if (depth.has(r.to) && d > (depth.get(r.to) ?? 0)) {
        depth.set(r.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const row = new Map<number, number>();
  const out = new Map<string, Point>();
  for (const t of titles) {
    const d = depth.get(t) ?? 0;
    const i = row.get(d) ?? 0;
    row.set(d, i + 1);
    out.set(t, { x: 40 + d * gap.x, y: 40 + i * gap.y });
  }
  return out;
}
