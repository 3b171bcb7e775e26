import { lazy, Suspense } from "react";
import { api } from "../api/client";
import { ErrorNote, Link, Loading } from "../components/common";
import type { Project } from "../lib/access";
import { match } from "../lib/router";
import { useData } from "../lib/useData";
import { Compare } from "./Compare";
import { Dashboard } from "./Dashboard";
import { Endpoints } from "./Endpoints";
import { EndpointPage } from "./endpoint/EndpointPage";
import { ExperimentPage } from "./Experiment";
import { Datasets, Models } from "./Collections";
import { Experiments } from "./Experiments";
import { Files, FilesDiff } from "./Files";
import { LiveJobs } from "./LiveJobs";
import { Settings } from "./Settings";
import { Workspaces } from "./Workspaces";

// The flows pages carry React Flow: loaded when first opened.
const FlowPages = lazy(() => import("./flows"));

const SECTIONS = [
  { id: "", label: "Dashboard" },
  { id: "experiments", label: "Experiments" },
  { id: "files", label: "Files" },
  { id: "datasets", label: "Datasets" },
  { id: "models", label: "Models" },
  { id: "live", label: "Live jobs" },
  { id: "workspaces", label: "Workspaces" },
  { id: "endpoints", label: "Endpoints" },
  { id: "flows", label: "Flows" },
  { id: "bakes", label: "Bakes" },
  { id: "settings", label: "Settings" },
];

/** Every page inside one project: its name, the section links, and the section. */
export function ProjectPages({ projectId, path }: { projectId: string; path: string }) {
  const project = useData(() => api("get_project", { path: { project_id: projectId } }), [projectId]);
  if (project.error) return <ErrorNote error={project.error} />;
  if (!project.data) return <Loading what="the project" />;
  const p = project.data;
  const base = `/projects/${p.id}`;
  const section = path.slice(base.length + 1).split("/")[0] ?? "";
  return (
    <>
      <div className="project-head">
        <h1>{p.name}</h1>
        {p.description ? <p className="muted">{p.description}</p> : null}
        <nav aria-label="Project" className="subnav">
          {SECTIONS.map((s) => (
            <Link key={s.id} to={s.id ? `${base}/${s.id}` : base} ariaCurrent={section === s.id}>
              {s.label}
            </Link>
          ))}
        </nav>
      </div>
      <Section project={p} path={path} base={base} />
    </>
  );
}

function Section({ project, path, base }: { project: Project; path: string; base: string }) {
  const rest = path.slice(base.length) || "/";
  if (rest === "/") return <Dashboard project={project} />;
  if (rest === "/experiments") return <Experiments project={project} />;
  if (rest === "/compare") return <Compare project={project} />;
  if (rest === "/files") return <Files project={project} />;
  if (rest === "/files/diff") return <FilesDiff project={project} />;
  if (rest === "/datasets") return <Datasets project={project} />;
  if (rest === "/models") return <Models project={project} />;
  if (rest === "/live") return <LiveJobs project={project} />;
  if (rest === "/workspaces") return <Workspaces project={project} />;
  if (rest === "/endpoints") return <Endpoints project={project} />;
  const endpoint = match("/endpoints/:ref", rest);
  if (endpoint) return <EndpointPage project={project} refName={endpoint.ref} />;
  const exp = match("/experiments/:num", rest);
  if (exp) return <ExperimentPage project={project} number={exp.num} />;
  if (/^\/(flows|bakes)(\/|$)/.test(rest)) {
    return (
      <Suspense fallback={<Loading what="the flows pages" />}>
        <FlowPages project={project} rest={rest} />
      </Suspense>
    );
  }
  const settings = match("/settings/:tab", rest);
  if (rest === "/settings" || settings) return <Settings project={project} tab={settings?.tab ?? "general"} />;
  return <p>There is no page at {path}.</p>;
}
