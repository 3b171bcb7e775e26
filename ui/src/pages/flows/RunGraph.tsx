// A run's graph: each task a box coloured by status with its instance counts; a click on a box
// opens the task's panel below. The view fits the whole graph once the boxes are measured, and
// again whenever the layout or the canvas's size changes.
//
// Why it once stayed blank: the graph drew before the version's file (the tasks' places) had
// loaded, so React Flow fitted the automatic layout; the places then moved the boxes out of the
// fitted view, and nothing fitted again until a remount. And each poll handed React Flow new
// node objects without their measured size, so every box was hidden (unmeasured) until measured
// again. Now the graph waits for the places, fits after every layout change, and keeps each
// box's measured size across polls.
import {
  Background,
  Controls,
  Handle,
  Position,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
  useStore,
  type Edge,
  type Node,
  type NodeChange,
  type NodeProps,
} from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";
import type { Schemas } from "../../api/client";
import { layered, parseFlow, position, type Point } from "../../lib/flowYaml";
import { layoutKey, sides } from "../../lib/runGraph";

type Instance = Schemas["InstanceOut"];
// the schema marks fields with defaults optional; an inspected run has them all
export type RunTask = Omit<Schemas["RunTaskOut"], "instances" | "approvers" | "counts" | "total"> & {
  instances: Instance[];
  approvers: string[];
  counts: Record<string, number>;
  total: number;
};
export type Run = Omit<Schemas["FlowRunOut"], "tasks" | "relations"> & { tasks: RunTask[]; relations: { from: string; to: string }[] };

const STATES = ["cached", "queued", "initializing", "running", "success", "failed", "aborted"];

/** "2 success · 1 running": the server's counts of all the task's instances. The step cache's
 * hits count as "cached" when the poll carried every instance (they are successes to the server). */
export function counts(task: RunTask): string {
  const by: Record<string, number> = { ...task.counts };
  const cached = task.instances.filter((i) => i.cache?.hit).length;
  if (cached && task.instances.length === task.total && (by.success ?? 0) >= cached) {
    by.success -= cached;
    by.cached = cached;
  }
  const known = STATES.filter((s) => by[s]);
  const other = Object.keys(by).filter((s) => !STATES.includes(s) && by[s]);
  return [...known, ...other].map((s) => `${by[s].toLocaleString("en-US")} ${s.replace("_", " ")}`).join(" · ");
}

/** Each task's place: the version file's `top`/`left`, else the automatic left-to-right layout. */
export function placesOf(titles: string[], relations: { from: string; to: string }[], yaml: string | null): Map<string, Point> {
  const auto = layered(titles, relations);
  if (!yaml) return auto;
  try {
    const doc = parseFlow(yaml);
    const out = new Map<string, Point>();
    for (const title of titles) {
      const spec = doc.tasks.find((d) => d.title === title);
      const fallback = auto.get(title) ?? { x: 0, y: 0 };
      out.set(title, spec ? position(spec, fallback) : fallback);
    }
    return out;
  } catch {
    return auto;
  }
}

type RunNodeData = { task: RunTask; selected: boolean };

