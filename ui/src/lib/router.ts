// A router of a few lines: history API, a subscribe hook, and route patterns like
// "/projects/:pid/experiments/:num". Enough for this app, and no dependency.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

// A page with unsaved work registers a guard: each in-app navigation (a link, the header's
// menu, Back) asks it first, and the browser asks before the tab closes or reloads.
type Guard = () => boolean;
const guards = new Set<Guard>();
let shown = location.pathname + location.search;

/** While `isDirty()` holds, leaving asks `question` first. Returns the function that removes it. */
export function guardLeaving(isDirty: () => boolean, question: string): () => void {
  const guard: Guard = () => !isDirty() || window.confirm(question);
  const onUnload = (e: BeforeUnloadEvent) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = ""; // older browsers ask only when this is set
  };
  guards.add(guard);
  window.addEventListener("beforeunload", onUnload);
  return () => {
    guards.delete(guard);
    window.removeEventListener("beforeunload", onUnload);
  };
}

/** Whether every guard lets the page go. */
function mayLeave(): boolean {
  for (const guard of guards) if (!guard()) return false;
  return true;
}

window.addEventListener("popstate", () => {
  // Back or Forward already moved the address: a refusal puts it back
  if (!mayLeave()) {
    history.pushState(null, "", shown);
    return;
  }
  shown = location.pathname + location.search;
  notify();
});

export function navigate(to: string, options: { replace?: boolean; force?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (!options.force && !mayLeave()) return;
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  shown = location.pathname + location.search;
  notify();
  window.scrollTo(0, 0);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const snapshot = (): string => location.pathname + location.search;

/** The current path and query string; re-renders on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const [path, search = ""] = href.split("?", 2);
  return { path, query: new URLSearchParams(search) };
}

/** The parameters of `pattern` in `path`, or null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return null;
  }
  return params;
}
