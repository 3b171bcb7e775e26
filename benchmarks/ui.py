"""UI benchmark: the experiments page with 10,000 experiments, and the size of the shipped JS.

    .venv/bin/python benchmarks/ui.py [--experiments 10000] [--repeat 5]

Issue 6's targets: with 10,000 experiments, the experiments page is interactive in under 1 s on
loopback; the gzipped JavaScript is under 300 KB. Issue 16's: the same with every experiment
holding 3 params and 5 metrics, the metric columns shown and the table sorted by a metric.

A real ``hw server`` on a free loopback port with a fresh home (SQLite) and the engine off
(``HEADWATER_ENGINE=false``: the experiments stay queued, which the page shows as well), one
project, and the experiments created through the API (``POST .../experiments`` with ``runs``,
up to 10,000 combinations a request, 3 params each). Metrics only a task's own token may
post, and no task runs: the 5 metrics (20 points each) are written through
``ExperimentRepo.add_metrics`` into the server's database, the same code the metrics route runs.
Then Debian's Chromium, headless, through Playwright, with the flags of ``tests/e2e/ui``, logged
in with the admin's API token (in ``localStorage``, as the login form's token mode keeps it),
opens ``/projects/{pid}/experiments``:

* the page opens sorted by a metric (``?sort=metrics.accuracy.max``) with seven metric columns
  chosen (each metric's latest value, accuracy's max and loss's min, in ``localStorage`` as the
  column chooser keeps them);
* interactive = from navigation start (``performance.timeOrigin``) to the first row of the
  experiments table visible with its ``metrics.accuracy.max`` cell filled *and* the "From #"
  filter input enabled, checked every animation frame in the page;
* sort click = from a click on the ``loss (min)`` header to the best run by that column (asked of
  the API beforehand) in the first row;
* ``domContentLoaded`` and ``load`` from ``PerformanceNavigationTiming``;
* cold: a fresh browser context (empty cache) per try; warm: the same context, navigated again.

Sizes: every ``static/assets/*.js`` gzipped at level 9, the total, and the JS the page requested
(from the requests Playwright sees). Prints a markdown table and writes
``benchmarks/results/ui-<date>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HW = Path(sys.executable).with_name("hw")
STATIC = REPO / "src" / "headwater" / "server" / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # tests/e2e/ui/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOST = "127.0.0.1"
TARGET_INTERACTIVE_MS = 1000.0
TARGET_JS_GZIP_BYTES = 300 * 1000  # "300 KB"; 300 KiB would be 307,200
TIMEOUT_MS = 30_000

# Resolves with performance.now() (ms since navigation start) once the page is interactive.
METRICS = ("accuracy", "loss", "f1", "precision", "recall")
COLUMNS = [{"kind": "metrics", "key": k} for k in METRICS] + [
    {"kind": "metrics", "key": "accuracy", "agg": "max"},
    {"kind": "metrics", "key": "loss", "agg": "min"},
]
SORT = "metrics.accuracy.max"
READY_JS = """
() => new Promise((resolve) => {
  const check = () => {
    const row = document.querySelector('table[aria-label="Experiments"] tbody tr');
    const cell = row && row.querySelector('td[data-column="metrics.accuracy.max"]');
    const box = [...document.querySelectorAll('form[aria-label="Filter experiments"] label')]
      .find((l) => l.textContent.trim().startsWith('From #'));
    const input = box && box.querySelector('input');
    const shown = row && row.getBoundingClientRect().height > 0 && row.checkVisibility();
    if (shown && cell && cell.textContent && input && !input.disabled) resolve(performance.now());
    else requestAnimationFrame(check);
  };
  check();
})
"""
# Clicks the "loss (min)" header's sort button; resolves with the ms until the first row is
# experiment ``best`` (twice: the first click sorts highest first, the second lowest first).
SORT_CLICK_JS = """
(best) => new Promise((resolve) => {
  const header = [...document.querySelectorAll('table[aria-label="Experiments"] th')]
    .find((th) => th.textContent.includes('loss (min)'));
  const button = header.querySelector('button');
  const first = () => document.querySelector(
    'table[aria-label="Experiments"] tbody tr td:nth-child(2)');
  let t0 = 0;
  const check = () => {
    const f = first();
    if (header.getAttribute('aria-sort') === 'ascending' && f && f.textContent.trim() === best)
      resolve(performance.now() - t0);
    else requestAnimationFrame(check);
  };
  button.click();  // highest first
  const again = () => {
    if (header.getAttribute('aria-sort') === 'descending') {
      t0 = performance.now();
      button.click();  // lowest first: the best loss
      check();
    } else requestAnimationFrame(again);
  };
  again();
})
"""
NAV_JS = """
() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
          responseEnd: n.responseEnd, transferSize: n.transferSize,
          resources: performance.getEntriesByType('resource').map((r) => ({
            name: new URL(r.name).pathname + new URL(r.name).search,
            start: Math.round(r.startTime), end: Math.round(r.responseEnd),
            transferSize: r.transferSize, encodedBodySize: r.encodedBodySize}))};
}
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``hw server`` on loopback, fresh home, SQLite, engine off."""

    def __init__(self, work: Path) -> None:
        self.home = work / "hw-home"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = work / "hw-server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        env.update(HEADWATER_ENGINE="false", HOME=str(self.home.parent))
        cmd = [str(HW), "server", "--home", str(self.home), "--port", str(self.port)]
        cmd += ["--host", HOST, "--log-level", "warning"]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hw server exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError, OSError):
                token = self.home / "admin.token"
                if token.exists() and httpx.get(f"{self.url}/healthz", timeout=2).is_success:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("hw server did not become healthy in 120 s")
            time.sleep(0.2)
        self.token = (self.home / "admin.token").read_text().strip()

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def seed(server: Server, n: int) -> dict[str, Any]:
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=600,
    )
    with api:
        project = api.post("/projects", json={"name": "ui-bench"})
        project.raise_for_status()
        pid = project.json()["id"]
        t0 = time.perf_counter()
        made, batch = 0, 10_000
        ids: list[str] = []
        while made < n:
            k = min(batch, n - made)
            runs = [
                {"lr": f"0.{i % 100:02d}", "seed": str(made + i), "batch": str(2 ** (i % 8))}
                for i in range(k)
            ]
            body = {"command": "python train.py", "runs": runs, "title": "bench"}
            resp = api.post(f"/projects/{pid}/experiments", json=body)
            if resp.is_error:
                raise RuntimeError(f"create experiments: {resp.status_code} {resp.text[:500]}")
            ids += [e["id"] for e in resp.json()]
            made += k
        seed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        add_metrics(server, ids)
        metrics_s = time.perf_counter() - t0
        total = api.get(f"/projects/{pid}/experiments", params={"limit": 1}).json()["total"]
        path = f"/projects/{pid}/experiments"
        timings = {}
        for name, params in {
            "api_page_ms": {"limit": 50},
            "api_sorted_by_metric_ms": {"limit": 25, "sort": SORT},
            "api_filtered_ms": {"limit": 25, "sort": SORT, "filter": "lr > 0.5 and loss.min < 0.3"},
        }.items():
            api.get(path, params=params).raise_for_status()  # warm
            t0 = time.perf_counter()
            api.get(path, params=params).raise_for_status()
            timings[name] = (time.perf_counter() - t0) * 1000
        best = api.get(path, params={"limit": 1, "sort": "metrics.loss.min", "desc": False})
        best_loss = str(best.json()["items"][0]["number"])
    log(
        f"seeded {total} experiments in {seed_s:.1f} s, their metrics in {metrics_s:.1f} s; "
        + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
    )
    return {
        "project": pid,
        "experiments": total,
        "seed_s": seed_s,
        "metrics_s": metrics_s,
        "best_loss": best_loss,
        **timings,
    }


def add_metrics(server: Server, ids: list[str]) -> None:
    """Each experiment's 5 metrics, 20 points each, written as the metrics route writes them."""
    import random

    from headwater.db.database import Database
    from headwater.db.repos.experiments import ExperimentRepo

    rng = random.Random(16)
    db = Database(f"sqlite:///{server.home / 'headwater.db'}")
    try:
        for start in range(0, len(ids), 500):
            with db.engine.begin() as conn:
                from sqlalchemy.orm import Session

                with Session(bind=conn) as session:
                    repo = ExperimentRepo(session)
                    for eid in ids[start : start + 500]:
                        skill = rng.random()
                        points = [
                            (key, step, _curve(key, skill, step, rng), None)
                            for key in METRICS
                            for step in range(20)
                        ]
                        repo.add_metrics(eid, points)
                    session.flush()
    finally:
        db.dispose()


