import { useEffect, useState } from "react";
import { api, ApiError, setUnauthenticatedHandler, tokenStore, type Schemas } from "./api/client";
import { Header } from "./components/Header";
import { ErrorNote, Loading } from "./components/common";
import { match, navigate, useLocation } from "./lib/router";
import { Login } from "./pages/Login";
import { Monitoring } from "./pages/Monitoring";
import { ProjectPages } from "./pages/ProjectPages";
import { Projects } from "./pages/Projects";

export type User = Schemas["UserOut"];

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  const { path } = useLocation();

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
        onLogin={(u) => {
          setUser(u);
          if (path === "/login") navigate("/", { replace: true });
        }}
      />
    );
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
