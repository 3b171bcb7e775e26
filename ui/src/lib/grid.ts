/** Every combination of the parameter lines: "lr=0.1,0.2" × "bs=8" → two runs. */
export function grid(text: string): Record<string, string>[] {
  let runs: Record<string, string>[] = [{}];
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at < 1) continue;
    const key = line.slice(0, at).trim();
    const values = line.slice(at + 1).split(",").map((v) => v.trim()).filter(Boolean);
    if (!key || values.length === 0) continue;
    runs = runs.flatMap((r) => values.map((v) => ({ ...r, [key]: v })));
  }
  return runs;
}
