"""``hw endpoint`` end to end: the command in subprocesses against a real ``hw server`` whose
local worker runs the replicas (sandboxed tasks running ``python -m headwater.serving``).

One endpoint is deployed per module (a replica takes seconds to start on a loaded machine)
and each test does what a user would do with it; the error paths need no replica at all.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import HW, Hw, LiveServer, make_hw, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

PREDICT = """\
import json
import os


def predict(a, b):
    return {"sum": a + b, "greeting": os.environ.get("GREETING")}


def echo(x):
    return x


def broken(x):
    raise ValueError("this function refuses " + repr(x))


def scaled(x):
    with open(os.path.join(os.environ["HW_MODEL_DIR"], "weights.json")) as f:
        return x * json.load(f)["weight"]


def size(paths):
    if isinstance(paths, list):
        return [size(p) for p in paths]
    with open(paths, "rb") as f:
        return len(f.read())
"""
WAIT = "180"  # seconds: a replica is a queued task that starts an interpreter in a sandbox


@dataclass
class Served:
    hw: Hw
    project: str
    title: str
    slug: str
    key: str
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, live_server: LiveServer) -> Iterator[Served]:
    """A project with predict.py synced and endpoint ``calc-*`` deployed with --wait."""
    tmp = tmp_path_factory.mktemp("endpoint-cli")
    hw = make_hw(tmp, "admin")
    hw("login", "--url", live_server.url, "--token", live_server.admin_token)
    folder = tmp / "work"
    folder.mkdir()
    (folder / "predict.py").write_text(PREDICT)
    project = str(hw.json("link", "--sync", cwd=folder)["project"]["id"])
    title = unique("calc")
    deployed = hw.json(
        *("endpoint", "deploy", "--file", "predict.py", "--function", "predict"),
        *("--title", title, "--config", "GREETING=hello", "--wait", "--timeout", WAIT),
        *("-p", project),
    )
    endpoint = deployed["endpoint"]
    assert endpoint["status"] == "running", deployed
    assert deployed["version"] == 1
    try:
        yield Served(hw, project, title, endpoint["slug"], deployed["key"]["key"], folder)
    finally:  # every endpoint the tests left, even a failed one's: replicas never end alone
        for left in hw.json("endpoint", "list", "-p", project)["items"]:
            hw("endpoint", "delete", left["id"], "--yes", "-p", project, code=None)


def test_deploy_wait_prints_the_key_once_and_the_endpoint_serves(served: Served) -> None:
    assert served.key.startswith("hwe_")
    shown = served.hw.json("endpoint", "show", served.title, "-p", served.project)
    assert shown["slug"] == served.slug == served.title
    assert shown["url"].endswith(f"/api/v1/endpoints/{served.slug}/predict")
    assert shown["key_prefix"]
    assert served.key.startswith(shown["key_prefix"])
    assert "key" not in shown  # shown once, at deploy time
    assert [(v["number"], v["state"], v["traffic"]) for v in shown["versions"]] == [
        (1, "live", 100)
    ]
    assert [r["state"] for r in shown["replicas"]] == ["ready"]
    assert shown["definition"]["config_vars"] == ["GREETING=hello"]
    text = served.hw("endpoint", "show", served.title, "-p", served.project).stdout
    assert "predict.py:predict" in text
    assert "live" in text
    assert "100%" in text


def test_list_and_the_old_endpoints_alias_agree(served: Served) -> None:
    listed = served.hw.json("endpoint", "list", "-p", served.project)
    assert [(e["title"], e["status"]) for e in listed["items"]] == [(served.title, "running")]
    assert served.hw.json("endpoints", "-p", served.project) == listed
    table = served.hw("endpoint", "list", "-p", served.project).stdout
    assert served.title in table
    assert "predict.py:predict" in table
    assert "running" in table


def test_predict_with_the_key_the_env_key_or_the_login(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    with_key = hw.json("endpoint", "predict", served.slug, "--data", "[2, 3]", "--key", served.key)
    assert with_key["prediction"] == {"sum": 5, "greeting": "hello"}
    assert with_key["request_id"]
    from_env = hw.json(
        "endpoint", "predict", served.slug, "--data", "[4, 5]", HEADWATER_ENDPOINT_KEY=served.key
    )
    assert from_env["prediction"]["sum"] == 9
    # no key: the try route, as the logged-in member
    tried = hw.json("endpoint", "predict", served.title, "--data", "[1, 1]", *args)
    assert tried["prediction"]["sum"] == 2
    # the whole input from a file, and from stdin; the plain output is the prediction's JSON
    data = served.folder / "input.json"
    data.write_text("[10, 20]")
    assert json.loads(hw("endpoint", "predict", served.slug, "-d", f"@{data}", *args).stdout) == {
        "sum": 30,
        "greeting": "hello",
    }
    piped = hw("endpoint", "predict", served.slug, "--data", "-", *args, input="[0.5, 0.25]")
    assert json.loads(piped.stdout)["sum"] == 0.75


def test_a_failing_function_names_the_request_and_its_log_has_the_traceback(
    served: Served,
) -> None:
    hw, args = served.hw, ("-p", served.project)
    failed = hw("endpoint", "predict", served.slug, "--data", "[1, [2]]", *args, code=1)
    assert "TypeError" in failed.stderr
    assert f"hw endpoint logs {served.slug}" in failed.stderr
    assert "Traceback" not in failed.stderr  # the caller gets the error, not the traceback
    request_id = failed.stderr.split("(request ")[1].split(")")[0]

    def logged() -> str | None:
        out = hw("endpoint", "logs", served.title, *args)
        text = out.stdout + out.stderr
        return text if request_id in text and "Traceback" in text else None

    assert "TypeError" in wait_until(logged, timeout=30, message="no traceback in the logs")
    as_json = hw.json("endpoint", "logs", served.title, *args)
    assert any(request_id in c["text"] for c in as_json["chunks"])


def test_the_request_log_keeps_what_was_sent(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    marker = unique("m")
    hw("endpoint", "predict", served.slug, "--data", f'["{marker}", "!"]', *args)

    def found() -> dict[str, Any] | None:
        page = hw.json("endpoint", "logs", served.title, "--requests", *args)
        return next((r for r in page["items"] if marker in r["input"]), None)

    logged = wait_until(found, timeout=30, message="the request was not logged")
    assert logged["status"] == 200
    assert f"{marker}!" in logged["output"]
    assert marker in hw("endpoint", "logs", served.title, "--requests", *args).stdout
    again = hw.json("endpoint", "replay", served.title, str(logged["id"]), *args)
    assert again["prediction"]["sum"] == f"{marker}!"


def test_key_rotate_prints_a_new_key_and_the_old_one_stops(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    rotated = hw.json("endpoint", "key", "rotate", served.title, *args)
    assert rotated["key"].startswith("hwe_")
    assert rotated["key"] != served.key
    refused = hw(
        "endpoint", "predict", served.slug, "--data", "[1, 2]", "--key", served.key, code=1
    )
    assert "refused" in refused.stderr
    assert "key rotate" in refused.stderr
    works = hw.json("endpoint", "predict", served.slug, "--data", "[1, 2]", "--key", rotated["key"])
    assert works["prediction"]["sum"] == 3
    served.key = rotated["key"]
    text = hw("endpoint", "key", "rotate", served.title, *args).stdout
    assert text.startswith("hwe_")
    assert "Shown only now" in text


def test_scale_stop_start_and_a_canary_rolled_back(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    scaled = hw.json("endpoint", "scale", served.title, "--min", "1", "--max", "2", *args)
    assert (scaled["min_replicas"], scaled["max_replicas"]) == (1, 2)
    stopped = hw.json("endpoint", "stop", served.title, *args)
    assert stopped["desired"] == "stopped"
    down = hw("endpoint", "predict", served.slug, "--data", "[1, 2]", *args, code=1)
    assert "stopped" in down.stderr
    assert "hw endpoint start" in down.stderr

    def ended() -> bool:  # the replicas drain, then their tasks stop
        return not hw.json("endpoint", "show", served.title, *args)["replicas"]

    # a real check of stop: the tasks end (a start within the drain is
    # tests/integration/test_serving_controller.py's)
    wait_until(ended, timeout=60, message="the stopped endpoint kept replicas")
    started = hw.json("endpoint", "start", served.title, *args)
    assert started["desired"] == "running"

    def serving() -> dict[str, Any] | None:
        shown = hw.json("endpoint", "show", served.title, *args)
        ready = [r for r in shown["replicas"] if r["state"] == "ready"]
        return shown if shown["status"] == "running" and ready else None

    wait_until(serving, timeout=float(WAIT), message="the endpoint did not start again")
    assert (
        hw.json("endpoint", "predict", served.slug, "--data", "[2, 2]", *args)["prediction"]["sum"]
        == 4
    )
    # a second deploy of the same title is version 2, a canary; rollback ends it
    canary = hw.json(
        *("endpoint", "deploy", "--file", "predict.py", "--function", "predict"),
        *("--title", served.title, "--config", "GREETING=v2", *args),
    )
    assert canary["version"] == 2
    assert canary["key"] is None
    back = hw.json("endpoint", "rollback", served.title, "--reason", "not yet", *args)
    states = {v["number"]: v["state"] for v in back["versions"]}
    assert states == {1: "live", 2: "rolled_back"}
    said = hw("endpoint", "show", served.title, *args).stdout
    assert "rolled_back" in said
    assert "not yet" in said


def test_a_scale_down_ends_the_extra_replicas_task(served: Served) -> None:
    """The replica scaled away drains, then its task ends and it is gone: it held its CPU
    for ever while its version served on. (The module's endpoint: the machine of the tests
    may have two CPUs, one per replica.)"""
    hw, args = served.hw, ("-p", served.project)
    hw.json("endpoint", "start", served.title, *args)  # whatever the tests before it did
    hw.json("endpoint", "scale", served.title, "--min", "2", "--max", "2", *args)

    def replicas(count: int, state: str) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = hw.json("endpoint", "show", served.title, *args)["replicas"]
        return found if [r["state"] for r in found] == [state] * count else None

    both = wait_until(
        lambda: replicas(2, "ready"), timeout=float(WAIT), message="no second replica"
    )
    hw.json("endpoint", "scale", served.title, "--min", "1", "--max", "1", *args)
    [left] = wait_until(
        lambda: replicas(1, "ready"), timeout=60, message="the scaled-away replica never ended"
    )
    [gone] = [r for r in both if r["id"] != left["id"]]
    ended = hw.json("experiments", "show", str(gone["experiment"]), *args)
    assert ended["state"] == "aborted", ended
    assert "scaled down to 1 replica" in (ended["reason"] or ""), ended
    answer = hw.json("endpoint", "predict", served.slug, "--data", "[3, 4]", *args)
    assert answer["prediction"]["sum"] == 7


def test_unknown_endpoint_says_where_to_look(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    missing = hw("endpoint", "show", "no-such-endpoint", *args, code=1)
    assert "no endpoint 'no-such-endpoint'" in missing.stderr
    assert "hw endpoint list" in missing.stderr
    called = hw("endpoint", "predict", "no-such-endpoint", "--data", "1", *args, code=1)
    assert "no endpoint 'no-such-endpoint'" in called.stderr
    assert "--key" in called.stderr
    assert "Traceback" not in missing.stderr + called.stderr


def test_bad_data_names_the_position(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    bad = hw("endpoint", "predict", served.slug, "--data", "[1, 2,, 3]", *args, code=1)
    assert "Error: --data: not JSON" in bad.stderr
    assert "line 1 column 7 (character 7)" in bad.stderr
    assert "Traceback" not in bad.stderr
    broken = served.folder / "broken.json"
    broken.write_text('{\n  "a": 1\n  "b": 2\n}')
    named = hw("endpoint", "predict", served.slug, "--data", f"@{broken}", *args, code=1)
    assert f"Error: {broken}: not JSON" in named.stderr
    assert "line 3 column 3" in named.stderr
    neither = hw("endpoint", "predict", served.slug, *args, code=2)  # a usage error
    assert "--data JSON or the files with --file" in neither.stderr


def test_a_missing_key_says_how_to_get_one(
    served: Served, tmp_path: Path, live_server: LiveServer, new_user: Any
) -> None:
    nobody = make_hw(tmp_path, "nobody")  # never logged in
    anonymous = nobody(
        "endpoint",
        "predict",
        served.slug,
        "--data",
        "[1, 2]",
        code=1,
        HEADWATER_URL=live_server.url,
    )
    assert "no key for endpoint" in anonymous.stderr
    assert "--key" in anonymous.stderr
    assert "HEADWATER_ENDPOINT_KEY" in anonymous.stderr
    assert f"hw endpoint key rotate {served.slug}" in anonymous.stderr
    stranger = new_user("stranger")  # logged in, but no member of the endpoint's project
    refused = stranger(
        "endpoint", "predict", served.slug, "--data", "[1, 2]", "-p", served.project, code=1
    )
    assert "--key" in refused.stderr
    assert "HEADWATER_ENDPOINT_KEY" in refused.stderr


def test_accept_files_sends_each_file_in_base64(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    title = unique("sizer")
    deployed = hw.json(
        *("endpoint", "deploy", "--file", "predict.py", "--function", "size", "--accept-files"),
        *("--title", title, "--wait", "--timeout", WAIT, *args),
    )
    assert deployed["endpoint"]["status"] == "running"
    blob = served.folder / "image.bin"
    blob.write_bytes(bytes(range(256)) * 3)
    sized = hw.json("endpoint", "predict", title, "--file", str(blob), *args)
    assert sized["prediction"] == 768
    # several files: the function gets the list of their paths
    both = hw.json("endpoint", "predict", title, "--file", str(blob), "--file", str(blob), *args)
    assert both["prediction"] == [768, 768]
    hw("endpoint", "delete", title, "--yes", *args)
    assert title not in [e["title"] for e in hw.json("endpoint", "list", *args)["items"]]


def test_deploy_wait_on_a_function_that_does_not_load_fails_with_the_reason(
    served: Served,
) -> None:
    hw, args = served.hw, ("-p", served.project)
    title = unique("nofn")
    failed = hw(
        *("endpoint", "deploy", "--file", "predict.py", "--function", "no_such_function"),
        *("--title", title, "--wait", "--timeout", WAIT, "--json", *args),
        code=1,
    )
    answer = json.loads(failed.stdout)  # the key is not lost: printed before the error
    assert answer["key"]["key"].startswith("hwe_")
    assert answer["endpoint"]["versions"][0]["state"] == "failed"
    assert f"endpoint {title}" in failed.stderr
    assert f"hw endpoint logs {title}" in failed.stderr
    hw("endpoint", "delete", title, "--yes", *args)


def test_logs_follow_prints_new_output_as_it_comes(served: Served) -> None:
    hw, args = served.hw, ("-p", served.project)
    command = [*HW, "endpoint", "logs", served.title, "-f", *args]
    with subprocess.Popen(
        command, env=hw.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as follower:
        try:
            assert follower.stdout is not None
            os.set_blocking(follower.stdout.fileno(), False)
            seen = bytearray()

            def printed(text: str) -> bool:
                seen.extend(follower.stdout.read() or b"")  # type: ignore[union-attr]
                return text.encode() in seen

            wait_until(lambda: printed("ready on unix:"), timeout=60, message=lambda: seen.decode())
            failed = hw("endpoint", "predict", served.slug, "--data", '["a", 1]', *args, code=1)
            request_id = failed.stderr.split("(request ")[1].split(")")[0]
            wait_until(lambda: printed(request_id), timeout=60, message=lambda: seen.decode())
        finally:
            follower.terminate()


def test_deploy_serves_a_registered_model_version(served: Served, tmp_path: Path) -> None:
    hw, args = served.hw, ("-p", served.project)
    name = unique("weights")
    hw("model", "create", name, *args)
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "weights.json").write_text('{"weight": 7}')
    pushed = hw.json("model", "push", name, str(weights), *args)
    version = pushed["commit"]["id"][:12]
    title = unique("scaled")
    deployed = hw.json(
        *("endpoint", "deploy", "--file", "predict.py", "--function", "scaled"),
        *("--model", f"{name}@{version}", "--title", title, "--wait", "--timeout", WAIT, *args),
    )
    assert deployed["endpoint"]["versions"][0]["source"]["model"]
    assert hw.json("endpoint", "predict", title, "--data", "6", *args)["prediction"] == 42
    unknown = hw(
        *("endpoint", "deploy", "--file", "predict.py", "--function", "scaled"),
        *("--model", f"{name}@0000000", "--title", unique("nomodel"), *args),
        code=1,
    )
    assert "Error: model:" in unknown.stderr
    hw("endpoint", "delete", title, "--yes", *args)
