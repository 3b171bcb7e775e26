// The experiments table's state, kept in the URL so a page can be linked and reloaded.
// The server pages, sorts and filters (ties by number, so pages never overlap).

export type SortOrder = "desc" | "asc";
// A built-in column or any param, tag or metric column (`metrics.loss.min`): the server reads it.
export type SortKey = string;
const MAX_SORT = 300;
const MAX_FILTER = 1000;

export interface TableState {
  page: number; // from 0
  size: number;
  sort: SortKey;
  order: SortOrder;
  state: string; // "" for any
  ended: "" | "true" | "false";
  first: number | null;
  last: number | null;
  title: string;
  filter: string; // the filter expression, e.g. `lr > 0.1 and accuracy >= 0.9`
}

export const PAGE_SIZES = [25, 50, 100] as const;

export const DEFAULT_STATE: TableState = {
  page: 0,
  size: 25,
  sort: "number",
  order: "desc",
  state: "",
  ended: "",
  first: null,
  last: null,
  title: "",
  filter: "",
};

function positiveInt(value: string | null): number | null {
  if (value === null || value.trim() === "") return null;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : null;
}

export function fromQuery(query: URLSearchParams): TableState {
  const size = Number(query.get("size"));
  const ended = query.get("ended");
  const sort = query.get("sort");
  return {
    page: Math.max(0, (positiveInt(query.get("page")) ?? 1) - 1),
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_STATE.size,
    sort: sort && sort.length <= MAX_SORT ? sort : DEFAULT_STATE.sort,
    order: query.get("order") === "asc" ? "asc" : "desc",
    state: query.get("state") ?? "",
    ended: ended === "true" || ended === "false" ? ended : "",
    first: positiveInt(query.get("first")),
    last: positiveInt(query.get("last")),
    title: query.get("title") ?? "",
    filter: (query.get("filter") ?? "").slice(0, MAX_FILTER),
  };
}

/** The query string for `state`, leaving out defaults (page is 1-based there). */
export function toQuery(state: TableState): string {
  const q = new URLSearchParams();
  if (state.page > 0) q.set("page", String(state.page + 1));
  if (state.size !== DEFAULT_STATE.size) q.set("size", String(state.size));
  if (state.sort !== DEFAULT_STATE.sort) q.set("sort", state.sort);
  if (state.order !== "desc") q.set("order", state.order);
  if (state.state) q.set("state", state.state);
  if (state.ended) q.set("ended", state.ended);
  if (state.first !== null) q.set("first", String(state.first));
  if (state.last !== null) q.set("last", String(state.last));
  if (state.title) q.set("title", state.title);
  if (state.filter) q.set("filter", state.filter);
  return q.toString();
}

/** A change of filter or page size starts again at the first page. */
export function withFilter(state: TableState, change: Partial<TableState>): TableState {
  return { ...state, ...change, page: 0 };
}

export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/** A click on a column's header: sort by it, highest first; a second click turns it round. */
export function sortedBy(state: TableState, sort: SortKey): TableState {
  const order = state.sort === sort && state.order === "desc" ? "asc" : "desc";
  return { ...state, sort, order, page: 0 };
}

/** The list call's query for `state`: its filters, order and window. */
export function serverQuery(state: TableState): Record<string, string | number | boolean> {
  return {
    ...filterQuery(state),
    sort: state.sort,
    desc: state.order === "desc",
    offset: state.page * state.size,
    limit: state.size,
  };
}

/** The server's query parameters for the filters of `state`. */
export function filterQuery(state: TableState): Record<string, string | number | boolean> {
  const q: Record<string, string | number | boolean> = {};
  if (state.state) q.state = state.state;
  if (state.ended) q.ended = state.ended === "true";
  if (state.first !== null) q.first = state.first;
  if (state.last !== null) q.last = state.last;
  if (state.title) q.title = state.title;
  if (state.filter.trim()) q.filter = state.filter;
  return q;
}

/** "26–50 of 120" */
export function rangeLabel(state: TableState, total: number): string {
  if (total === 0) return "0 of 0";
  const from = state.page * state.size + 1;
  const to = Math.min(total, from + state.size - 1);
  return `${from}–${to} of ${total}`;
}
