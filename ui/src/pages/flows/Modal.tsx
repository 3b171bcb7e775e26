import { useEffect, useId, useRef, useState, type ReactNode } from "react";

/** A modal `<dialog>`: focus stays inside, Escape closes it. */
export function Modal(props: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const el = ref.current;
    if (el && !el.open) el.showModal();
    return () => el?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={props.wide ? "modal wide" : "modal"}
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <div className="modal-head">
        <h2 id={id}>{props.title}</h2>
        <button type="button" className="plain" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

/**
 * A text input that keeps what is typed (so "0." or "a," survive while typing) and reports
 * each change; it starts from `value` when it mounts.
 */
export function TextField(props: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  placeholder?: string;
  multiline?: boolean;
  hint?: string;
}) {
  const [text, setText] = useState(props.value);
  const change = (v: string) => {
    setText(v);
    props.onChange(v);
  };
  return (
    <label>
      {props.label}
      {props.multiline ? (
        <textarea rows={3} value={text} placeholder={props.placeholder} onChange={(e) => change(e.target.value)} />
      ) : (
        <input value={text} placeholder={props.placeholder} onChange={(e) => change(e.target.value)} />
      )}
      {props.hint ? <span className="muted small">{props.hint}</span> : null}
    </label>
  );
}
