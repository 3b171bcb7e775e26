"""YAML from users, composed with limits: every YAML text Headwater reads goes through here.

PyYAML composes aliases as references to the anchored node, so composing is cheap; the cost
comes when something walks the result, where each alias is expanded in full. Nine levels of
``[*a, *a, ...]`` fit in 420 bytes and expand to 9**9 nodes (gigabytes). So while composing we
keep, for every node, its expanded size and height, and charge each alias the size of what it
names: the document is refused at the alias that pushes the total past ``MAX_NODES``, or the
nesting past ``MAX_DEPTH``, before anything is expanded. The composer recurses once per level,
so the depth limit also keeps deep ``[[[[...`` far from Python's recursion limit. An alias to
its own enclosing node (a loop, which PyYAML accepts) is refused too.
"""

from __future__ import annotations

from typing import Any, NoReturn

import yaml

from headwater.domain.errors import InvalidInput

MAX_NODES = 100_000
"""Nodes in a document once every alias is expanded; a large flow file has a few thousand."""
MAX_DEPTH = 64
"""Levels of nesting (aliases counted as expanded); flow files use about six."""


class YamlTooLarge(InvalidInput):
    """A YAML document over a limit; ``line`` is where it went over (1-based)."""

    def __init__(self, detail: str, *, source: str, line: int, hint: str) -> None:
        super().__init__(detail, where=f"{source}:{line}", hint=hint)
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader whose composer counts expanded nodes and nesting as it goes."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.expanded = 0  # nodes of the document, aliases expanded
        self.depth = 0
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            return self._alias(parent, index)
        self.depth += 1
        mark = self._next_mark()
        if self.depth > MAX_DEPTH:
            self._refuse(f"nesting deeper than {MAX_DEPTH} levels", mark, _DEPTH_HINT)
        self._charge(1, mark)
        node = self._composed(parent, index)
        self.depth -= 1
        children = _children(node)
        size = 1 + sum(self.sizes[id(c)][0] for c in children)
        height = 1 + max((self.sizes[id(c)][1] for c in children), default=0)
        self.sizes[id(node)] = (size, height)
        return node

    def _alias(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        mark = self._next_mark()
        node = self._composed(parent, index)  # an undefined alias raises here
        known = self.sizes.get(id(node))
        if known is None:  # the anchor is still open: the alias sits inside what it names
            self._refuse("an alias refers to a node that contains it (a loop)", mark, _LOOP_HINT)
        size, height = known
        if self.depth + height > MAX_DEPTH:
            self._refuse(
                f"this alias nests the document deeper than {MAX_DEPTH} levels", mark, _DEPTH_HINT
            )
        # the alias itself adds no node: what it names is counted again, in full
        self._charge(size, mark)
        return node

    def _next_mark(self) -> yaml.Mark:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = event.start_mark
        assert isinstance(mark, yaml.Mark)  # the pure-Python parser marks every event
        return mark

    def _composed(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        node = super().compose_node(parent, index)
        assert node is not None  # only an empty document has no node, and it never gets here
        return node

    def _charge(self, nodes: int, mark: yaml.Mark) -> None:
        self.expanded += nodes
        if self.expanded > MAX_NODES:
            self._refuse(
                f"the document expands to more than {MAX_NODES:,} values (aliases counted in full)",
                mark,
                "Write the values out or use fewer aliases; anchors that repeat anchors multiply.",
            )

    def _refuse(self, detail: str, mark: yaml.Mark, hint: str) -> NoReturn:
        raise YamlTooLarge(detail, source=self.source, line=mark.line + 1, hint=hint)


_DEPTH_HINT = "Flatten the structure: no Headwater file nests more than a few levels."
_LOOP_HINT = "Point the alias at a node outside itself, or write the value out."


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def compose(text: str, *, source: str) -> yaml.Node | None:
    """The node tree of one YAML document, or None when empty.

    Raises ``YamlTooLarge`` past a limit (with the line), ``yaml.YAMLError`` for bad syntax.
    """
    loader = _BoundedLoader(text, source)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def safe_load(text: str, *, source: str) -> Any:
    """``yaml.safe_load`` within the limits: plain Python data, or None when empty."""
    loader = _BoundedLoader(text, source)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
