import { api, type Schemas } from "../../api/client";
import { useData } from "../../lib/useData";

type Commit = Schemas["CommitOut"];
const BRANCHES = 100; // the most recent experiment branches a menu offers

export function short(id: string): string {
  return id.slice(0, 10);
}

export function commitLabel(c: Commit): string {
  return `${short(c.id)} ${c.message || "(no message)"} — ${new Date(c.created_at).toLocaleString()}`;
}

/** The versions a menu offers: master's commits, newest first, and the experiments' branches
 * (each one's outputs; its value is the branch name, which the API reads as its head). */
export function useVersions(projectId: string) {
  const commits = useData(() => api("files_list_commits", { path: { project_id: projectId } }), [projectId]);
  const branches = useData(
    () =>
      api("files_list_branches", {
        path: { project_id: projectId },
        query: { prefix: "experiments/", limit: BRANCHES },
      }),
    [projectId],
  );
  return { commits, branches: branches.data ?? [] };
}

/** A version menu: master's commits, then a group of experiment branches. */
export function VersionSelect({
  label,
  value,
  commits,
  branches,
  onChange,
}: {
  label: string;
  value: string;
  commits: Commit[];
  branches: Schemas["BranchOut"][];
  onChange: (v: string) => void;
}) {
  const known = commits.some((c) => c.id === value) || branches.some((b) => b.name === value);
  return (
    <label>
      {label}{" "}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {!known && value ? <option value={value}>{short(value)}</option> : null}
        <optgroup label="master">
          {commits.map((c) => (
            <option key={c.id} value={c.id}>
              {commitLabel(c)}
            </option>
          ))}
        </optgroup>
        {branches.length ? (
          <optgroup label="Experiment branches">
            {branches.map((b) => (
              <option key={b.name} value={b.name}>
                {b.name} · {short(b.head.id)} {b.head.message}
              </option>
            ))}
          </optgroup>
        ) : null}
      </select>
    </label>
  );
}
