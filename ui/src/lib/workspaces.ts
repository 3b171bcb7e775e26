// The Workspaces page's rules without React: who may open one, when the culler will stop it
// (and why then), the start form's body, the login page's safe `?next=`, and an experiment's
// TensorBoard link.
import type { Schemas } from "../api/client";
import type { Project } from "./access";

export type Workspace = Schemas["WorkspaceOut"];
export type WorkspaceStart = Schemas["WorkspaceStart"];

/** Starting, saving, stopping and opening need all access to jobs AND to files (the server's rule). */
export const canUseWorkspaces = (p: Project): boolean => p.access.jobs === "all" && p.access.files === "all";

export const isActive = (w: Workspace): boolean => w.state === "starting" || w.state === "running";

/**
 * Where an experiment page's "Open TensorBoard" goes: the board's proxy url once it runs, and
 * only for a member the proxy lets in (all access to files and jobs); else null (no link).
 */
export function tensorboardUrl(p: Project, board: Workspace | null | undefined): string | null {
  if (!board || board.kind !== "tensorboard" || board.state !== "running") return null;
  return canUseWorkspaces(p) ? board.url : null;
}

/**
 * "in 58m (idle 1h)" or "in 6d 23h (max age 7d)": when the culler stops it if left alone, and
 * which limit that is (the sooner of last activity + idle time and start + maximum age).
 */
export function cullText(w: Workspace, now: Date = new Date()): string {
  if (!w.culls_at) return "–";
  const at = new Date(w.culls_at).getTime();
  const byAge = new Date(w.created_at).getTime() + w.max_age_seconds * 1000;
  const why = Math.abs(at - byAge) < 1000 ? `max age ${span(w.max_age_seconds)}` : `idle ${span(w.idle_seconds)}`;
  const left = Math.round((at - now.getTime()) / 1000);
  return left > 0 ? `in ${span(left)} (${why})` : `due now (${why})`;
}

/** 45s, 12m, 1h 30m, 6d 23h: the two largest units. */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const units: [string, number][] = [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 && parts.length < 2) parts.push(`${n}${name}`);
    else if (parts.length > 0) break;
  }
  return parts.length ? parts.join(" ") : "0s";
}

/** The start request from the form's fields: blanks are left to the server's defaults. */
export function startBody(form: { name: string; compute: string; datasets: string; version: string }): WorkspaceStart {
  const body: WorkspaceStart = {};
  if (form.name.trim()) body.name = form.name.trim();
  if (form.compute.trim()) body.compute = form.compute.trim();
  const datasets = form.datasets
    .split(/[\s,]+/)
    .map((d) => d.trim())
    .filter(Boolean);
  if (datasets.length) body.datasets = datasets;
  if (form.version.trim()) body.commit = form.version.trim();
  return body;
}

/**
 * The `?next=` the login page may go to: a path on this origin only ("/workspaces/…"), never
 * "//evil.example", "/\evil", "https://…" or "javascript:…" (an open redirect), else null.
 */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return null;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
  if (/[\u0000-\u001f\\]/.test(next)) return null;
  try {
    const base = "http://headwater.invalid";
    const url = new URL(next, base);
    if (url.origin !== base) return null;
    return url.pathname + url.search + url.hash;
  } catch {
    return null;
  }
}
