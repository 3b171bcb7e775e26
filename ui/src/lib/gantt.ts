// The run view's timeline (Gantt): one row per instance, a bar from when it was created (queued)
// to when it started, and one from then until it finished (or now, while it runs). Pure layout:
// times in, pixel boxes out.

export interface Span {
  id: string;
  label: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Bar {
  x: number;
  width: number;
}

export interface GanttRow {
  id: string;
  label: string;
  status: string;
  y: number;
  /** created → started (or → finished when it never started, or → now while it waits). */
  queued: Bar;
  /** started → finished (or → now); null when it never started. */
  ran: Bar | null;
  /** Seconds waited and run, for labels. */
  waitedS: number;
  ranS: number | null;
}

export interface Tick {
  x: number;
  label: string;
}

export interface Gantt {
  rows: GanttRow[];
  ticks: Tick[];
  width: number;
  height: number;
  /** The window shown, epoch ms. */
  start: number;
  end: number;
}

export interface GanttOptions {
  width: number;
  rowHeight?: number;
  /** Epoch ms for bars still open; default Date.now(). */
  now?: number;
  ticks?: number;
}

const ms = (iso: string): number => Date.parse(iso);

/** Rows in the order of `spans` sorted by creation; bars scaled to `width` pixels. */
export function ganttLayout(spans: Span[], options: GanttOptions): Gantt {
  const rowHeight = options.rowHeight ?? 24;
  const now = options.now ?? Date.now();
  const sorted = [...spans].sort((a, b) => ms(a.created_at) - ms(b.created_at) || a.label.localeCompare(b.label));
  if (sorted.length === 0) return { rows: [], ticks: [], width: options.width, height: 0, start: now, end: now };
  const start = Math.min(...sorted.map((s) => ms(s.created_at)));
  const ends = sorted.map((s) => (s.finished_at ? ms(s.finished_at) : s.started_at ? Math.max(now, ms(s.started_at)) : now));
  const end = Math.max(start + 1000, ...ends, ...sorted.map((s) => (s.started_at ? ms(s.started_at) : start)));
  const scale = options.width / (end - start);
  const x = (t: number) => (t - start) * scale;
  const bar = (from: number, to: number): Bar => ({ x: x(from), width: Math.max(1, x(Math.max(from, to)) - x(from)) });
  const rows = sorted.map((s, i): GanttRow => {
    const created = ms(s.created_at);
    const finished = s.finished_at ? ms(s.finished_at) : null;
    const started = s.started_at ? ms(s.started_at) : null;
    const queuedUntil = started ?? finished ?? now;
    const ranUntil = finished ?? now;
    return {
      id: s.id,
      label: s.label,
      status: s.status,
      y: i * rowHeight,
      queued: bar(created, queuedUntil),
      ran: started === null ? null : bar(started, ranUntil),
      waitedS: Math.max(0, queuedUntil - created) / 1000,
      ranS: started === null ? null : Math.max(0, ranUntil - started) / 1000,
    };
  });
  return { rows, ticks: ticks(start, end, options.width, options.ticks ?? 5), width: options.width, height: rows.length * rowHeight, start, end };
}

const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

/** Ticks at a round step (1 s, 2 s, 5 s, ... 1 d), about `count` of them, labelled from the start. */
export function ticks(start: number, end: number, width: number, count: number): Tick[] {
  const spanS = (end - start) / 1000;
  const step = STEPS_S.find((s) => spanS / s <= count) ?? STEPS_S[STEPS_S.length - 1];
  const out: Tick[] = [];
  for (let t = 0; t <= spanS + 1e-9; t += step) {
    out.push({ x: (t / spanS) * width, label: elapsed(t) });
  }
  return out;
}

/** 0 s, 45 s, 2 min, 1 min 30 s, 2 h ... */
export function elapsed(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds % 60);
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}
