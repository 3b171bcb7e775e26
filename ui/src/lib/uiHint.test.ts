import { describe, expect, it } from "vitest";
import { uiHint } from "./uiHint";

describe("uiHint", () => {
  it("turns a CLI sentence into the UI's way", () => {
    expect(uiHint("List the projects you can access with `hw project list`.")).toBe(
      "Open Projects to see the projects you can access.",
    );
    expect(uiHint("See the allowed settings with `hw project show ID --json` (files.max).")).toBe(
      "The project's Settings page shows what may be set.",
    );
  });

  it("keeps the sentences without a command and leaves out those the UI cannot do", () => {
    expect(uiHint("Ask the project's owner for that access.")).toBe("Ask the project's owner for that access.");
    expect(uiHint("The key is shown once. `hw endpoint key rotate SLUG` makes a new one.")).toBe(
      "The key is shown once.",
    );
    expect(uiHint("Add it as your own with `--owned` (owned: true).")).toBeNull();
    expect(uiHint("hw tensorboard start --experiments 3,4,7, or --flow-run RUN.")).toBeNull();
  });

  it("finds commands without backticks, and never repeats itself", () => {
    expect(uiHint("Stop them first: hw flow stop 3.")).toBe("Stop its running bakes on the Bakes page first.");
    expect(uiHint("Sync it first: `hw sync`. Then deploy again after `hw sync`.")).toBe(
      "Put the file in the project's files first (the Files page shows them).",
    );
  });

  it("has nothing to say about nothing", () => {
    expect(uiHint(null)).toBeNull();
    expect(uiHint("")).toBeNull();
  });
});
