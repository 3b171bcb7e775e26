// The API's hints are written for the CLI (`hw project list`, `--owned`); in the browser they
// should say what to do in the UI. Each sentence that names a command is replaced by the UI's
// way to do the same, or left out where the UI has none; the rest of the hint stays as it is.

/** A CLI command (its first words) and what to do in the UI instead; "" leaves it out. */
const UI_WAYS: [RegExp, string][] = [
  [/^hw project list/, "Open Projects to see the projects you can access."],
  [/^hw project create/, "Create one with New project on the Projects page."],
  [/^hw project show/, "The project's Settings page shows what may be set."],
  [/^hw project member/, "Settings → Collaborators lists the members and their access."],
  [/^hw project (leave|delete)/, "The project's owner deletes it in Settings."],
  [/^hw login/, "Log in again."],
  [/^hw experiments?/, "The Experiments page lists them."],
  [/^hw endpoint (key|predict)/, ""],
  [/^hw endpoint/, "The Endpoints page lists the endpoints and their request log."],
  [/^hw flow stop/, "Stop its running bakes on the Bakes page first."],
  [/^hw flow trigger/, "Continual learning on the flow's page sets its triggers."],
  [/^hw flow/, "The Flows page lists the flows and their versions."],
  [/^hw (inspect|bakes)/, "The Bakes page lists the runs and their tasks."],
  [/^hw compute/, "The Monitoring page lists the compute templates."],
  [/^hw workspace/, "The Workspaces page lists them."],
  [/^hw (sync|clone)/, "Put the file in the project's files first (the Files page shows them)."],
  [/^hw files/, "The Files page's version menu lists the versions."],
  [/^hw models?/, "The Models page lists the models and their versions."],
  [/^hw datasets?/, "The Datasets page lists the datasets and their queries."],
  [/^hw (secret|env)/, "The project's Settings page lists them."],
  [/^hw admin gc/, "Ask the server's admin to free space, then try again."],
];

const COMMAND = /`(hw [^`]*)`|(?:^|[\s:(])(hw [a-z][^.,;)]*)/;
const FLAG = /(?:^|[\s(`])--[a-z]/;

/** The sentences of `text`, each with its closing punctuation. */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `hint` with each CLI sentence turned into the UI's way (or left out); null when nothing is left. */
export function uiHint(hint: string | null | undefined): string | null {
  if (!hint) return null;
  const out: string[] = [];
  for (const sentence of sentences(hint)) {
    const command = COMMAND.exec(sentence);
    if (!command && !FLAG.test(sentence)) {
      out.push(sentence);
      continue;
    }
    const name = (command?.[1] ?? command?.[2] ?? "").trim();
    const way = UI_WAYS.find(([pattern]) => pattern.test(name))?.[1] ?? "";
    if (way && !out.includes(way)) out.push(way);
  }
  return out.length ? out.join(" ") : null;
}
