"""What a run produced and how files changed (issue 16): an experiment's artifacts (listed,
opened, downloaded, registered as a model that links back), the Files page's experiment
branches, the Diff button on a script and on a notebook, notebooks drawn statically and safely,
drag-and-drop uploads, and no sideways scrolling at 800 pixels."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot
from tests.e2e.ui.test_ui_files import png, push
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

NARROW = {"width": 800, "height": 900}
OUTPUTS = (
    "mkdir -p output/plots && printf 'epoch,loss\\n1,0.9\\n2,0.4\\n' > output/loss.csv"
    " && printf '{\"lr\": 0.1}' > output/model.json && printf 'x' > output/plots/p.txt"
)


def assert_no_sideways_scroll(page: Page, where: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow} px ({wide})"


def run_to_success(user: User, pid: str, command: str) -> dict[str, Any]:
    made = user.call("POST", f"/projects/{pid}/experiments", json={"command": command})
    number = made[0]["number"] if isinstance(made, list) else made["number"]

    def ended() -> dict[str, Any] | None:
        shown: dict[str, Any] = user.call("GET", f"/projects/{pid}/experiments/{number}")
        return shown if shown["state"] in ("success", "failed", "aborted") else None

    done = wait_until(ended, timeout=60, message=f"experiment {number} did not end")
    assert done["state"] == "success", done
    assert done["output_commit"], done
    return done


def test_artifacts_are_listed_downloaded_and_registered_as_a_model(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("artifacts")
    pid = owner.project("artifacts")["id"]
    push(owner, pid, {"train.py": b"print('hi')\n"}, "code")
    experiment = run_to_success(owner, pid, OUTPUTS)
    number = experiment["number"]
    log_in(page, owner)
    page.goto(f"/projects/{pid}/experiments/{number}")
    artifacts = page.get_by_role("table", name="Artifacts")
    for name in ("loss.csv", "model.json", "plots/p.txt"):
        expect(artifacts.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(artifacts.get_by_role("button", name="train.py")).to_have_count(0)  # outputs only
    artifacts.get_by_role("button", name="loss.csv").click()
    expect(page.get_by_role("table", name="CSV").get_by_role("cell", name="0.4")).to_be_visible()
    with page.expect_download() as download:
        artifacts.get_by_role("link", name="Download model.json").click()
    saved = download.value
    assert saved.suggested_filename == "model.json"
    with open(saved.path(), "rb") as fh:
        assert fh.read() == b'{"lr": 0.1}'
    shot(page, "experiment-artifacts", full_page=True)

    form = page.get_by_role("form", name="Register as model")
    form.get_by_label("Model name").fill("churn")
    form.get_by_label("What to register").select_option("output/model.json")
    form.get_by_role("button", name="Register as model").click()
    registered = form.get_by_role("link", name="model churn, version")
    expect(registered).to_be_visible()
    versions = owner.call("GET", f"/projects/{pid}/models/churn/commits")
    assert versions[0]["source"]["path"] == "output/model.json"
    registered.click()
    source = page.get_by_label("Version source")
    expect(source.get_by_text("output/model.json")).to_be_visible()
    expect(page.get_by_role("table", name="Model files").get_by_role("button")).to_have_text(
        ["model.json"]
    )
    source.get_by_role("link", name=f"from experiment #{number}").click()  # back to the run
    expect(page.get_by_role("heading", name=f"Experiment {number}")).to_be_visible()

    # the Files page's version menu offers the experiment's branch, with its outputs
    page.goto(f"/projects/{pid}/files")
    menu = page.get_by_label("Version")
    expect(menu.locator("optgroup[label='Experiment branches'] option")).to_have_count(1)
    menu.select_option(f"experiments/{number}")
    files = page.get_by_role("table", name="Files")
    expect(files.get_by_role("button", name="output/")).to_be_visible()
    files.get_by_role("button", name="output/").click()
    expect(files.get_by_role("button", name="model.json")).to_be_visible()

    page.set_viewport_size(NARROW)
    page.goto(f"/projects/{pid}/experiments/{number}")
    expect(page.get_by_role("table", name="Artifacts")).to_be_visible()
    assert_no_sideways_scroll(page, "the experiment page")


LONG = "x = '" + "abcdefghij" * 40 + "'"


def test_diff_button_on_a_script_highlighted_with_narrow_gutters(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("diffs")
    pid = owner.project("diffs")["id"]
    first = push(owner, pid, {"train.py": b"import sys\nlr = 0.1\nprint('old')\n"}, "first")
    second = push(
        owner,
        pid,
        {"train.py": f"import sys\nlr = 0.2\nprint('new')\n{LONG}\n".encode()},
        "second",
        base=first,
    )
    log_in(page, owner)
    page.set_viewport_size(NARROW)
    page.goto(f"/projects/{pid}/files?v={second}&file=train.py")
    expect(page.get_by_test_id("source")).to_contain_text("lr = 0.2")
    assert_no_sideways_scroll(page, "a script with a long line")
    page.get_by_label("Compare with").select_option(first)
    page.get_by_role("button", name="Diff").click()
    expect(page).to_have_url(f"/projects/{pid}/files/diff?a={first}&b={second}&path=train.py")
    diff = page.get_by_role("table", name="Diff of train.py")
    expect(diff.locator("td.add .tok-string", has_text="'new'")).to_be_visible()  # highlighted
    expect(diff.locator("td.del .tok-string", has_text="'old'")).to_be_visible()
    expect(diff.locator("td.add", has_text="lr = 0.2")).to_be_visible()
    expect(diff.locator("td.add", has_text="0.2").locator(".tok-number")).to_have_text("0.2")
    # unchanged context is not coloured
    expect(diff.locator("tr.row-equal td.add, tr.row-equal td.del")).to_have_count(0)
    # the gutters are as wide as the largest line number (4 lines: two characters)
    widths = diff.locator("col").evaluate_all("cols => cols.map(c => c.style.width)")
    assert widths[0] == widths[2] == "2ch", widths
    gutter = diff.locator("td.ln").first.evaluate("td => td.getBoundingClientRect().width")
    assert gutter < 40, gutter
    assert_no_sideways_scroll(page, "a script's diff")
    shot(page, "files-script-diff", full_page=True)
    page.get_by_role("link", name="Back to the file").click()
    expect(page.get_by_test_id("source")).to_contain_text("lr = 0.2")


def notebook(*cells: dict[str, Any]) -> bytes:
    doc = {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1).encode()


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code(source: str, *outputs: dict[str, Any], count: int = 1) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {},
        "source": source,
        "outputs": list(outputs),
    }


PLOT = base64.b64encode(png(40, 30)).decode()
INTRO = (
    "# Loss curve\n\nThe **loss** falls, see [the docs](https://example.org/docs)."
    "\n\n<script>window.__pwned = 'markdown'</script>\n\n"
    "[click](javascript:window.__pwned='link')"
)
TABLE_HTML = (
    "<table><thead><tr><th></th><th>lr</th></tr></thead><tbody><tr><th>0</th><td>0.125</td>"
    "</tr></tbody></table><img src=x onerror=\"window.__pwned='html'\">"
    "<script>window.__pwned = 'output'</script>"
)


def notebooks() -> tuple[bytes, bytes]:
    old = notebook(
        markdown(INTRO),
        code(
            "import pandas as pd\nlr = 0.1\nprint(lr)",
            {"output_type": "stream", "name": "stdout", "text": "0.1\n"},
        ),
        code("df", count=2),
        markdown("## The end"),
    )
    new = notebook(
        markdown(INTRO),
        code(
            "import pandas as pd\nlr = 0.125\nprint(lr)",
            {"output_type": "stream", "name": "stdout", "text": "0.125\n"},
        ),
        code(
            "df",
            {
                "output_type": "execute_result",
                "execution_count": 2,
                "metadata": {},
                "data": {"text/plain": "    lr\n0  0.125", "text/html": TABLE_HTML},
            },
            count=2,
        ),
        code(
            "plot(loss)",
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"image/png": PLOT, "text/plain": "<Figure>"},
            },
            count=3,
        ),
        markdown("## The end"),
    )
    return old, new


def test_notebooks_render_statically_and_diff_cell_by_cell(page: Page, make_user: Any) -> None:
    owner: User = make_user("notebooks")
    pid = owner.project("notebooks")["id"]
    old, new = notebooks()
    first = push(owner, pid, {"analysis.ipynb": old}, "first")
    second = push(owner, pid, {"analysis.ipynb": new}, "second", base=first)
    log_in(page, owner)
    page.set_viewport_size(NARROW)
    page.goto(f"/projects/{pid}/files?v={second}&file=analysis.ipynb")
    nb = page.get_by_test_id("notebook")
    expect(nb.get_by_role("heading", name="Loss curve")).to_be_visible()  # Markdown rendered
    expect(nb.locator("strong", has_text="loss")).to_be_visible()
    expect(nb.get_by_role("link", name="the docs")).to_have_attribute(
        "href", "https://example.org/docs"
    )
    expect(
        nb.get_by_text("<script>window.__pwned = 'markdown'</script>")
    ).to_be_visible()  # as text
    expect(nb.get_by_role("link", name="click")).to_have_count(0)  # a javascript: link is no link
    expect(nb.locator(".nb-output", has_text="0.125")).to_have_count(2)  # stdout and the table
    table = nb.get_by_role("table", name="Output table")
    expect(table.get_by_role("columnheader", name="lr")).to_be_visible()
    expect(table.get_by_role("cell", name="0.125")).to_be_visible()
    image = nb.get_by_role("img", name="A cell's output")
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=notebook] img')]"
        ".some(i => i.complete && i.naturalWidth === 40)"
    )
    assert nb.locator("script, iframe").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    assert_no_sideways_scroll(page, "a notebook")
    shot(page, "files-notebook", full_page=True)

    page.get_by_label("Compare with").select_option(first)
    page.get_by_role("button", name="Diff").click()
    rows = page.get_by_role("table", name="Notebook diff").get_by_role("row")
    expect(rows).to_have_count(5)
    statuses = rows.evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses == ["unchanged", "modified", "unchanged", "added", "unchanged"], statuses
    intro, edited, _, added, end = (rows.nth(i) for i in range(5))
    # cells are marked Markdown or Code on both sides
    expect(intro.locator(".cell-kind")).to_have_text(["Markdown", "Markdown"])
    expect(edited.locator(".cell-kind")).to_have_text(["Code", "Code"])
    # unchanged cells are not coloured as changes
    for same in (intro, end):
        expect(same.locator(".del, .add")).to_have_count(0)
        colours = same.get_by_role("cell").evaluate_all(
            "cells => cells.map(c => getComputedStyle(c).backgroundColor)"
        )
        assert colours == ["rgba(0, 0, 0, 0)"] * 2, colours
    # an edited cell colours the lines that changed, and only those
    expect(edited.locator(".del")).to_have_text(["lr = 0.1"])
    expect(edited.locator(".add")).to_have_text(["lr = 0.125"])
    # the third cell's source is the same and stays uncoloured; its outputs are new, and said so
    expect(rows.nth(2)).to_contain_text("outputs changed")
    expect(rows.nth(2).locator(".del, .add")).to_have_count(0)
    # an added cell stands beside an empty old side
    expect(added.get_by_label("No old cell")).to_be_visible()
    expect(added.locator(".nb-side.add")).to_contain_text("plot(loss)")
    assert_no_sideways_scroll(page, "a notebook's diff")
    shot(page, "files-notebook-diff", full_page=True)


DROP = """(files) => {
  const transfer = new DataTransfer();
  for (const [name, text] of files) transfer.items.add(new File([text], name));
  return transfer;
}"""


def test_files_dropped_on_the_files_page_become_one_commit(page: Page, make_user: Any) -> None:
    owner: User = make_user("upload")
    pid = owner.project("upload")["id"]
    first = push(owner, pid, {"data/a.csv": b"x\n1\n", "train.py": b"print(1)\n"}, "first")
    log_in(page, owner)
    page.goto(f"/projects/{pid}/files?v={first}&dir=data")
    zone = page.get_by_test_id("drop-zone")
    transfer = page.evaluate_handle(DROP, [["b.csv", "y\n2\n"], ["a.csv", "x\n1\n2\n"]])
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    expect(page.get_by_role("status").filter(has_text="Committed")).to_contain_text(
        "Upload b.csv, a.csv to data/"
    )
    files = page.get_by_role("table", name="Files")
    expect(files.get_by_role("button", name="b.csv")).to_be_visible()
    commits = owner.call("GET", f"/projects/{pid}/files/commits")
    assert [c["message"] for c in commits] == ["Upload b.csv, a.csv to data/", "first"]
    assert commits[0]["files"] == 3
    expect(page.get_by_label("Version")).to_have_value(commits[0]["id"])
    tree = owner.call("GET", f"/projects/{pid}/files/tree")
    assert {e["path"]: e["size"] for e in tree["entries"]} == {
        "data/a.csv": 6,
        "data/b.csv": 4,
        "train.py": 9,
    }
    shot(page, "files-upload")

    # a name the server refuses: its reason is shown, and nothing is committed
    bad = page.evaluate_handle(DROP, [["\u202eevil.txt", "z"]])
    zone.dispatch_event("drop", {"dataTransfer": bad})
    expect(page.get_by_role("alert")).to_contain_text("U+202E")
    assert len(owner.call("GET", f"/projects/{pid}/files/commits")) == 2


def test_a_read_member_gets_no_upload_zone(page: Page, make_user: Any) -> None:
    owner: User = make_user("owner")
    reader: User = make_user("reader")
    pid = owner.project("shared")["id"]
    push(owner, pid, {"a.txt": b"a\n"}, "first")
    owner.call("POST", f"/projects/{pid}/members", json={"email": reader.email})
    log_in(page, reader)
    page.goto(f"/projects/{pid}/files")
    expect(
        page.get_by_role("table", name="Files").get_by_role("button", name="a.txt")
    ).to_be_visible()
    expect(page.get_by_test_id("drop-zone")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload files")).to_have_count(0)
