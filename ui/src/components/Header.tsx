import { useEffect, useState } from "react";
import { api, type Schemas } from "../api/client";
import { navigate } from "../lib/router";
import { Link } from "./common";

const ACTIVE_KEY = "headwater.activeProject";

/** The active project: the one in the URL, else the last one chosen here. */
export function activeProject(): string | null {
  return localStorage.getItem(ACTIVE_KEY);
}

export function Header(props: { user: Schemas["UserOut"]; projectId?: string; onLogout: () => void }) {
  const [projects, setProjects] = useState<Schemas["ProjectOut"][]>([]);
  const current = props.projectId ?? activeProject() ?? "";

  useEffect(() => {
    if (props.projectId) localStorage.setItem(ACTIVE_KEY, props.projectId);
  }, [props.projectId]);
  useEffect(() => {
    // The switcher's list (the slowest call of a first load) waits until the page's own calls
    // are done with the browser and the server: nothing on screen waits for it.
    let cancelled = false;
    const load = () =>
      api("list_projects", { query: { limit: 200 } }).then(
        (page) => cancelled || setProjects(page.items),
        () => cancelled || setProjects([]),
      );
    const idle = window.requestIdleCallback?.(load, { timeout: 1500 }) ?? window.setTimeout(load, 300);
    return () => {
      cancelled = true;
      if (window.cancelIdleCallback) window.cancelIdleCallback(idle);
      else window.clearTimeout(idle);
    };
  }, [props.projectId]);

  return (
    <header className="top">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Link to="/" className="brand">
        Headwater
      </Link>
      <label className="switcher">
        <span>Active project</span>
        <select
          value={projects.some((p) => p.id === current) ? current : ""}
          onChange={(e) => {
            if (e.target.value) navigate(`/projects/${e.target.value}`);
          }}
        >
          <option value="">Choose a project…</option>
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <nav aria-label="Main">
        <Link to="/">Projects</Link>
        <Link to="/monitoring">Monitoring</Link>
      </nav>
      <span className="user">
        {props.user.username}
        <button type="button" className="link" onClick={props.onLogout}>
          Log out
        </button>
      </span>
    </header>
  );
}
