"""The experiments table's filter language, read into a tree: ``lr > 0.1 and accuracy >= 0.9``.

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not" factor | "(" expr ")" | name OP value
    name    := segment ("." segment)*      segment: letters, digits, _ - / or a `quoted` one
    OP      := == | = | != | < | <= | > | >=
    value   := number | "text" | 'text' | word     (a word: failed, adam, 2026-01-01, 5m)

Names stay unresolved here (``Name``): which of params, tags, metrics or the built-in columns a
name means depends on the project's experiments, and ``columns.resolve`` decides it. Every node
keeps the column (1-based) where it starts, so an error can point into the expression. The input
is bounded (length, nesting, comparisons) before any work grows with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headwater.domain.errors import InvalidInput
from headwater.domain.jobs import JobState
from headwater.domain.runquery.nodes import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Name,
    Node,
    Not,
    Op,
    Value,
)

MAX_LENGTH = 1000  # characters of one filter
MAX_DEPTH = 12  # parentheses and "not"s inside each other
MAX_COMPARISONS = 40

_STOP = set(" \t\r\n()\"'`=!<>")
KEYWORDS = ("and", "or", "not")


_OPS = {"==": Op.EQ, "=": Op.EQ, "!=": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE}


def syntax_error(what: str, at: int, hint: str) -> InvalidInput:
    """An error that points at a column of the expression (1-based)."""
    return InvalidInput(what, where=f"filter, column {at}", hint=hint)


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "quoted_name", "op", "(", ")", "end"
    text: str
    at: int  # 1-based column
    end: int  # 1-based column just after it


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise syntax_error(
            f"the filter is {len(text)} characters long; at most {MAX_LENGTH} are read",
            MAX_LENGTH + 1,
            "Shorten it: filter on fewer columns, or narrow the list another way.",
        )
    bad = next((i for i, c in enumerate(text) if ord(c) < 32 and c not in "\t\r\n"), None)
    if bad is not None:  # NUL and the like: no column or value holds them (PostgreSQL refuses NUL)
        raise syntax_error(
            f"the filter holds a control character ({ord(text[bad]):#04x})",
            bad + 1,
            "Remove it; write the expression as plain text.",
        )
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(Token(c, c, i + 1, i + 2))
            i += 1
        elif c in "=!<>":
            op = text[i : i + 2] if text[i : i + 2] in _OPS else c
            if op not in _OPS:
                raise syntax_error(
                    f"{op!r} is not an operator", i + 1, "Operators: == != < <= > >=."
                )
            tokens.append(Token("op", op, i + 1, i + 1 + len(op)))
            i += len(op)
        elif c in "\"'`":
            content, j = _quoted(text, i)
            kind = "quoted_name" if c == "`" else "string"
            tokens.append(Token(kind, content, i + 1, j + 1))
            i = j
        else:
            j = i
            while j < len(text) and text[j] not in _STOP and not text[j].isspace():
                j += 1
            tokens.append(Token("word", text[i:j], i + 1, j + 1))
            i = j
    tokens.append(Token("end", "", len(text) + 1, len(text) + 1))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The content of a quoted string starting at ``start`` and the index after it;
    a backslash escapes the next character."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise syntax_error(
        f"the text that starts with {quote} is never closed",
        start + 1,
        f"End it with a matching {quote} (write \\{quote} for a {quote} inside it).",
    )


def parse_filter(text: str) -> Node | None:
    """The tree of a filter; ``None`` for an empty one (everything matches)."""
    tokens = tokenize(text)
    if tokens[0].kind == "end":
        return None
    parser = _Parser(tokens)
    expr = parser.expr(0)
    last = parser.peek()
    if last.kind != "end":
        raise syntax_error(
            f"unexpected {last.text!r} after a complete condition",
            last.at,
            "Join conditions with `and` or `or`, e.g. `lr > 0.1 and accuracy >= 0.9`.",
        )
    return expr


def parse_name(text: str, where: str = "sort") -> Name:
    """A column name alone (the sort), with errors placed at ``where``."""
    try:
        tokens = tokenize(text.strip())
        parser = _Parser(tokens)
        name = parser.name()
        if parser.peek().kind != "end":
            raise syntax_error("a column name is expected, nothing more", parser.peek().at, "")
    except InvalidInput as exc:
        raise InvalidInput(
            f"{text!r} is not a column name: {exc.detail}",
            where=where,
            hint="Sort by a column: number, title, status, created, duration, params.lr, "
            "metrics.loss.min, or a bare name such as accuracy.",
        ) from None
    return name


def _is_keyword(token: Token, word: str) -> bool:
    return token.kind == "word" and token.text.lower() == word


class _Parser:
    """Recursive descent over the tokens; ``depth`` counts nesting against ``MAX_DEPTH``."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.comparisons = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expr(self, depth: int) -> Node:
        items = [self.term(depth)]
        while _is_keyword(self.peek(), "or"):
            self.take()
            items.append(self.term(depth))
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def term(self, depth: int) -> Node:
        items = [self.factor(depth)]
        while _is_keyword(self.peek(), "and"):
            self.take()
            items.append(self.factor(depth))
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def factor(self, depth: int) -> Node:
        token = self.peek()
        if depth >= MAX_DEPTH:
            raise syntax_error(
                f"conditions are nested more than {MAX_DEPTH} deep",
                token.at,
                "Remove parentheses or `not`s: `a and (b and c)` is `a and b and c`.",
            )
        if _is_keyword(token, "not"):
            self.take()
            return Not(self.factor(depth + 1))
        if token.kind == "(":
            self.take()
            inner = self.expr(depth + 1)
            close = self.take()
            if close.kind != ")":
                raise syntax_error(
                    f"expected ')' to close the '(' at column {token.at}, found "
                    + (repr(close.text) if close.kind != "end" else "the end"),
                    close.at,
                    "Add the missing ')'.",
                )
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        name = self.name()
        op = self.take()
        if op.kind != "op":
            found = "the end" if op.kind == "end" else repr(op.text)
            raise syntax_error(
                f"expected an operator after {'.'.join(name.parts)!r}, found {found}",
                op.at,
                "Compare a column with a value: `accuracy >= 0.9`, `status == failed`.",
            )
        value = self.take()
        if value.kind not in ("word", "string") or (
            value.kind == "word" and value.text.lower() in KEYWORDS
        ):
            found = "the end" if value.kind == "end" else repr(value.text)
            raise syntax_error(
                f"expected a value after {op.text!r}, found {found}",
                value.at,
                'Give a number, a word or quoted text: `lr > 0.1`, `optimizer == "adam"`.',
            )
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise syntax_error(
                f"the filter has more than {MAX_COMPARISONS} comparisons",
                name.at,
                "Filter on fewer conditions.",
            )
        return Compare(name, _OPS[op.text], Value(value.text, value.kind == "string", value.at))

    def name(self) -> Name:
        """Adjacent word and `quoted` tokens make one dotted name: metrics.`val acc`.max."""
        first = self.peek()
        if first.kind not in ("word", "quoted_name") or (
            first.kind == "word" and first.text.lower() in KEYWORDS
        ):
            found = "the end" if first.kind == "end" else repr(first.text)
            raise syntax_error(
                f"expected a column name, found {found}",
                first.at,
                "Start each condition with a column: `accuracy`, `params.lr`, `status`.",
            )
        pieces: list[tuple[Token, list[str]]] = []
        end = first.at
        while self.peek().kind in ("word", "quoted_name") and (not pieces or self.peek().at == end):
            token = self.take()
            split = [token.text] if token.kind == "quoted_name" else token.text.split(".")
            pieces.append((token, split))
            end = token.end
        return Name(_join(pieces), first.at)


