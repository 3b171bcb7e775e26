"""Flow expansion benchmark (issue 5): a flow whose grid gives 10,000 instances, expanded.

    .venv/bin/python benchmarks/flows_expand.py [--repeat 5]

Pure code, no server: parse the flow file, then expand every task as the flow driver would
(``expand_all``: each task once its parents' instances have ended, tags included). Three
shapes of 10,000 instances of one task:

* **own grid**: one task with two parameters of 100 values each;
* **routes**: a task with a grid of 100 after a parent with a grid of 100 (X x Y);
* **dynamic**: a task with ``{{ Params.route | hyper }}`` after a parent whose 100 instances
  each record a ``route`` tag of 100 values, plus a condition that every instance passes.

Prints the median and the worst of ``--repeat`` runs of each; the target is under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping

from headwater.domain.flowspec import Flow, Planned, count_routes, expand_all, parse_flow

VALUES = ", ".join(str(i) for i in range(100))
HEAD = "flow: bench\ntasks:\n- {title: Data, type: data, dataset: d}\n"


def _task(title: str, params: str, extra: str = "") -> str:
    return (
        f"- title: {title}\n  type: exec\n  input: python3 run.py\n  computes: [c]\n"
        f"  params:\n{params}{extra}"
    )


def own_grid() -> tuple[str, None]:
    params = f"  - key: a\n    value: [{VALUES}]\n  - key: b\n    value: [{VALUES}]\n"
    text = HEAD + _task("Grid", params) + "relations:\n- {from: Data, to: Grid}\n"
    return text, None


def routes() -> tuple[str, None]:
    params = f"  - key: a\n    value: [{VALUES}]\n"
    text = (
        HEAD
        + _task("A", params)
        + _task("B", params.replace("key: a", "key: b"))
        + "relations:\n- {from: Data, to: A}\n- {from: A, to: B}\n"
    )
    return text, None


def dynamic() -> tuple[str, Callable[[str, int, Planned], Mapping[str, str]]]:
    params = f"  - key: n\n    value: [{VALUES}]\n"
    hyper = "  - key: route\n    value: '{{ Params.route | hyper }}'\n"
    cond = "  conditions:\n  - {objective: gt, task: Params, tag_key: acc, target: -1}\n"
    text = (
        HEAD
        + _task("Params", params)
        + _task("Dynamic", hyper, cond)
        + "relations:\n- {from: Data, to: Params}\n- {from: Params, to: Dynamic}\n"
    )
    route = ",".join(str(i) for i in range(100))

    def tags(task: str, n: int, planned: Planned) -> Mapping[str, str]:
        return {"route": route, "acc": str(n / 100)} if task == "Params" else {}

    return text, tags


def run_once(text: str, tags: Callable[[str, int, Planned], Mapping[str, str]] | None) -> float:
    start = time.perf_counter()
    flow: Flow = parse_flow(text, source="bench.yaml")
    got = expand_all(flow, tags)
    elapsed = time.perf_counter() - start
    biggest = max(len(e.instances) for e in got.values())
    assert biggest == 10_000, biggest
    assert count_routes(got) > 10_000
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'shape':<10} {'instances':>9} {'median s':>9} {'worst s':>8}")
    for name, build in (("own grid", own_grid), ("routes", routes), ("dynamic", dynamic)):
        text, tags = build()
        run_once(text, tags)  # warm-up: imports, caches
        times = [run_once(text, tags) for _ in range(args.repeat)]
        print(f"{name:<10} {10_000:>9,} {statistics.median(times):>9.3f} {max(times):>8.3f}")


if __name__ == "__main__":
    main()
