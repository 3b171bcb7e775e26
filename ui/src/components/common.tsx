import { type ReactNode, useEffect, useState } from "react";
import { ApiError } from "../api/client";
import { nameOf } from "../lib/people";
import { navigate } from "../lib/router";
import { uiHint } from "../lib/uiHint";

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
  const hint = uiHint(api?.hint); // the API's hints name CLI commands; say the UI's way instead
  return (
    <div role="alert" className="error">
      <strong>{message}</strong>
      {api?.where ? <span> ({api.where})</span> : null}
      {hint ? <div className="hint">{hint}</div> : null}
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

export function KeyValues({ values, empty }: { values: Record<string, ReactNode>; empty: string }) {
  const keys = Object.keys(values).sort();
  if (keys.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="kv">
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof values[k] === "object" ? values[k] : String(values[k])}</td>
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

/** A user's name where the API gives their id ("created by"); the id's start until it is known. */
export function UserName({ project, id }: { project: string; id: string }) {
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void nameOf(project, id).then((n) => {
      if (live) setName(n);
    });
    return () => {
      live = false;
    };
  }, [project, id]);
  return (
    <span className="user-name" title={id}>
      {name ?? id.slice(0, 8)}
    </span>
  );
}
