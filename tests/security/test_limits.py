"""Every input that can grow has a limit, checked before the work, and the server's memory
stays bounded under each (issue 11, items 5 and 6 of the attack run).

Each input goes to a real ``hw server`` while a thread samples its resident memory
(``VmRSS``) every few milliseconds: every answer is a 4xx within 2 s, the server stays under
300 MB throughout and afterwards, and nothing was stored. On the code before the limits the
nine-level alias bomb grew the server past 13 GB, the 9**7 one to 1.2 GB in 12 s, YAML and
JSON nested 1,000 deep gave a 500, 50,000 deep dropped the connection, and a 96 MB JSON body
took 26 s and 3.7 GB to earn its 422.
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import headwater
from headwater.client.sync import push_folder
from headwater.domain.boundedyaml import MAX_DEPTH
from headwater.domain.errors import InvalidInput
from tests.security.conftest import Site

pytestmark = pytest.mark.slow

MB = 1_000_000
RSS_CAP = 300 * MB
ANSWER_WITHIN = 2.0


def rss(pid: int) -> int:
    """The process's resident memory, in bytes, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@dataclass
class Watch:
    """The highest resident memory seen while a block ran."""

    pid: int
    peak: int = 0
    samples: list[int] = field(default_factory=list)


@contextmanager
def watching(pid: int) -> Iterator[Watch]:
    watch = Watch(pid)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            watch.samples.append(rss(pid))
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield watch
    finally:
        done.set()
        sampler.join()
        watch.samples.append(rss(pid))
        watch.peak = max(watch.samples)


def alias_bomb(levels: int) -> str:
    """The attack run's flow file: nine values, then each level nine aliases of the last."""
    names = "abcdefghijkl"
    lines = ["flow: Bomb", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * 9) + "]")
    lines.append("tasks: []")
    return "\n".join(lines) + "\n"


@dataclass
class Target:
    """A user's Personal project on the live server, spoken to over plain HTTP."""

    site: Site
    token: str
    project: str

    @property
    def pid(self) -> int:
        return self.site.server.process.pid

    @property
    def flows(self) -> str:
        return f"{self.site.url}/api/v1/projects/{self.project}/flows"

    def post(self, url: str, **kwargs: Any) -> tuple[httpx.Response, float]:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        start = time.perf_counter()
        answer = httpx.post(url, headers=headers, timeout=60, **kwargs)
        return answer, time.perf_counter() - start

    def stored_flows(self) -> list[Any]:
        answer = httpx.get(self.flows, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 200, answer.text
        items: list[Any] = answer.json()["items"]
        return items


@pytest.fixture
def target(site: Site) -> Target:
    user = site.user()
    assert user.config.token is not None
    assert user.config.project is not None
    return Target(site, user.config.token, user.config.project)


def _refused(
    target: Target, answer: httpx.Response, took: float, watch: Watch, status: int
) -> dict[str, Any]:
    assert answer.status_code == status, answer.text[:500]
    assert took < ANSWER_WITHIN, f"answered in {took:.1f} s"
    assert watch.peak < RSS_CAP, f"server peaked at {watch.peak / MB:.0f} MB"
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error", "detail", "where", "hint"}
    assert target.site.server.process.poll() is None, "the server died"
    return body


@pytest.mark.parametrize(("levels", "line"), [(9, 7), (7, 7)])
def test_a_flow_alias_bomb_is_refused_at_its_line(target: Target, levels: int, line: int) -> None:
    text = alias_bomb(levels)
    with watching(target.pid) as watch:
        answer, took = target.post(target.flows, json={"yaml": text, "file_name": "bomb.yaml"})
    body = _refused(target, answer, took, watch, 400)
    # the sixth level (line 7) is the first to expand past the limit
    assert body["where"].startswith(f"bomb.yaml:{line} "), body
    assert "aliases counted in full" in body["detail"]
    assert rss(target.pid) < RSS_CAP
    assert target.stored_flows() == []


def test_hw_flow_import_of_a_bomb_is_a_clean_error(target: Target, tmp_path: Path) -> None:
    """The SDK call behind ``hw flow import --file`` gets the error with the file's line."""
    client = target.site.client(target.token, target.project)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(9))
    with watching(target.pid) as watch, pytest.raises(InvalidInput) as caught:
        client.flows.import_file(bomb)
    assert watch.peak < RSS_CAP
    assert caught.value.where is not None
    assert caught.value.where.startswith(f"{bomb}:7 ")
    assert target.stored_flows() == []


