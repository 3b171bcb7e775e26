"""The task runtime's output path and setup, against a real HTTP peer that fails on cue.

The peer validates every body with the API's own schemas (a body the server would refuse with
422 is a lost batch), ignores resent sequence numbers as the server does, and answers 503 while
told to, as a server that is restarting would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from headwater.runtime import shipping
from headwater.runtime.reporting import TaskApi
from headwater.runtime.shipping import LogShipper
from headwater.runtime.workspace import SetupFailed, has_requirements, requirements_venv
from headwater.schemas.experiments import LogBatch, MetricBatch

pytestmark = pytest.mark.slow


# -- a peer for the shipper: validates bodies as the API does, fails when told to ------------


@dataclass
class Peer:
    url: str
    failing: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    chunks: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)  # by path
    tags: dict[str, str] = field(default_factory=dict)
    points: list[list[Any]] = field(default_factory=list)
    requests: int = 0
    refused: int = 0  # 503s answered
    invalid: list[str] = field(default_factory=list)  # bodies the API would have refused

    def stdout(self) -> str:
        return self.stream("stdout")

    def stream(self, name: str) -> str:
        """One stream's text, each task's in order of sequence numbers."""
        return "".join(
            text
            for _, chunks in sorted(self.chunks.items())
            for _, (stream, text) in sorted(chunks.items())
            if stream == name
        )

    def seqs(self) -> list[int]:
        (only,) = self.chunks.values()
        return sorted(only)


@pytest.fixture
def peer() -> Iterator[Peer]:
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.requests += 1
                if state.failing.is_set():
                    state.refused += 1
                    self._answer(503, b'{"detail": "restarting"}')
                    return
            try:
                if self.path.endswith("/logs"):
                    batch = LogBatch.model_validate_json(body)
                    with state.lock:
                        mine = state.chunks.setdefault(self.path, {})
                        for c in batch.chunks:
                            mine.setdefault(c.seq, (c.stream, c.text))  # resends are ignored
                        state.tags.update(batch.tags)
                elif self.path.endswith("/metrics"):
                    metrics = MetricBatch.model_validate_json(body)
                    with state.lock:
                        state.points += [list(p) for p in metrics.points]
            except ValidationError as exc:
                state.invalid.append(str(exc)[:200])
                self._answer(422, b'{"detail": "invalid"}')
                return
            self._answer(204, b"")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Peer(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _shipper(peer: Peer) -> LogShipper:
    """A shipper for a task of its own (sequence numbers are per task)."""
    return LogShipper(TaskApi(peer.url, "token", "p1", os.urandom(4).hex()))


def _pump_process(log: LogShipper, code: str) -> int:
    """Run Python ``code`` with its stdout and stderr read by the shipper, as a task's are."""
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    readers = [log.pump("stdout", process.stdout), log.pump("stderr", process.stderr)]
    for reader in readers:
        reader.join()
    return process.wait()


def test_output_arrives_complete_and_in_order_through_a_server_outage(peer: Peer) -> None:
    log = _shipper(peer)
    peer.failing.set()  # the server is restarting as the task starts printing
    threading.Timer(1.5, peer.failing.clear).start()
    code = (
        "import sys\n"
        "for i in range(60000):\n"
        "    print(f'line {i}')\n"
        "    if i % 1000 == 0: print(f'err {i}', file=sys.stderr)\n"
        "print('hw_tag_done: yes')\n"
    )
    assert _pump_process(log, code) == 0
    assert log.close() is None
    assert peer.refused > 0, "the outage never hit the shipper"
    assert not peer.invalid
    assert peer.seqs() == list(range(len(peer.seqs()))), "a sequence number is missing"
    expected = "".join(f"line {i}\n" for i in range(60000)) + "hw_tag_done: yes\n"
    assert peer.stdout() == expected
    assert peer.stream("stderr") == "".join(f"err {i}\n" for i in range(0, 60000, 1000))
    assert peer.tags == {"done": "yes"}


def test_characters_split_between_reads_stay_whole(peer: Peer) -> None:
    log = _shipper(peer)
    text = "é€😀" * 100_000  # 900 KB: many 64 KiB reads, cut inside characters
    code = "import sys; sys.stdout.buffer.write(('é€😀' * 100_000).encode())"
    assert _pump_process(log, code) == 0
    log.close()
    assert "\ufffd" not in peer.stdout()
    assert peer.stdout() == text


def test_secret_values_never_reach_the_log_even_split_between_reads(peer: Peer) -> None:
    log = _shipper(peer)
    secret = "s3cr3t-" + "x" * 200  # longer than a pipe read is cut at, with the sleeps below
    log.hide([secret, "ok", "-----BEGIN KEY-----\nline-of-a-key\n-----END KEY-----"])
    code = (
        "import sys, time\n"
        f"s = {secret!r}\n"
        "print('token', s, 'again', s + s)\n"
        "sys.stdout.write(s[:50]); sys.stdout.flush(); time.sleep(0.3)\n"
        "sys.stdout.write(s[50:] + '\\n'); sys.stdout.flush()\n"
        "print('hw_tag_leak:', s)\n"
        "print('line-of-a-key', file=sys.stderr)\n"
        "print('ok is too short to mask; a prefix stays', s[:20])\n"
    )
    assert _pump_process(log, code) == 0
    log.system(f"the runtime says {secret}")
    log.close()
    assert secret not in peer.stdout() + peer.stream("stderr") + peer.stream("system")
    assert peer.stdout() == (
        "token *** again ******\n***\nhw_tag_leak: ***\n"
        f"ok is too short to mask; a prefix stays {secret[:20]}\n"
    )
    assert peer.stream("stderr") == "***\n"
    assert peer.stream("system") == "the runtime says ***\n"
    assert peer.tags == {"leak": "***"}


