import { useState, type FormEvent } from "react";
import { cellValue, columnLabel, columnName, loadColumns, saveColumns, type ColumnChoice } from "../lib/columns";
import { ColumnPicker } from "./experiments/ColumnPicker";
import { api, type Schemas } from "../api/client";
import { ErrorNote, Link, Loading, StateBadge } from "../components/common";
import { canRunJobs, type Project } from "../lib/access";
import { duration, formatTime } from "../lib/format";
import {
  PAGE_SIZES,
  fromQuery,
  pageCount,
  rangeLabel,
  serverQuery,
  sortedBy,
  toQuery,
  withFilter,
  type TableState,
} from "../lib/paging";
import { navigate, useLocation } from "../lib/router";
import { grid } from "../lib/grid";
import { useData } from "../lib/useData";

const STATES = ["pending_approval", "queued", "initializing", "running", "success", "failed", "aborted"];
type Exp = Schemas["ExperimentOut"];

export function Experiments({ project }: { project: Project }) {
  const { query } = useLocation();
  const state = fromQuery(query);
  const key = toQuery(state);
  const pid = project.id;
  const data = useData(
    () => api("list_experiments", { path: { project_id: pid }, query: serverQuery(state) }),
    [pid, key],
    { pollMs: 4000 },
  );
  const [selected, setSelected] = useState<number[]>([]);
  const [columnsOf, setColumnsOf] = useState<{ pid: string; columns: ColumnChoice[] }>(() => ({
    pid,
    columns: loadColumns(pid),
  }));
  let columns = columnsOf.columns;
  if (columnsOf.pid !== pid) {
    // another project: its own remembered columns
    columns = loadColumns(pid);
    setColumnsOf({ pid, columns });
  }
  const chooseColumns = (next: ColumnChoice[]) => {
    saveColumns(pid, next);
    setColumnsOf({ pid, columns: next });
  };
  const base = `/projects/${pid}/experiments`;
  const go = (next: TableState) => {
    const q = toQuery(next);
    navigate(q ? `${base}?${q}` : base, { replace: true });
  };
  const total = data.data?.total ?? 0;
  const toggle = (n: number) =>
    setSelected((s) => (s.includes(n) ? s.filter((x) => x !== n) : s.length < 5 ? [...s, n] : s));

  return (
    <section aria-labelledby="exp-title">
      <h2 id="exp-title">Experiments</h2>
      {canRunJobs(project) ? <RunForm project={project} onRun={data.reload} /> : null}
      <form className="filters" aria-label="Filter experiments" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state.state} onChange={(e) => go(withFilter(state, { state: e.target.value }))}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s.replace("_", " ")}
              </option>
            ))}
          </select>
        </label>
        <label>
          Ended
          <select
            value={state.ended}
            onChange={(e) => go(withFilter(state, { ended: e.target.value as TableState["ended"] }))}
          >
            <option value="">either</option>
            <option value="true">ended</option>
            <option value="false">not ended</option>
          </select>
        </label>
        <NumberFilter label="From #" value={state.first} onChange={(v) => go(withFilter(state, { first: v }))} />
        <NumberFilter label="To #" value={state.last} onChange={(v) => go(withFilter(state, { last: v }))} />
        <label>
          Per page
          <select value={state.size} onChange={(e) => go(withFilter(state, { size: Number(e.target.value) }))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </form>
      <FilterBox value={state.filter} onApply={(filter) => go(withFilter(state, { filter }))} />
      <ColumnPicker projectId={pid} columns={columns} onChange={chooseColumns} />
      <div className="toolbar">
        <span role="status" aria-live="polite">
          {data.data ? rangeLabel(state, total) : ""}
        </span>
        <button
          type="button"
          disabled={selected.length < 2}
          onClick={() => navigate(`/projects/${pid}/compare?n=${selected.join(",")}`)}
        >
          Compare {selected.length ? `(${selected.length})` : ""}
        </button>
      </div>
      <ErrorNote error={data.error} />
      {data.data ? (
        <table className="list" aria-label="Experiments">
          <thead>
            <tr>
              <th scope="col">
                <span className="sr-only">Select to compare (2 to 5)</span>
              </th>
              <SortHeader label="#" column="number" state={state} go={go} />
              <SortHeader label="Title" column="title" state={state} go={go} />
              <SortHeader label="State" column="state" state={state} go={go} />
              <th scope="col">Parameters</th>
              {columns.map((c) => (
                <SortHeader key={columnName(c)} label={columnLabel(c)} column={columnName(c)} state={state} go={go} />
              ))}
              <SortHeader label="Created" column="created_at" state={state} go={go} />
              <SortHeader label="Duration" column="duration" state={state} go={go} />
            </tr>
          </thead>
          <tbody>
            {data.data.items.map((e) => (
              <Row
                key={e.id}
                e={e}
                base={base}
                columns={columns}
                checked={selected.includes(e.number)}
                onToggle={toggle}
              />
            ))}
          </tbody>
        </table>
      ) : (
        <Loading what="experiments" />
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={state.page === 0} onClick={() => go({ ...state, page: state.page - 1 })}>
          Previous
        </button>
        <span>
          Page {state.page + 1} of {pageCount(total, state.size)}
        </span>
        <button
          type="button"
          disabled={state.page + 1 >= pageCount(total, state.size)}
          onClick={() => go({ ...state, page: state.page + 1 })}
        >
          Next
        </button>
      </nav>
    </section>
  );
}

/** A column header that sorts the table on the server; its state is in `aria-sort`. */
function SortHeader(props: { label: string; column: string; state: TableState; go: (s: TableState) => void }) {
  const { label, column, state, go } = props;
  const active = state.sort === column;
  const ariaSort = active ? (state.order === "asc" ? "ascending" : "descending") : "none";
  return (
    <th scope="col" aria-sort={ariaSort}>
      <button type="button" className="sort" onClick={() => go(sortedBy(state, column))}>
        {label} {active ? (state.order === "asc" ? "▲" : "▼") : ""}
        <span className="sr-only">, sort {active && state.order === "desc" ? "lowest" : "highest"} first</span>
      </button>
    </th>
  );
}

function Row(props: {
  e: Exp;
  base: string;
  columns: ColumnChoice[];
  checked: boolean;
  onToggle: (n: number) => void;
}) {
  const { e, base, columns, checked, onToggle } = props;
  const params = { ...e.params, ...e.logged_params };
  return (
    <tr>
      <td>
        <input
          type="checkbox"
          aria-label={`Compare experiment ${e.number}`}
          checked={checked}
          onChange={() => onToggle(e.number)}
        />
      </td>
      <td>
        <Link to={`${base}/${e.number}`}>{e.number}</Link>
      </td>
      <td>{e.title || <code>{e.command.slice(0, 60)}</code>}</td>
      <td>
        <StateBadge state={e.state} />
        {e.reason && (e.state === "failed" || e.state === "aborted") ? (
          <div className="reason small" title={e.reason}>
            {e.reason.length > 120 ? `${e.reason.slice(0, 120)}…` : e.reason}
          </div>
        ) : null}
      </td>
      <td className="small">
        {Object.entries(params)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}
      </td>
      {columns.map((c) => (
        <td key={columnName(c)} className={c.kind === "metrics" ? "num" : undefined} data-column={columnName(c)}>
          {cellValue(e, c)}
        </td>
      ))}
      <td>{formatTime(e.created_at)}</td>
      <td>{duration(e.started_at, e.ended_at)}</td>
    </tr>
  );
}

/** The filter expression, sent to the server when applied; its errors show below the form. */
function FilterBox({ value, onApply }: { value: string; onApply: (v: string) => void }) {
  const [text, setText] = useState(value);
  const [seen, setSeen] = useState(value);
  if (seen !== value) {
    // the address changed (back, a link): show what it filters by
    setSeen(value);
    setText(value);
  }
  return (
    <form
      className="filters filter-expression"
      aria-label="Filter expression"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(text.trim());
      }}
    >
      <label className="grow">
        Filter
        <input
          type="search"
          value={text}
          maxLength={1000}
          spellCheck={false}
          placeholder="lr > 0.1 and accuracy >= 0.9"
          onChange={(e) => setText(e.target.value)}
        />
      </label>
      <button type="submit">Apply</button>
      {value ? (
        <button
          type="button"
          onClick={() => {
            setText("");
            onApply("");
          }}
        >
          Clear
        </button>
      ) : null}
    </form>
  );
}