def _curve(key: str, skill: float, step: int, rng: Any) -> float:
    progress = (step + 1) / 20 * skill
    noise = rng.uniform(-0.02, 0.02)
    return (1 - progress) + noise if key == "loss" else progress + noise


def js_sizes() -> dict[str, Any]:
    files = {}
    for path in sorted((STATIC / "assets").glob("*.js")):
        raw = path.read_bytes()
        files[path.name] = {"bytes": len(raw), "gzip9": len(gzip.compress(raw, compresslevel=9))}
    return {
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "total_gzip9": sum(f["gzip9"] for f in files.values()),
    }


def measure(
    server: Server, pid: str, repeat: int, sizes: dict[str, Any], best: str
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    url = f"{server.url}/projects/{pid}/experiments?sort={SORT}"
    token_js = (
        f"localStorage.setItem('headwater.token', {json.dumps(server.token)});"
        f"localStorage.setItem('headwater.columns.{pid}', {json.dumps(json.dumps(COLUMNS))});"
    )
    tries: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    clicks: list[float] = []
    loaded_js: dict[str, dict[str, Any]] = {}

    def one(page: Any, kind: str) -> None:
        requests: list[str] = []
        responses: list[Any] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", lambda r: responses.append(r))
        page.goto(url, wait_until="commit")
        ready = page.evaluate(READY_JS)
        page.wait_for_load_state("load")
        nav = page.evaluate(NAV_JS)
        js = [urlparse(u).path for u in requests if urlparse(u).path.endswith(".js")]
        api_calls = [u for u in requests if "/api/v1/" in u]
        row = {"interactive_ms": ready, **nav, "js": sorted(set(js)), "api_requests": api_calls}
        tries[kind].append(row)
        for resp in responses:  # the bytes served, gzipped here (the build may change on disk)
            name = Path(urlparse(resp.url).path).name
            if name.endswith(".js") and name not in loaded_js:
                body = resp.body()
                loaded_js[name] = {
                    "bytes": len(body),
                    "gzip9": len(gzip.compress(body, compresslevel=9)),
                    "content_encoding": resp.headers.get("content-encoding"),
                }
        log(
            f"{kind}: interactive {ready:.0f} ms, DOMContentLoaded {nav['domContentLoaded']:.0f} "
            f"ms, load {nav['load']:.0f} ms, {len(api_calls)} API requests"
        )

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        version = browser.version
        try:
            # One untimed load first: the server's first requests warm its caches and imports.
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            ctx.add_init_script(token_js)
            page = ctx.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.evaluate(READY_JS)
            ctx.close()
            for _ in range(repeat):
                ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                ctx.add_init_script(token_js)
                page = ctx.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                one(page, "cold")
                page.close()
                page = ctx.new_page()  # same context: the HTTP cache is warm
                page.set_default_timeout(TIMEOUT_MS)
                one(page, "warm")
                clicks.append(page.evaluate(SORT_CLICK_JS, best))
                log(f"sort click: {clicks[-1]:.0f} ms to the best loss in the first row")
                ctx.close()
        finally:
            browser.close()
    loaded = {
        "files": loaded_js,
        "total_gzip9": sum(f["gzip9"] or 0 for f in loaded_js.values()),
        "total_bytes": sum(f["bytes"] or 0 for f in loaded_js.values()),
    }
    return {
        "chromium": version,
        "url_path": urlparse(url).path + "?" + urlparse(url).query,
        "tries": tries,
        "sort_click_ms": clicks,
        "loaded": loaded,
    }


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "max": max(values), "min": min(values)}


