// The dashboard's activity feed: a task's output commits ("outputs of experiment N") come in
// floods, one per experiment; consecutive ones become one line that opens to show them.
import type { Schemas } from "../api/client";

export type Activity = Schemas["ActivityOut"];

export type FeedLine =
  | { kind: "one"; item: Activity }
  | { kind: "outputs"; items: Activity[]; experiments: number[] };

/** A machine commit: the server marks a task's output commit with its experiment's number. */
export function experimentOf(a: Activity): number | null {
  const n = (a.data as Record<string, unknown> | undefined)?.experiment;
  return a.kind === "version_committed" && typeof n === "number" ? n : null;
}

/** `items` (newest first) with each run of two or more machine commits folded into one line. */
export function groupFeed(items: Activity[]): FeedLine[] {
  const lines: FeedLine[] = [];
  let run: Activity[] = [];
  const flush = () => {
    if (run.length === 1) lines.push({ kind: "one", item: run[0] });
    else if (run.length > 1) {
      const experiments = [...new Set(run.map((a) => experimentOf(a) as number))].sort((a, b) => a - b);
      lines.push({ kind: "outputs", items: run, experiments });
    }
    run = [];
  };
  for (const item of items) {
    if (experimentOf(item) !== null) run.push(item);
    else {
      flush();
      lines.push({ kind: "one", item });
    }
  }
  flush();
  return lines;
}

/** "experiments 3–7, 9" for the folded line: runs of numbers as ranges. */
export function numberRanges(numbers: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(j > i ? `${numbers[i]}–${numbers[j]}` : `${numbers[i]}`);
    i = j + 1;
  }
  return parts.join(", ");
}