@pytest.mark.parametrize("depth", [1_000, 50_000])
def test_deeply_nested_flow_yaml_is_refused_with_its_line(target: Target, depth: int) -> None:
    text = "flow: Deep\ntasks:\n  - " + "[" * depth + "]" * depth + "\n"
    with watching(target.pid) as watch:
        answer, took = target.post(target.flows, json={"yaml": text, "file_name": "deep.yaml"})
    body = _refused(target, answer, took, watch, 400)
    assert body["where"].startswith("deep.yaml:3 ")
    assert f"deeper than {MAX_DEPTH} levels" in body["detail"]
    assert target.stored_flows() == []


@pytest.mark.parametrize("depth", [1_000, 50_000])
def test_deeply_nested_json_is_refused_cleanly(target: Target, depth: int) -> None:
    content = '{"yaml": ' + "[" * depth + "]" * depth + ', "file_name": "x.yaml"}'
    with watching(target.pid) as watch:
        answer, took = target.post(
            target.flows, content=content, headers={"content-type": "application/json"}
        )
    body = _refused(target, answer, took, watch, 400)
    assert body["where"] == "body"
    assert "deeper than 64 levels" in body["detail"]
    assert target.stored_flows() == []


def _json_list(total: int) -> Iterator[bytes]:
    """A valid JSON body of about ``total`` bytes, made piece by piece (the test stays small)."""
    piece = b"[" + b",".join([b'{"k": 12345.678, "v": "abcdefgh"}'] * 2000) + b"],"
    yield b'{"yaml": "flow: x", "pad": ['
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)
    yield b"[]]}"


def test_a_96_mb_json_body_streamed_is_refused_before_parsing(target: Target) -> None:
    with watching(target.pid) as watch:
        answer, took = target.post(
            target.flows, content=_json_list(96 * MB), headers={"content-type": "application/json"}
        )
    body = _refused(target, answer, took, watch, 413)
    assert "8 MiB (8,388,608 bytes)" in body["detail"]
    assert "HEADWATER_MAX_BODY_BYTES" in body["hint"]
    assert target.stored_flows() == []


def test_a_96_mb_body_with_its_length_is_refused_before_it_is_read(target: Target) -> None:
    size = 96 * MB
    pieces = b"".join(_json_list(size))  # ~96 MB here, never held by the server
    with watching(target.pid) as watch:
        answer, took = target.post(
            target.flows,
            content=iter([pieces]),
            headers={"content-type": "application/json", "content-length": str(len(pieces))},
        )
    del pieces
    _refused(target, answer, took, watch, 413)


def test_a_15_mb_json_body_leaves_no_memory_held(target: Target) -> None:
    content = b"".join(_json_list(15_600_000))
    before = rss(target.pid)
    with watching(target.pid) as watch:
        for _ in range(3):
            answer, took = target.post(
                target.flows, content=content, headers={"content-type": "application/json"}
            )
            _refused(target, answer, took, watch, 413)
    after = rss(target.pid)
    assert after < RSS_CAP
    assert after - before < 50 * MB, f"+{(after - before) / MB:.0f} MB held afterwards"