def _join(pieces: list[tuple[Token, list[str]]]) -> tuple[str, ...]:
    """The parts of a dotted name; a `quoted` part stands between dots of its neighbours."""
    parts: list[str] = []
    for n, (token, split) in enumerate(pieces):
        if token.kind == "word":
            if n > 0:  # after a `quoted` part the word starts with its dot
                if split[0] != "":
                    raise _bad_name(token)
                split = split[1:]
            if n + 1 < len(pieces):  # before one it ends with a dot
                if split[-1:] != [""]:
                    raise _bad_name(token)
                split = split[:-1]
        if any(part == "" for part in split):
            raise _bad_name(token)
        parts.extend(split)
    return tuple(parts)


def _bad_name(token: Token) -> InvalidInput:
    return syntax_error(
        f"{token.text!r} is not a well-formed column name",
        token.at,
        "Separate the parts of a name with single dots; quote a key with spaces or dots in "
        "backticks: metrics.`val acc`.max.",
    )


def render(expr: Node) -> str:
    """Text that parses back to ``expr`` (used by tests and to show a filter canonically)."""
    if isinstance(expr, Compare):
        return f"{render_name(expr.name)} {expr.op.value} {_render_value(expr.value)}"
    if isinstance(expr, Condition):
        operand = expr.operand
        text = str(operand.value if isinstance(operand, JobState) else operand)
        value = Value(text, quoted=isinstance(operand, str))
        return f"{expr.column.spelled} {expr.op.value} {_render_value(value)}"
    if isinstance(expr, Not):
        return f"not ({render(expr.item)})"
    joiner = " and " if isinstance(expr, AllOf) else " or "
    return joiner.join(f"({render(item)})" for item in expr.items)


_PLAIN = re.compile(r"[A-Za-z0-9_\-/]+")


def render_name(name: Name) -> str:
    return ".".join(
        p if _PLAIN.fullmatch(p) and p.lower() not in KEYWORDS else "`" + _escape(p, "`") + "`"
        for p in name.parts
    )


def _render_value(value: Value) -> str:
    if value.quoted:
        return '"' + _escape(value.text, '"') + '"'
    return value.text


def _escape(text: str, quote: str) -> str:
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote)
