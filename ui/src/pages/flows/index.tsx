// The flows part of a project, loaded on demand (React Flow stays out of the first page's
// script): /flows (list and import), /flows/new and /flows/edit/NAME (the canvas), /bakes (runs)
// and /bakes/NUMBER (one run).
import "@xyflow/react/dist/style.css";
import "./flows.css";
import type { Project } from "../../lib/access";
import { match } from "../../lib/router";
import { Bakes } from "./Bakes";
import { FlowEditor } from "./FlowEditor";
import { FlowList } from "./FlowList";
import { RunView } from "./RunView";

/** `rest` is the path below the project: "/flows", "/flows/edit/Iris", "/bakes/3", ... */
export default function FlowPages({ project, rest }: { project: Project; rest: string }) {
  if (rest === "/flows") return <FlowList project={project} />;
  if (rest === "/flows/new") return <FlowEditor project={project} name={null} />;
  const edit = match("/flows/edit/:name", rest);
  if (edit) return <FlowEditor project={project} name={edit.name} />;
  if (rest === "/bakes") return <Bakes project={project} />;
  const run = match("/bakes/:num", rest);
  if (run) return <RunView project={project} runRef={run.num} />;
  return <p>There is no page at {rest}.</p>;
}
