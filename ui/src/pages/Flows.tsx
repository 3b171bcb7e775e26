import type { Project } from "../lib/access";

/**
 * The flows canvas goes here (React Flow, `@xyflow/react`): drag data, custom and deploy tasks
 * in, connect them, edit a task in a popup (Params, Conditions, Advanced, YAML), Save makes a
 * version, Play runs it; a run view coloured by status. It lands with the flows API; see
 * ui/README.md.
 */
export function Flows({ project }: { project: Project }) {
  return (
    <section aria-labelledby="flows-title">
      <h2 id="flows-title">Flows</h2>
      <p className="muted">
        The flow canvas is not in this build yet. Meanwhile, import and run flows of project {project.name} with{" "}
        <code>hw flow import --file flow.yaml</code> and <code>hw flow run NAME</code>.
      </p>
    </section>
  );
}