def test_garbage_and_malformed_lines_never_break_the_stream(peer: Peer) -> None:
    log = _shipper(peer)
    code = (
        "import sys\n"
        "w = sys.stdout.buffer.write\n"
        "w(bytes(range(256)) + b'\\n')\n"
        "w(b'hw_tag_broken no colon\\n')\n"
        "w(b'hw_tag_\\xff\\xfe: bad key\\n')\n"
        "w(b'hw_linechart_loss value: not-a-number\\n')\n"
        "w(b'hw_linechart_loss value: nan\\n')\n"
        "w(b'hw_linechart_acc group: \"' + b'x' * 400 + b'\" value: 1\\n')\n"
        "w(b'cnvrg_tag_lr: 0.1\\n')\n"
        "w(b'hw_linechart_loss value: 0.5\\n')\n"
        "w(b'\\x00' * 10 + b'\\nhw_tag_last: 1')\n"  # no newline at the very end
    )
    assert _pump_process(log, code) == 0
    log.close()
    assert not peer.invalid
    assert peer.tags == {"lr": "0.1", "last": "1"}
    assert [(p[0], p[2]) for p in peer.points] == [("loss", 0.5)]
    out = peer.stdout()
    assert "\x00" not in out
    assert out.endswith("hw_tag_last: 1")
    assert "hw_tag_broken no colon" in out


def test_a_long_outage_is_held_within_bounds_and_then_sent_within_the_apis_limits(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shipping, "MAX_BUFFERED", 256 * 1024)
    log = _shipper(peer)
    peer.failing.set()
    pieces = 30_000  # interleaved streams: more pieces than one request may carry
    done = threading.Event()

    def produce() -> None:
        for i in range(pieces):
            log._queue("stdout" if i % 2 else "stderr", f"{i:08d}\n")
            if i % 5000 == 0:
                log._queue("stdout", "z" * 100_000 + "\n")  # and some large ones
        done.set()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    time.sleep(1.0)
    assert not done.is_set(), "the producer was never held back"
    with log._cond:
        held = log._pending.size
    assert held <= 256 * 1024 + 100_000 + 16
    peer.failing.clear()
    producer.join(30)
    assert done.is_set()
    held_last = log.close(hold_last=True)
    assert held_last is not None
    LogBatch.model_validate(held_last)  # the final report can carry it
    (stored,) = peer.chunks.values()
    for chunk in held_last["chunks"]:
        stored[chunk["seq"]] = (chunk["stream"], chunk["text"])
    assert not peer.invalid
    assert peer.seqs() == list(range(len(peer.seqs())))
    numbers = [int(x) for x in (peer.stdout() + peer.stream("stderr")).split() if x[0] != "z"]
    assert sorted(numbers) == list(range(pieces))


def test_the_requirements_cache_builds_once_and_a_failed_install_names_pips_error(
    peer: Peer, tmp_path: Path
) -> None:
    comment_only = tmp_path / "empty" / "requirements.txt"
    comment_only.parent.mkdir()
    comment_only.write_text("# nothing to install\n\n   # really\n")
    assert not has_requirements(comment_only)
    assert not has_requirements(tmp_path / "missing.txt")

    # Satisfied by the platform's own packages, which the venv sees: no network needed.
    wanted = tmp_path / "ok" / "requirements.txt"
    wanted.parent.mkdir()
    wanted.write_text("pydantic\n")
    venvs = tmp_path / "venvs"
    logs = [_shipper(peer), _shipper(peer)]
    built: list[Path] = []

    def build(sink: LogShipper) -> None:
        built.append(requirements_venv(wanted, venvs, sink))

    threads = [threading.Thread(target=build, args=(sink,)) for sink in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(built) == 2
    assert built[0] == built[1]
    for sink in logs:
        sink.close()
    system = peer.stream("system")
    assert system.count("installing into") == 1
    assert system.count("reusing the environment") == 1
    check = "import pydantic, headwater; print('both')"
    python = built[0] / "bin" / "python"
    assert subprocess.run([python, "-c", check], capture_output=True, text=True).stdout == "both\n"
    pip = subprocess.run([built[0] / "bin" / "pip", "--version"], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr

    broken = tmp_path / "broken" / "requirements.txt"
    broken.parent.mkdir()
    broken.write_text("./no-such-folder\n")
    sink = _shipper(peer)
    with pytest.raises(SetupFailed, match=r"pip install -r requirements\.txt failed"):
        requirements_venv(broken, venvs, sink)
    sink.close()
    assert "no-such-folder" in peer.stream("stderr") + peer.stdout()