def verdict(ok: bool) -> str:
    return "**pass**" if ok else "**miss**"


def table(res: dict[str, Any]) -> str:
    lines = [
        "| cache | interactive ms (median / max) | DOMContentLoaded ms | load ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind in ("cold", "warm"):
        s = res["summary"][kind]
        i, d, ld = s["interactive_ms"], s["domContentLoaded"], s["load"]
        lines.append(
            f"| {kind} | {i['median']:.0f} / {i['max']:.0f} | {d['median']:.0f} / {d['max']:.0f} "
            f"| {ld['median']:.0f} / {ld['max']:.0f} |"
        )
    lines += [
        "",
        "| JS file | bytes | gzip -9 bytes | loaded by the page |",
        "| --- | ---: | ---: | --- |",
    ]
    loaded = res["browser"]["loaded"]["files"]
    for name, f in res["js"]["files"].items():
        lines.append(
            f"| `{name}` | {f['bytes']:,} | {f['gzip9']:,} | {'yes' if name in loaded else 'no'} |"
        )
    lines.append(f"| all | {res['js']['total_bytes']:,} | {res['js']['total_gzip9']:,} | |")
    lines.append(
        f"| loaded by the experiments page | {res['browser']['loaded']['total_bytes']:,} "
        f"| {res['browser']['loaded']['total_gzip9']:,} | |"
    )
    clicks = res["browser"]["sort_click_ms"]
    worst = max(res["summary"][k]["interactive_ms"]["max"] for k in ("cold", "warm"))
    cold = res["summary"]["cold"]["interactive_ms"]["median"]
    n = res["seed"]["experiments"]
    total, page = res["js"]["total_gzip9"], res["browser"]["loaded"]["total_gzip9"]
    lines += [
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        f"| interactive < 1 s with {n:,} experiments: median (cold) | {cold:.0f} ms "
        f"| {verdict(cold < TARGET_INTERACTIVE_MS)} |",
        f"| interactive < 1 s with {n:,} experiments: every load (cold and warm) "
        f"| worst {worst:.0f} ms | {verdict(worst < TARGET_INTERACTIVE_MS)} |",
        f"| a click that sorts by a metric column, to the best run first (median / max) "
        f"| {statistics.median(clicks):.0f} / {max(clicks):.0f} ms "
        f"| {verdict(max(clicks) < TARGET_INTERACTIVE_MS)} |",
        f"| API: a page sorted by a metric; filtered too "
        f"| {res['seed']['api_sorted_by_metric_ms']:.0f} ms; "
        f"{res['seed']['api_filtered_ms']:.0f} ms | |",
        f"| gzipped JS < 300 KB | all {total / 1000:.1f} KB; the page loads {page / 1000:.1f} KB "
        f"| {verdict(total < TARGET_JS_GZIP_BYTES)} |",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--experiments", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="cold and warm loads each")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found: install Debian's chromium", file=sys.stderr)
        return 2
    if not (STATIC / "index.html").is_file():
        print(f"no built UI under {STATIC}: pip install -e . builds it", file=sys.stderr)
        return 2
    today = dt.date.today().isoformat()
    out = args.out or HERE / "results" / f"ui-{today}.json"
    sizes = js_sizes()
    with tempfile.TemporaryDirectory(prefix="hw-ui-bench-") as tmp:
        server = Server(Path(tmp))

        def on_term(*_: Any) -> None:
            server.stop()
            sys.exit(143)

        signal.signal(signal.SIGTERM, on_term)
        try:
            server.start()
            seeded = seed(server, args.experiments)
            browser = measure(server, seeded["project"], args.repeat, sizes, seeded["best_loss"])
        finally:
            server.stop()
    after = js_sizes()
    if after["files"].keys() != sizes["files"].keys():
        log("the built UI changed on disk during the run: sizes are from before and after")
    summ = {
        kind: {
            key: summary([t[key] for t in browser["tries"][kind]])
            for key in ("interactive_ms", "domContentLoaded", "load")
        }
        for kind in ("cold", "warm")
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    res = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": {"cpus": os.cpu_count(), "loadavg_after": os.getloadavg()},
        "python": sys.version.split()[0],
        "config": {"experiments": args.experiments, "repeat": args.repeat, "flags": CHROMIUM_ARGS},
        "targets": {"interactive_ms": TARGET_INTERACTIVE_MS, "js_gzip_bytes": TARGET_JS_GZIP_BYTES},
        "seed": seeded,
        "js": sizes,
        "js_after_run": after,
        "browser": browser,
        "summary": summ,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(table(res))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