def test_ordinary_requests_and_uploads_still_pass(target: Target, tmp_path: Path) -> None:
    """The limits leave work alone: a flow imports, and a 20 MB file goes up through the
    streamed upload route (over the JSON limit, and never held in the server's memory)."""
    client = target.site.client(target.token, target.project)
    flow = (
        "flow: Fine\ntasks:\n  - title: A\n    type: exec\n    input: echo hi\n"
        "    computes: [default]\nrelations: []\n"
    )
    assert client.flows.import_yaml(flow, file_name="fine.yaml").name == "Fine"
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "big.bin").write_bytes(b"\x01" * (20 * MB))
    (folder / "small.txt").write_text("hello")
    client.datasets.create("limits")
    with watching(target.pid) as watch:
        commit, pushed = push_folder(client.datasets.repo("limits"), folder, message="big")
    assert (commit.files, pushed.files) == (2, 2)
    assert watch.peak < RSS_CAP


# -- non-finite metric values ------------------------------------------------------------------

SRC = str(Path(headwater.__file__).parents[1])  # this checkout's code, in the task too

_POST_POINTS = """
import json, os, sys, httpx
url = os.environ["HEADWATER_URL"].rstrip("/")
project, ref = os.environ["HEADWATER_PROJECT"], os.environ["HW_EXPERIMENT_ID"]
path = f"{url}/api/v1/projects/{project}/experiments/{ref}/metrics"
auth = {"Authorization": "Bearer " + os.environ["HEADWATER_TOKEN"],
        "content-type": "application/json"}
for body in sys.argv[1:]:
    answer = httpx.post(path, content=body, headers=auth)
    print("ANSWER", answer.status_code, json.dumps(answer.json()))
"""


def test_non_finite_metric_values_are_refused_naming_the_point(site: Site) -> None:
    """``1e999`` is valid JSON that parses as infinity: it was stored, and then every read of
    the experiment's metrics failed."""
    client = site.user()
    bodies = [
        '{"points": [["loss", 1, 0.5, null], ["loss", 2, 1e999, null]]}',
        '{"points": [["loss", 1, 0.5, null], ["loss", 2, -1e999, null]]}',
        '{"points": [["loss", 1, 0.5, null], ["loss", 2, Infinity, null]]}',
        '{"points": [["loss", 1, 0.5, null], ["loss", 2, 0.25, 1e999]]}',
        '{"points": [["loss", 1, 0.5, null]]}',
    ]
    quoted = " ".join("'" + b + "'" for b in bodies)
    # the script travels in the command: the sandboxed task sees no folder of this test's
    ran = site.run(client, f"{sys.executable} -c {shlex.quote(_POST_POINTS)} {quoted}")
    answers = [line.split(" ", 2)[1:] for line in ran.log.splitlines() if line.startswith("ANSWER")]
    assert len(answers) == len(bodies), ran.log
    for status, body in answers[:-1]:
        error = json.loads(body)
        assert status == "400", ran.log
        assert error["where"] == "points[1]"
        assert "not a finite number" in error["detail"]
    assert answers[-1][0] == "200", ran.log
    series = client.experiments.metrics(ran.experiment.id)
    assert [(s.key, s.values) for s in series] == [("loss", [0.5])]


_SDK_AND_LINES = """
import sys
sys.path.insert(0, sys.argv[1])
from headwater import Experiment
print("hw_linechart_x value: inf", flush=True)
print("hw_linechart_x value: 1.5", flush=True)
with Experiment() as run:
    run.log_metric("loss", 0.5)
    run.log_metric("loss", float("inf"))
    run.log_metric("loss", float("nan"))
    run.log_metric("loss", 0.25)
"""


def test_a_task_logging_non_finite_values_still_succeeds(site: Site) -> None:
    """A diverged loss skips its point with a line in the log; the rest is stored, the task
    succeeds, and ``hw experiments metrics`` reads it back."""
    client = site.user()
    ran = site.run(client, f"{sys.executable} -c {shlex.quote(_SDK_AND_LINES)} {SRC}")
    assert ran.experiment.state.value == "success", ran.log
    assert "hw_linechart_x value: inf" in ran.log  # the line stays in the log, as text
    assert "metric 'loss': skipped the value inf (not a finite number)" in ran.log
    series = {s.key: s.values for s in client.experiments.metrics(ran.experiment.id)}
    assert series == {"x": [1.5], "loss": [0.5, 0.25]}
