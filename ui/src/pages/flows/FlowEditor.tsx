// The flow canvas (seed 002): a palette to drag data, custom and deploy tasks in, React Flow to
// place and connect them, the task popup, and the flow bar: version menu, Save, Play, schedule,
// continual learning (triggers) and the whole file's YAML.
import {
  Background,
  Controls,
  Handle,
  Position,
  ReactFlow,
  ReactFlowProvider,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type Edge,
  type Node,
  type NodeChange,
  type NodeProps,
} from "@xyflow/react";
import { createContext, useContext, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { ErrorNote, Loading } from "../../components/common";
import { canRunJobs, type Project } from "../../lib/access";
import {
  addTask,
  connect,
  disconnect,
  dumpFlow,
  emptyFlow,
  layered,
  moveTask,
  parseFlow,
  position,
  removeTask,
  replaceTask,
  type FlowDoc,
  type TaskType,
} from "../../lib/flowYaml";
import { formatTime } from "../../lib/format";
import { guardLeaving, navigate } from "../../lib/router";
import { useData } from "../../lib/useData";
import { ScheduleDialog, TriggersDialog, YamlDialog } from "./FlowDialogs";
import { TaskDialog } from "./TaskDialog";

const DRAG_TYPE = "application/x-headwater-task";
const PALETTE: { type: TaskType; label: string; hint: string }[] = [
  { type: "data", label: "Data", hint: "a dataset of the project" },
  { type: "exec", label: "Custom", hint: "a command, with a grid of parameters" },
  { type: "deploy", label: "Deploy", hint: "an endpoint that serves a model" },
];

type TaskNodeData = { title: string; type: TaskType; summary: string };
const EditContext = createContext<(title: string) => void>(() => undefined);

function TaskNode({ data }: NodeProps<Node<TaskNodeData>>) {
  const edit = useContext(EditContext);
  return (
    <div className={`flow-node type-${data.type}`} data-testid={`task-${data.title}`}>
      <Handle type="target" position={Position.Top} aria-label={`Into ${data.title}`} />
      <span className="node-type">{data.type === "exec" ? "custom" : data.type}</span>
      <button type="button" className="node-title nodrag" onClick={() => edit(data.title)} aria-label={`Edit task ${data.title}`}>
        {data.title}
      </button>
      {data.summary ? <span className="node-summary">{data.summary}</span> : null}
      <Handle type="source" position={Position.Bottom} aria-label={`Out of ${data.title}`} />
    </div>
  );
}

const NODE_TYPES = { task: TaskNode };

function summary(t: FlowDoc["tasks"][number]): string {
  const s = t.type === "data" ? t.dataset : t.type === "exec" ? t.input : (t.endpoint_title ?? t.endpoint_id);
  return typeof s === "string" ? (s.length > 40 ? `${s.slice(0, 39)}…` : s) : "";
}

function toNodes(doc: FlowDoc): Node<TaskNodeData>[] {
  const auto = layered(
    doc.tasks.map((t) => t.title),
    doc.relations,
  );
  return doc.tasks.map((t) => ({
    id: t.title,
    type: "task",
    position: position(t, auto.get(t.title) ?? { x: 0, y: 0 }),
    data: { title: t.title, type: t.type, summary: summary(t) },
  }));
}

function toEdges(doc: FlowDoc): Edge[] {
  return doc.relations.map((r) => ({ id: `${r.from}\u2192${r.to}`, source: r.from, target: r.to }));
}

type Version = Schemas["FlowVersionOut"];

async function loadVersion(pid: string, name: string, number: number | null) {
  const versions = await api("list_flow_versions", { path: { project_id: pid, name } });
  const latest = versions.reduce((m, v) => Math.max(m, v.number), 0);
  const want = number ?? latest;
  const shown = await api("show_flow_version", { path: { project_id: pid, name, number: want } });
  return { versions: [...versions].sort((a, b) => b.number - a.number), shown };
}

// What Save said, kept across the remount that a new flow's first save causes (its address
// changes from /flows/new to /flows/edit/NAME).
let flash: string | null = null;

export function FlowEditor(props: { project: Project; name: string | null }) {
  return (
    <ReactFlowProvider>
      <Editor key={props.name ?? "(new)"} {...props} />
    </ReactFlowProvider>
  );
}

function Editor({ project, name }: { project: Project; name: string | null }) {
  const pid = project.id;
  const [version, setVersion] = useState<number | null>(null);
  const loaded = useData(() => (name ? loadVersion(pid, name, version) : Promise.resolve(null)), [pid, name, version]);
  const [doc, setDoc] = useState<FlowDoc | null>(name ? null : emptyFlow(""));
  const [dirty, setDirtyState] = useState(false);
  // read by the leave guard, which must see a save at once (before the next render)
  const dirtyNow = useRef(false);
  const setDirty = (value: boolean) => {
    dirtyNow.current = value;
    setDirtyState(value);
  };
  useEffect(() => guardLeaving(() => dirtyNow.current, "This flow has unsaved changes. Leave and lose them?"), []);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string | null>(() => {
    const said = flash;
    flash = null;
    return said;
  });
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [dialog, setDialog] = useState<"schedule" | "triggers" | "yaml" | null>(null);
  const writer = canRunJobs(project);

  useEffect(() => {
    if (!loaded.data) return;
    try {
      // a loaded version replaces the edited copy (an external answer, once per load)
      // eslint-disable-next-line react-hooks/set-state-in-effect
      setDoc(parseFlow(loaded.data.shown.yaml ?? ""));
      setDirty(false);
    } catch (err) {
      setError(err);
    }
  }, [loaded.data]);

  const change = (next: FlowDoc) => {
    setDoc(next);
    setDirty(true);
    setNotice(null);
  };

  if (loaded.error) return <ErrorNote error={loaded.error} />;
  if (!doc) return <Loading what={`flow ${name}`} />;
  const versions: Version[] = loaded.data?.versions ?? [];
  const shownNumber = loaded.data?.shown.number ?? null;
  const latest = versions[0]?.number ?? null;

  const save = async (what: FlowDoc = doc): Promise<{ name: string; version: number } | null> => {
    setError(undefined);
    setNotice(null);
    if (!what.flow.trim()) {
      setError(new Error("Give the flow a title first."));
      return null;
    }
    setBusy(true);
    try {
      const out = await api("import_flow", { path: { project_id: pid }, body: { yaml: dumpFlow(what), file_name: `${what.flow}.yaml` } });
      setDirty(false);
      const said = out.created ? `Saved as version ${out.latest_version}.` : `No change: still version ${out.latest_version}.`;
      setNotice(said);
      if (out.name !== name) flash = said;
      if (out.name !== name) navigate(`/projects/${pid}/flows/edit/${encodeURIComponent(out.name)}`, { replace: !name });
      else if (version !== null) setVersion(null);
      else loaded.reload();
      return { name: out.name, version: out.latest_version };
    } catch (err) {
      setError(err);
      return null;
    } finally {
      setBusy(false);
    }
  };

  const play = async () => {
    let target = name && !dirty ? { name, version: shownNumber ?? undefined } : null;
    if (!target) {
      const saved = await save();
      if (!saved) return;
      target = saved;
    }
    setBusy(true);
    try {
      const run = await api("run_flow", { path: { project_id: pid, name: target.name }, body: { version: target.version } });
      navigate(`/projects/${pid}/bakes/${run.number}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const task = editing ? doc.tasks.find((t) => t.title === editing) : undefined;
  return (
    <section aria-labelledby="flow-title" className="flow-editor">
      <div className="flowbar" role="toolbar" aria-label="Flow">
        <h2 id="flow-title" className="sr-only">
          Flow {doc.flow || "(new)"}
        </h2>
        <label className="inline">
          <span className="sr-only">Flow title</span>
          <input
            aria-label="Flow title"
            value={doc.flow}
            placeholder="Flow title"
            readOnly={!writer}
            onChange={(e) => change({ ...doc, flow: e.target.value })}
          />
        </label>
        {versions.length ? (
          <label className="inline">
            Version
            <select
              value={shownNumber ?? ""}
              onChange={(e) => {
                if (dirty && !window.confirm("Drop the unsaved changes?")) return;
                setVersion(Number(e.target.value));
              }}
            >
              {versions.map((v) => (
                <option key={v.number} value={v.number}>
                  {v.number}
                  {v.number === latest ? " (latest)" : ""} · {v.created_by}, {formatTime(v.created_at)}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {dirty ? <span className="badge">unsaved</span> : null}
        <span className="spacer" />
        {writer ? (
          <>
            <button type="button" disabled={busy} onClick={() => void save()}>
              Save
            </button>
            <button type="button" disabled={busy || doc.tasks.length === 0} onClick={() => void play()} title="Run the flow">
              ▶ Play
            </button>
          </>
        ) : null}
        <button type="button" className="secondary" onClick={() => setDialog("schedule")}>
          Schedule
        </button>
        {name ? (
          <button type="button" className="secondary" onClick={() => setDialog("triggers")}>
            Continual learning
          </button>
        ) : null}
        <button type="button" className="secondary" onClick={() => setDialog("yaml")}>
          YAML
        </button>
      </div>
      <ErrorNote error={error} />
      {notice ? (
        <p role="status" className="notice">
          {notice}
        </p>
      ) : null}
      <div className="canvas-wrap">
        {writer
          ? <Palette onAdd={(type) => change(addTask(doc, type, below(doc)).doc)} />
          : null}
        <EditContext.Provider value={setEditing}>
          <Canvas doc={doc} writer={writer} onChange={change} />
        </EditContext.Provider>
      </div>
      {task ? (
        <TaskDialog
          projectId={pid}
          task={task}
          titles={doc.tasks.map((t) => t.title)}
          readOnly={!writer}
          onClose={() => setEditing(null)}
          onDelete={() => {
            change(removeTask(doc, task.title));
            setEditing(null);
          }}
          onApply={(next) => {
            change(replaceTask(doc, task.title, next));
            setEditing(null);
          }}
        />
      ) : null}
      {dialog === "schedule" ? (
        <ScheduleDialog
          doc={doc}
          readOnly={!writer}
          onClose={() => setDialog(null)}
          onSave={async (next) => {
            change(next);
            if (await save(next)) setDialog(null);
          }}
        />
      ) : null}
      {dialog === "triggers" && name ? <TriggersDialog project={project} flow={name} onClose={() => setDialog(null)} /> : null}
      {dialog === "yaml" ? (
        <YamlDialog
          doc={doc}
          readOnly={!writer}
          onClose={() => setDialog(null)}
          onApply={(next) => {
            change(next);
            setDialog(null);
          }}
        />
      ) : null}
    </section>
  );
}

/** Where a task added from the keyboard goes: under the lowest one. */
function below(doc: FlowDoc): { x: number; y: number } {
  const tops = doc.tasks.map((t) => (typeof t.top === "number" ? t.top : 0));
  return { x: 80, y: tops.length ? Math.max(...tops) + 120 : 60 };
}

function Palette({ onAdd }: { onAdd: (type: TaskType) => void }) {
  const start = (e: DragEvent, type: TaskType) => {
    e.dataTransfer.setData(DRAG_TYPE, type);
    e.dataTransfer.effectAllowed = "move";
  };
  return (
    <aside className="palette" aria-label="Tasks to drag onto the canvas">
      <h3>Tasks</h3>
      {PALETTE.map((p) => (
        <div
          key={p.type}
          className={`palette-item type-${p.type}`}
          draggable
          onDragStart={(e) => start(e, p.type)}
          data-testid={`palette-${p.type}`}
          role="button"
          tabIndex={0}
          aria-label={`Add a ${p.label.toLowerCase()} task (or drag it onto the canvas)`}
          onKeyDown={(e) => {
            if (e.key !== "Enter" && e.key !== " ") return;
            e.preventDefault();
            onAdd(p.type);
          }}
        >
          <strong>{p.label}</strong>
          <span className="muted small">{p.hint}</span>
        </div>
      ))}
      <p className="muted small">Drag a task onto the canvas; drag from a task's lower dot to another's upper dot to connect them. From the keyboard: Enter on a task adds it.</p>
    </aside>
  );
}

function Canvas({ doc, writer, onChange }: { doc: FlowDoc; writer: boolean; onChange: (doc: FlowDoc) => void }) {
  const flow = useReactFlow();
  const fromDoc = useMemo(() => toNodes(doc), [doc]);
  const [nodes, setNodes] = useState(fromDoc);
  // the document is the truth: a change to it resets React Flow's working copy of the nodes
  // eslint-disable-next-line react-hooks/set-state-in-effect
  useEffect(() => setNodes(fromDoc), [fromDoc]);
  const edges = useMemo(() => toEdges(doc), [doc]);
  // fit a loaded flow into view once; an empty canvas keeps its viewport while tasks are dropped
  const [fit] = useState(doc.tasks.length > 0);

  const onDrop = (e: DragEvent) => {
    const type = e.dataTransfer.getData(DRAG_TYPE) as TaskType;
    if (!writer || !type) return;
    e.preventDefault();
    const at = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    onChange(addTask(doc, type, { x: at.x - 80, y: at.y - 25 }).doc);
  };
  return (
    <div
      className="canvas"
      data-testid="canvas"
      onDragOver={(e) => {
        if (!writer) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
      }}
      onDrop={onDrop}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={(changes: NodeChange<Node<TaskNodeData>>[]) =>
          setNodes((ns) => applyNodeChanges(writer ? changes : changes.filter((c) => c.type === "select" || c.type === "dimensions"), ns))
        }
        onNodeDragStop={(_, node) => onChange(moveTask(doc, node.id, node.position))}
        onConnect={(c: Connection) => onChange(connect(doc, c.source, c.target))}
        onNodesDelete={(gone) => onChange(gone.reduce((d, n) => removeTask(d, n.id), doc))}
        onEdgesDelete={(gone) => onChange(gone.reduce((d, e) => disconnect(d, e.source, e.target), doc))}
        nodesDraggable={writer}
        nodesConnectable={writer}
        deleteKeyCode={writer ? ["Backspace", "Delete"] : null}
        fitView={fit}
        fitViewOptions={{ maxZoom: 1 }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
      {doc.tasks.length === 0 ? <p className="canvas-empty muted">An empty flow: drag a task here from the palette.</p> : null}
    </div>
  );
}
