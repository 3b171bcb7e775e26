import { useEffect, useState } from "react";
import { api, ApiError, setUnauthenticatedHandler, tokenStore, type Schemas } from "./api/client";
import { Header } from "./components/Header";
import { ErrorNote, Loading } from "./components/common";
import { match, navigate, useLocation } from "./lib/router";
import { safeNext } from "./lib/workspaces";
import { Login } from "./pages/Login";
import { Monitoring } from "./pages/Monitoring";
import { ProjectPages } from "./pages/ProjectPages";
import { Projects } from "./pages/Projects";

export type User = Schemas["UserOut"];

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  const { path, query } = useLocation();
  // the workspace proxy sends a logged-out browser to /login?next=/workspaces/<id>/...
  const next = path === "/login" ? safeNext(query.get("next")) : null;

  useEffect(() => {
    setUnauthenticatedHandler(() => setUser(null));
    api("whoami").then(setUser, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) setUser(null);
      else setError(err);
    });
  }, []);

  if (error) return <ErrorNote error={error} />;
  if (user === undefined) return <Loading what="Headwater" />;
  if (user === null) {
    return (
      <Login
        next={next}
        onLogin={(u) => {
          if (next && followsNext()) {
            window.location.assign(next); // a page outside this app (a workspace): a full load
            return;
          }
          setUser(u);
          if (path === "/login") navigate("/", { replace: true });
        }}
      />
    );
  }
  if (next && followsNext()) {
    window.location.replace(next); // already logged in: straight on
    return <Loading what={next} />;
  }
  const logout = async () => {
    try {
      await api("logout");
    } finally {
      tokenStore.set(null);
      setUser(null);
      navigate("/login");
    }
  };
  const project = match("/projects/:pid/*", path) ?? prefix(path);
  return (
    <>
      <Header user={user} projectId={project?.pid} onLogout={logout} />
      <main id="main">
        <Route path={path} user={user} />
      </main>
    </>
  );
}

/**
 * `?next=` is followed only with the session cookie: the workspace proxy reads that cookie, not
 * an API token kept in this browser, so following it then would land back on the login page.
 */
function followsNext(): boolean {
  return tokenStore.get() === null;
}

/** `{pid}` of any /projects/:pid/... path. */
function prefix(path: string): { pid: string } | null {
  const m = /^\/projects\/([^/]+)/.exec(path);
  return m ? { pid: decodeURIComponent(m[1]) } : null;
}

function Route({ path, user }: { path: string; user: User }) {
  if (path === "/" || path === "/projects" || path === "/login") return <Projects user={user} />;
  if (path === "/monitoring") return <Monitoring />;
  const p = prefix(path);
  if (p) return <ProjectPages projectId={p.pid} path={path} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>There is no page at {path}.</p>
    </section>
  );
}
