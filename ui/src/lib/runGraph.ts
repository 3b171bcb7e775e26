// The run view's graph and task panel without React: which sides of two boxes an edge joins,
// the key that says the layout changed (so the view fits it again), and a task's instances
// grouped by the flow route they ran on.
import type { Point, Relation } from "./flowYaml";

/** A task box's size on the canvas (flows.css: `.flow-node` is 190 px wide). */
export const BOX = { width: 190, height: 84 };

export type Sides = { source: "bottom" | "right"; target: "top" | "left" };

/**
 * The sides an edge leaves and enters by. A child further right than below its parent is
 * joined side to side (right to left), so edges of a left-to-right layout run straight between
 * the boxes instead of leaving the bottom and looping round into the top; otherwise bottom to
 * top, as the editor draws them.
 */
export function sides(from: Point, to: Point, box: { width: number; height: number } = BOX): Sides {
  const right = to.x - (from.x + box.width); // the gap beside the parent
  const below = to.y - (from.y + box.height); // the gap under it
  return right > 0 && right >= below ? { source: "right", target: "left" } : { source: "bottom", target: "top" };
}

/** A string that changes exactly when a box moves, appears or goes, or an edge changes. */
export function layoutKey(places: Map<string, Point>, relations: Relation[]): string {
  const boxes = [...places.entries()].map(([t, p]) => `${t}@${Math.round(p.x)},${Math.round(p.y)}`).sort();
  const edges = relations.map((r) => `${r.from}>${r.to}`).sort();
  return `${boxes.join("|")}#${edges.join("|")}`;
}

/** What the grouping needs of an instance (the API's InstanceOut has more). */
export interface RouteInstance {
  id: string;
  status: string;
  params: Record<string, string>;
  parents: string[];
}

export interface RouteTask<I extends RouteInstance = RouteInstance> {
  title: string;
  instances: I[];
}

/** One step of a route: a parent instance, named as the Instances table names it. */
export interface RouteStep {
  id: string;
  label: string;
}

export interface RouteGroup<I extends RouteInstance = RouteInstance> {
  /** The ids of every ancestor instance, sorted; empty for a task without parents. */
  key: string;
  /** The ancestors from the flow's start down, e.g. [Prepare #1, Train #2 (lr=0.5)]. */
  route: RouteStep[];
  instances: { instance: I; n: number }[];
}

/** "Train (lr=0.5)", or "Train #2" (its place in the task, from 1) when it has no params. */
export function instanceLabel(task: string, n: number, count: number, params: Record<string, string>): string {
  const pairs = Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  if (pairs) return `${task} (${pairs})`;
  return count > 1 ? `${task} #${n + 1}` : task;
}

const byText = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/**
 * A task's instances grouped by flow route: instances that share every ancestor instance ran
 * on the same route (a grid of the task itself splits one route into several instances; each
 * instance of a parent starts a route of its own). The API's order of instances is no order, so
 * routes are sorted by their steps' labels and instances by theirs; steps come in the flow's
 * task order.
 */
export function routesOf<I extends RouteInstance>(tasks: RouteTask<I>[], title: string): RouteGroup<I>[] {
  const where = new Map<string, { task: number; n: number; label: string; parents: string[] }>();
  tasks.forEach((t, ti) =>
    t.instances.forEach((i, n) =>
      where.set(i.id, { task: ti, n, label: instanceLabel(t.title, n, t.instances.length, i.params), parents: i.parents }),
    ),
  );
  const ancestors = (id: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(where.get(id)?.parents ?? [])];
    while (stack.length) {
      const next = stack.pop() as string;
      if (seen.has(next) || !where.has(next)) continue;
      seen.add(next);
      stack.push(...(where.get(next)?.parents ?? []));
    }
    return seen;
  };
  const task = tasks.find((t) => t.title === title);
  const groups = new Map<string, RouteGroup<I>>();
  task?.instances.forEach((instance, n) => {
    const ids = [...ancestors(instance.id)];
    const key = [...ids].sort().join(",");
    let group = groups.get(key);
    if (!group) {
      const order = (id: string) => where.get(id) ?? { task: 0, n: 0, label: id };
      const route = ids
        .sort((a, b) => order(a).task - order(b).task || order(a).n - order(b).n)
        .map((id) => ({ id, label: order(id).label }));
      group = { key, route, instances: [] };
      groups.set(key, group);
    }
    group.instances.push({ instance, n });
  });
  const label = (i: { instance: I; n: number }) => instanceLabel(title, i.n, task?.instances.length ?? 0, i.instance.params);
  for (const g of groups.values()) g.instances.sort((a, b) => byText(label(a), label(b)));
  const routeText = (g: RouteGroup<I>) => g.route.map((s) => s.label).join("\n");
  return [...groups.values()].sort((a, b) => byText(routeText(a), routeText(b)));
}
