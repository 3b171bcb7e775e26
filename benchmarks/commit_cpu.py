"""CPU per one-file commit of a 10,020-entry tree, in process (issue 18, the one-file sync row).

The app in this process (``TestClient``, a fresh home, no engine), one project whose files hold
10,020 small blobs; then, ``--repeat`` times, one new blob uploaded and the whole 10,020-entry
commit body posted with the previous commit as its base, as ``hw sync`` sends it. Each figure
is the CPU (``time.process_time``: every thread of this process) of one POST, the test client's
own share included. ``gc.freeze()`` after start-up, as ``hw server`` does before serving.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/commit_cpu.py [--repeat 9]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

N = 10_020


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from headwater.db.repos.versions import VersionRepo
    from headwater.server import create_app
    from headwater.settings import ServerSettings

    home = Path(tempfile.mkdtemp(prefix="hw-commit-cpu-"))
    app = create_app(ServerSettings(home=home, engine=False, executor="fake"))
    token = (home / "admin.token").read_text().strip()
    http = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    try:
        platform = app.state.platform
        pid = http.post("/api/v1/projects", json={"name": "one"}).json()["id"]
        with platform.db.write() as session:
            repo = VersionRepo(session).files_repo(pid)

        def blob(*datas: bytes) -> list[str]:
            digests = [platform.objects.put(data) for data in datas]
            with platform.db.write() as session:
                VersionRepo(session).record_uploads(repo.id, digests)
            return digests

        datas = [f"file {i}\n".encode() for i in range(N)]
        entries = [
            {"path": f"dir{i // 100:03d}/sub/file{i:05d}.txt", "hash": digest}
            | {"size": len(datas[i]), "mode": 0o644}
            for i, digest in enumerate(blob(*datas))
        ]
        url = f"/api/v1/projects/{pid}/files/commits"
        answer = http.post(url, json={"entries": entries, "message": "first"})
        answer.raise_for_status()
        base = answer.json()["id"]
        gc.collect()
        gc.freeze()
        cpu = []
        for k in range(args.repeat):
            data = f"change {k} {time.time()}\n".encode()
            entries[7] = dict(entries[7], hash=blob(data)[0], size=len(data))
            body = json.dumps({"base": base, "entries": entries, "message": f"c{k}"}).encode()
            t0 = time.process_time()
            answer = http.post(url, content=body, headers={"content-type": "application/json"})
            cpu.append(time.process_time() - t0)
            answer.raise_for_status()
            base = answer.json()["id"]
        ms = [round(c * 1000, 1) for c in cpu]
        print(
            json.dumps(
                {
                    "entries": N,
                    "body_bytes": len(body),
                    "cpu_ms": ms,
                    "median_ms": round(statistics.median(cpu) * 1000, 1),
                    "loadavg": Path("/proc/loadavg").read_text().split()[:3],
                    "pythonpath": os.environ.get("PYTHONPATH", ""),
                }
            )
        )
        return 0
    finally:
        http.close()
        app.state.platform.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
