// The experiments table's chosen columns: any param, tag or metric (its latest, lowest or
// highest value), remembered per project in localStorage. A column's name is the one the
// server's filter and sort language reads (`params.lr`, `metrics.loss.min`), so a header click
// sorts by it on the server.

import type { Schemas } from "../api/client";

export type ColumnKind = "params" | "tags" | "metrics";
export type Agg = "latest" | "min" | "max";
export const AGGS: readonly Agg[] = ["latest", "min", "max"];

export interface ColumnChoice {
  kind: ColumnKind;
  key: string;
  agg?: Agg; // metrics only; latest when left out
}

type Exp = Schemas["ExperimentOut"];

const PLAIN = /^[A-Za-z0-9_\-/]+$/;
const KEYWORDS = new Set(["and", "or", "not"]);
const MAX_SAVED = 30;

/** `params.lr`, `metrics.loss.min`, metrics.`val acc` for a key that needs quoting. */
export function columnName(c: ColumnChoice): string {
  const key =
    PLAIN.test(c.key) && !KEYWORDS.has(c.key.toLowerCase())
      ? c.key
      : "`" + c.key.replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
  const agg = c.kind === "metrics" && c.agg && c.agg !== "latest" ? `.${c.agg}` : "";
  return `${c.kind}.${key}${agg}`;
}

/** The header's text: `lr`, `loss (min)`, `stage (tag)`. */
export function columnLabel(c: ColumnChoice): string {
  if (c.kind === "metrics") return c.agg && c.agg !== "latest" ? `${c.key} (${c.agg})` : c.key;
  return c.kind === "tags" ? `${c.key} (tag)` : c.key;
}

/** The cell's text for one experiment: a param's logged value wins over its start value. */
export function cellValue(e: Exp, c: ColumnChoice): string {
  if (c.kind === "params") return e.logged_params?.[c.key] ?? e.params[c.key] ?? "";
  if (c.kind === "tags") return e.tags?.[c.key] ?? "";
  const summary = e.metrics?.[c.key];
  if (!summary) return "";
  return formatNumber(summary[c.agg ?? "latest"]);
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(5)).toString();
}

export function sameColumn(a: ColumnChoice, b: ColumnChoice): boolean {
  return a.kind === b.kind && a.key === b.key && (a.agg ?? "latest") === (b.agg ?? "latest");
}

/** Add `c`, or take it away when it is there. */
export function toggled(columns: ColumnChoice[], c: ColumnChoice): ColumnChoice[] {
  return columns.some((x) => sameColumn(x, c))
    ? columns.filter((x) => !sameColumn(x, c))
    : [...columns, c].slice(0, MAX_SAVED);
}

export function storageKey(projectId: string): string {
  return `headwater.columns.${projectId}`;
}

/** The project's saved columns; anything unreadable is ignored. */
export function parseSaved(text: string | null): ColumnChoice[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter(isChoice).slice(0, MAX_SAVED);
  } catch {
    return [];
  }
}

function isChoice(v: unknown): v is ColumnChoice {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  const kindOk = c.kind === "params" || c.kind === "tags" || c.kind === "metrics";
  const aggOk = c.agg === undefined || AGGS.includes(c.agg as Agg);
  return kindOk && typeof c.key === "string" && c.key.length > 0 && aggOk;
}

export function loadColumns(projectId: string): ColumnChoice[] {
  try {
    return parseSaved(localStorage.getItem(storageKey(projectId)));
  } catch {
    return [];
  }
}

export function saveColumns(projectId: string, columns: ColumnChoice[]): void {
  try {
    localStorage.setItem(storageKey(projectId), JSON.stringify(columns));
  } catch {
    // storage full or refused: the choice lasts for this page only
  }
}
