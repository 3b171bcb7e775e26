import type { ReactNode } from "react";
import { ApiError } from "../api/client";
import { navigate } from "../lib/router";

export function Link(props: { to: string; children: ReactNode; className?: string; ariaCurrent?: boolean }) {
  return (
    <a
      href={props.to}
      className={props.className}
      aria-current={props.ariaCurrent ? "page" : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="error">
      <strong>{message}</strong>
      {api?.where ? <span> ({api.where})</span> : null}
      {api?.hint ? <div className="hint">{api.hint}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state.replace("_", " ")}</span>;
}

export function KeyValues({ values, empty }: { values: Record<string, string | number>; empty: string }) {
  const keys = Object.keys(values).sort();
  if (keys.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="kv">
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{String(values[k])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Previous/next over a server-paged list: `page` counts from 0; hidden when one page holds all. */
export function Pager(props: {
  page: number;
  size: number;
  total: number;
  onGo: (page: number) => void;
  labels?: [string, string];
}) {
  const { page, size, total, onGo } = props;
  const [back, next] = props.labels ?? ["Previous", "Next"];
  if (total <= size) return null;
  return (
    <div className="pager">
      <button type="button" disabled={page === 0} onClick={() => onGo(page - 1)}>
        {back}
      </button>
      <span>
        {page * size + 1}–{Math.min(total, (page + 1) * size)} of {total}
      </span>
      <button type="button" disabled={(page + 1) * size >= total} onClick={() => onGo(page + 1)}>
        {next}
      </button>
    </div>
  );
}
