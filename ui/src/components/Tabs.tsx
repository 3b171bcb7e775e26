import { useRef, type KeyboardEvent } from "react";

export interface Tab {
  id: string;
  label: string;
}

/** An ARIA tablist: arrow keys, Home and End move between tabs. */
export function Tabs(props: { tabs: Tab[]; active: string; onSelect: (id: string) => void; label: string }) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const index = Math.max(0, props.tabs.findIndex((t) => t.id === props.active));
  const onKey = (e: KeyboardEvent) => {
    const n = props.tabs.length;
    const next =
      e.key === "ArrowRight" ? (index + 1) % n
      : e.key === "ArrowLeft" ? (index - 1 + n) % n
      : e.key === "Home" ? 0
      : e.key === "End" ? n - 1
      : -1;
    if (next < 0) return;
    e.preventDefault();
    props.onSelect(props.tabs[next].id);
    refs.current[next]?.focus();
  };
  return (
    <div role="tablist" aria-label={props.label} className="tabs" onKeyDown={onKey}>
      {props.tabs.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => {
            refs.current[i] = el;
          }}
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === props.active}
          aria-controls={`panel-${t.id}`}
          tabIndex={t.id === props.active ? 0 : -1}
          onClick={() => props.onSelect(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
