"""A directed acyclic graph of named steps: order, readiness, cycles, what a failure blocks.

Pure and generic, so the flow driver, the validator and the ``inspect`` graph share one set
of rules and each rule is unit-tested on its own. Node order (the order given) breaks ties,
so every listing is deterministic: the file's order, not a hash's.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Hashable, Iterable
from typing import Generic, TypeVar

from headwater.domain.errors import InvalidInput

N = TypeVar("N", bound=Hashable)


class CycleError(InvalidInput):
    """The graph loops back on itself; ``cycle`` lists the nodes, first one repeated last."""

    def __init__(self, cycle: tuple[object, ...], *, where: str | None = None) -> None:
        self.cycle = cycle
        path = " -> ".join(str(n) for n in cycle)
        super().__init__(
            f"the tasks form a cycle: {path}",
            where=where,
            hint="A flow is a DAG: remove one of these relations so no task follows itself.",
        )


class Dag(Generic[N]):
    """Nodes and edges ``(before, after)``; repeated nodes and edges count once."""

    __slots__ = ("_children", "_index", "_parents", "nodes")

    def __init__(self, nodes: Iterable[N], edges: Iterable[tuple[N, N]]) -> None:
        self.nodes: tuple[N, ...] = tuple(dict.fromkeys(nodes))
        self._index = {n: i for i, n in enumerate(self.nodes)}
        parents: dict[N, dict[N, None]] = {n: {} for n in self.nodes}
        children: dict[N, dict[N, None]] = {n: {} for n in self.nodes}
        for before, after in edges:
            if before not in self._index or after not in self._index:
                raise ValueError(f"edge {before!r} -> {after!r} names an unknown node")
            parents[after][before] = None
            children[before][after] = None
        self._parents = {n: self._sorted(p) for n, p in parents.items()}
        self._children = {n: self._sorted(c) for n, c in children.items()}

    def _sorted(self, nodes: Iterable[N]) -> tuple[N, ...]:
        return tuple(sorted(nodes, key=self._index.__getitem__))

    def parents(self, node: N) -> tuple[N, ...]:
        return self._parents[node]

    def children(self, node: N) -> tuple[N, ...]:
        return self._children[node]

    def roots(self) -> tuple[N, ...]:
        return tuple(n for n in self.nodes if not self._parents[n])

    def leaves(self) -> tuple[N, ...]:
        return tuple(n for n in self.nodes if not self._children[n])

    def find_cycle(self) -> tuple[N, ...] | None:
        """One cycle as ``(a, b, ..., a)``, or None; depth-first, iterative (deep graphs)."""
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self.nodes, white)
        for start in self.nodes:
            if colour[start] != white:
                continue
            stack: list[tuple[N, int]] = [(start, 0)]
            colour[start] = grey
            while stack:
                node, i = stack[-1]
                kids = self._children[node]
                if i == len(kids):
                    colour[node] = black
                    stack.pop()
                    continue
                stack[-1] = (node, i + 1)
                kid = kids[i]
                if colour[kid] == grey:
                    path = [n for n, _ in stack]
                    return (*path[path.index(kid) :], kid)
                if colour[kid] == white:
                    colour[kid] = grey
                    stack.append((kid, 0))
        return None

    def order(self) -> tuple[N, ...]:
        """Parents before children, ties in node order; raises ``CycleError``."""
        cycle = self.find_cycle()
        if cycle is not None:
            raise CycleError(cycle)
        waiting = [len(self._parents[n]) for n in self.nodes]
        ready = [i for i, w in enumerate(waiting) if w == 0]  # a heap of node positions
        out: list[N] = []
        while ready:
            node = self.nodes[heapq.heappop(ready)]
            out.append(node)
            for kid in self._children[node]:
                k = self._index[kid]
                waiting[k] -= 1
                if waiting[k] == 0:
                    heapq.heappush(ready, k)
        return tuple(out)

    def ancestors(self, node: N) -> frozenset[N]:
        return self._reach([node], self._parents)

    def descendants(self, *nodes: N) -> frozenset[N]:
        """Everything after ``nodes``: what a failure there skips."""
        return self._reach(nodes, self._children)

    @staticmethod
    def _reach(starts: Iterable[N], links: dict[N, tuple[N, ...]]) -> frozenset[N]:
        seen: set[N] = set()
        todo = [n for s in starts for n in links[s]]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(links[node])
        return frozenset(seen)

    def ready(self, finished: Collection[N], started: Collection[N] = ()) -> tuple[N, ...]:
        """Nodes that may start now: every parent finished well, and not begun yet.

        ``finished`` holds the nodes that ended well; ``started`` every other node that has
        begun or ended (running, failed, skipped). What follows a failure never becomes ready;
        ``descendants(failed)`` names it, to be marked skipped.
        """
        done = set(finished)
        taken = done | set(started)
        return tuple(
            n for n in self.nodes if n not in taken and all(p in done for p in self._parents[n])
        )
