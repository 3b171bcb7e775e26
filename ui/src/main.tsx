import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { prefetch } from "./api/client";
import { App } from "./App";
import { fromQuery, serverQuery } from "./lib/paging";
import "./styles.css";

/** The calls the first screen makes, started together (see `prefetch`). */
function prefetchFirstScreen(location: Location): void {
  prefetch("whoami");
  const m = /^\/projects\/([^/]+)(\/[^/]*)?$/.exec(location.pathname);
  if (!m) return;
  const project_id = decodeURIComponent(m[1]);
  prefetch("get_project", { path: { project_id } });
  if (m[2] === "/experiments") {
    const query = serverQuery(fromQuery(new URLSearchParams(location.search)));
    prefetch("list_experiments", { path: { project_id }, query });
  }
}

prefetchFirstScreen(window.location);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
