// The one fetch wrapper: every call names an operation id from the generated OpenAPI types, so a
// renamed route or a changed model fails the type check instead of the page.
import { OPERATIONS } from "./operations";
import type { components, operations } from "./schema";

export type Schemas = components["schemas"];
export type Op = keyof operations & keyof typeof OPERATIONS;
type Params<O extends Op> = operations[O]["parameters"];
type PathOf<O extends Op> = Params<O> extends { path: infer P } ? P : never;
type QueryOf<O extends Op> = Params<O> extends { query?: infer Q } ? Q : never;
type BodyOf<O extends Op> = operations[O] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : never;
type JsonOf<R> = R extends { content: { "application/json": infer J } } ? J : void;
type Responses<O extends Op> = operations[O]["responses"];
export type Result<O extends Op> =
  200 extends keyof Responses<O>
    ? JsonOf<Responses<O>[200]>
    : 201 extends keyof Responses<O>
      ? JsonOf<Responses<O>[201]>
      : void;

export interface Args<O extends Op> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
}

/** The API's error body `{error, detail, where, hint}`, as an exception. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly where: string | null = null,
    readonly hint: string | null = null,
  ) {
    super(detail);
  }
}

const TOKEN_KEY = "headwater.token";

/** An API token given at login (the password login uses the session cookie instead). */
export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string | null): void => {
    early.clear(); // answers fetched as someone else
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** `/api/v1/projects/{project_id}` with its parameters filled in, plus the query string (a
 * list repeats its parameter). */
export function buildUrl(
  template: string,
  path: Record<string, unknown> = {},
  query: Record<string, unknown> = {},
): string {
  const filled = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = path[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    // a list is the parameter repeated (`status=running&status=degraded`), as FastAPI reads it
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null || item === "") continue;
      search.append(key, String(item));
    }
  }
  const qs = search.toString();
  return qs ? `${filled}?${qs}` : filled;
}

let onUnauthenticated: (() => void) | null = null;
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

/** The headers every call sends: what it accepts, and the token of a token login. */
function baseHeaders(accept: string): Record<string, string> {
  const headers: Record<string, string> = { Accept: accept };
  const token = tokenStore.get();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** A file's bytes (an image, say) as the caller is logged in: an `<img src>` would carry the
 * session cookie but not a token, so token logins fetch and show an object URL instead. */
export async function fetchBlob(url: string): Promise<Blob> {
  const response = await fetch(url, { headers: baseHeaders("*/*"), credentials: "same-origin" });
  if (!response.ok) {
    if (response.status === 401 && onUnauthenticated) onUnauthenticated();
    throw new ApiError(response.status, response.statusText || `HTTP ${response.status}`);
  }
  return response.blob();
}

function urlOf<O extends Op>(op: O, args: Args<O>): string {
  return buildUrl(
    OPERATIONS[op][1],
    args.path as Record<string, unknown> | undefined,
    args.query as Record<string, unknown> | undefined,
  );
}

// GETs started before the first render, each taken once by the first api() call of its URL.
const early = new Map<string, { at: number; response: Promise<Response> }>();
const EARLY_MS = 10_000;

/**
 * Start a GET the first screen will make, before React renders: the login check, the project and
 * the page's list would otherwise wait on each other in turn. The page's own call takes the
 * answer; one nobody takes within a few seconds is dropped.
 */
export function prefetch<O extends Op>(op: O, args: Args<O> = {}): void {
  if (OPERATIONS[op][0] !== "GET") return;
  const url = urlOf(op, args);
  const response = fetch(url, { headers: baseHeaders("application/json"), credentials: "same-origin" });
  response.catch(() => undefined); // a failure is the taker's to see
  early.set(url, { at: Date.now(), response });
}

export async function api<O extends Op>(op: O, args: Args<O> = {}): Promise<Result<O>> {
  const method = OPERATIONS[op][0];
  const url = urlOf(op, args);
  const headers = baseHeaders("application/json");
  let body: string | undefined;
  if (args.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(args.body);
  }
  const started = method === "GET" ? early.get(url) : undefined;
  if (method === "GET") early.delete(url);
  else early.clear(); // a login or a change: what was fetched early may be stale
  const response =
    started && Date.now() - started.at < EARLY_MS
      ? await started.response
      : await fetch(url, { method, headers, body, credentials: "same-origin" });
  if (!response.ok) {
    let detail = response.statusText || `HTTP ${response.status}`;
    let where: string | null = null;
    let hint: string | null = null;
    try {
      const data = (await response.json()) as { detail?: unknown; where?: string; hint?: string };
      if (typeof data.detail === "string") detail = data.detail;
      where = data.where ?? null;
      hint = data.hint ?? null;
    } catch {
      // not JSON: keep the status text
    }
    if (response.status === 401 && onUnauthenticated) onUnauthenticated();
    throw new ApiError(response.status, detail, where, hint);
  }
  if (response.status === 204) return undefined as Result<O>;
  return (await response.json()) as Result<O>;
}

/** An answer shown whatever its status (the try-it box): the status, the body as text, the
 * request id the server gave it, and how long it took as the browser saw it. */
export interface Sent {
  status: number;
  text: string;
  requestId: string | null;
  ms: number;
}

/** POST `body` (already JSON) to `url` as the caller is logged in, and keep any answer. */
export async function send(url: string, body: string): Promise<Sent> {
  const headers = { ...baseHeaders("application/json"), "Content-Type": "application/json" };
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers, body, credentials: "same-origin" });
  const text = await response.text();
  if (response.status === 401 && onUnauthenticated) onUnauthenticated();
  return {
    status: response.status,
    text,
    requestId: response.headers.get("X-Request-Id"),
    ms: performance.now() - started,
  };
}

/** PUT a file's bytes to `url` as the caller is logged in, streamed from the Blob (never held
 * as a string); an error answer becomes an ApiError, as from api(). */
export async function putBlob(url: string, blob: Blob): Promise<void> {
  const headers = { ...baseHeaders("application/json"), "Content-Type": "application/octet-stream" };
  const response = await fetch(url, { method: "PUT", headers, body: blob, credentials: "same-origin" });
  if (response.ok) return;
  if (response.status === 401 && onUnauthenticated) onUnauthenticated();
  let data: { detail?: unknown; where?: string; hint?: string } = {};
  try {
    data = (await response.json()) as typeof data;
  } catch {
    // not JSON: the status text says it
  }
  const detail = typeof data.detail === "string" ? data.detail : response.statusText || `HTTP ${response.status}`;
  throw new ApiError(response.status, detail, data.where ?? null, data.hint ?? null);
}