function NumberFilter(props: { label: string; value: number | null; onChange: (v: number | null) => void }) {
  return (
    <label>
      {props.label}
      <input
        type="number"
        min={1}
        inputMode="numeric"
        className="narrow"
        defaultValue={props.value ?? ""}
        onBlur={(e) => {
          const n = Number(e.target.value);
          const v = e.target.value && Number.isInteger(n) && n >= 1 ? n : null;
          if (v !== props.value) props.onChange(v);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") (e.target as HTMLInputElement).blur();
        }}
      />
    </label>
  );
}

/** New experiments: a command and optional parameters, one per line as key=v1,v2 (a grid). */
function RunForm({ project, onRun }: { project: Project; onRun: () => void }) {
  const [command, setCommand] = useState("");
  const [title, setTitle] = useState("");
  const [params, setParams] = useState("");
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const created = await api("create_experiments", {
        path: { project_id: project.id },
        body: { command, title, runs: grid(params) },
      });
      onRun();
      if (created.length === 1) navigate(`/projects/${project.id}/experiments/${created[0].number}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <details className="panel">
      <summary>Run an experiment</summary>
      <form onSubmit={submit} aria-label="Run an experiment">
        <label>
          Command
          <input required value={command} onChange={(e) => setCommand(e.target.value)} placeholder="python train.py" />
        </label>
        <label>
          Title
          <input value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label>
          Parameters (one per line: key=value1,value2)
          <textarea rows={2} value={params} onChange={(e) => setParams(e.target.value)} />
        </label>
        <ErrorNote error={error} />
        <button type="submit">Run</button>
      </form>
    </details>
  );
}