function RunNode({ data }: NodeProps<Node<RunNodeData>>) {
  const t = data.task;
  return (
    <div
      className={`flow-node run-node status-${t.status}${data.selected ? " chosen" : ""}`}
      data-testid={`run-task-${t.title}`}
      data-status={t.status}
    >
      {/* a handle on each side: an edge joins the sides that face each other (lib/runGraph.ts) */}
      <Handle id="top" type="target" position={Position.Top} isConnectable={false} />
      <Handle id="left" type="target" position={Position.Left} isConnectable={false} />
      <span className="node-type">{t.type === "exec" ? "custom" : t.type}</span>
      <button type="button" className="node-title" aria-label={`Open task ${t.title}`} aria-pressed={data.selected}>
        {t.title}
      </button>
      <span className="node-status">{t.status.replace("_", " ")}</span>
      <span className="node-summary" data-testid={`counts-${t.title}`}>
        {t.total ? `${t.total.toLocaleString("en-US")} instance${t.total === 1 ? "" : "s"}: ${counts(t)}` : "no instances yet"}
      </span>
      <Handle id="bottom" type="source" position={Position.Bottom} isConnectable={false} />
      <Handle id="right" type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const RUN_NODES = { run: RunNode };
const FIT = { maxZoom: 1, padding: 0.12 };

/** Fits the view once every box is measured, and again on each layout or canvas size change. */
function FitOnLayout({ layout }: { layout: string }) {
  const { fitView } = useReactFlow();
  const measured = useNodesInitialized();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  useEffect(() => {
    // a zero-size canvas (not laid out yet, or hidden) would fit to nonsense: wait for a size
    if (measured && width > 0 && height > 0) void fitView(FIT);
  }, [measured, layout, width, height, fitView]);
  return null;
}

type Size = { width: number; height: number };

export function RunGraph(props: { run: Run; yaml: string | null; selected: string | null; onSelect: (title: string | null) => void }) {
  const { run, yaml, selected, onSelect } = props;
  // polls bring new objects every 1.5 s: the places change only with the tasks, edges or file
  const titles = JSON.stringify(run.tasks.map((t) => t.title));
  const links = JSON.stringify(run.relations.map((r) => [r.from, r.to]));
  const places = useMemo(() => {
    const pairs = JSON.parse(links) as [string, string][];
    return placesOf(JSON.parse(titles) as string[], pairs.map(([from, to]) => ({ from, to })), yaml);
  }, [titles, links, yaml]);
  const layout = layoutKey(places, run.relations);
  // each box's measured size, handed back with every new node so that a poll does not hide it
  const [sizes, setSizes] = useState<ReadonlyMap<string, Size>>(new Map());
  const nodes: Node<RunNodeData>[] = useMemo(
    () =>
      run.tasks.map((t) => ({
        id: t.title,
        type: "run",
        position: places.get(t.title) ?? { x: 0, y: 0 },
        data: { task: t, selected: t.title === selected },
        measured: sizes.get(t.title),
      })),
    [run, places, selected, sizes],
  );
  const edges: Edge[] = useMemo(
    () =>
      run.relations.map((r) => {
        const from = run.tasks.find((t) => t.title === r.from);
        const side = sides(places.get(r.from) ?? { x: 0, y: 0 }, places.get(r.to) ?? { x: 0, y: 0 });
        return {
          id: `${r.from}\u2192${r.to}`,
          source: r.from,
          target: r.to,
          sourceHandle: side.source,
          targetHandle: side.target,
          animated: from?.status === "running",
          className: `sides-${side.source}-${side.target}`,
        };
      }),
    [run, places],
  );
  const remember = (changes: NodeChange<Node<RunNodeData>>[]) => {
    const measured = changes.filter((c) => c.type === "dimensions" && c.dimensions);
    if (measured.length === 0) return;
    setSizes((old) => {
      const next = new Map(old);
      for (const c of measured) if (c.type === "dimensions" && c.dimensions) next.set(c.id, c.dimensions);
      return next;
    });
  };
  return (
    <div className="canvas run-canvas" data-testid="run-graph" data-layout={layout}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={RUN_NODES}
        onNodesChange={remember}
        onNodeClick={(_, node) => onSelect(node.id === selected ? null : node.id)}
        onPaneClick={() => onSelect(null)}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        minZoom={0.2}
      >
        <FitOnLayout layout={layout} />
        <Background />
        <Controls showInteractive={false} fitViewOptions={FIT} />
      </ReactFlow>
      <p className="legend small">
        {["waiting", "pending_approval", "running", "success", "failed", "skipped", "aborted"].map((s) => (
          <span key={s}>
            <span className={`swatch status-${s}`} /> {s.replace("_", " ")}
          </span>
        ))}
      </p>
    </div>
  );
}
