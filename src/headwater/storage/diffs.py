"""What changed inside files between two versions: text line by line, notebooks cell by cell.

Text gets a unified diff (for patches and the CLI) and side-by-side hunks (for the UI), both cut
from the same opcodes so they agree. Notebooks are aligned cell by cell over their sources,
outputs aside: re-running a notebook changes every output, and what a reviewer asks is which
code and prose changed. A cell whose outputs differ is still flagged (``outputs_changed``, as
nbdime says "outputs changed"), so a commit that only re-ran a notebook shows what it changed.
Binaries and files over the size cap are reported by size only, without reading them.

nbdime was the first choice for notebooks, but it requires jupyter_server, nbconvert, pyzmq and
tornado (about 50 packages) for a diff we get from the standard library.
"""

from __future__ import annotations

import difflib
import json
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from headwater.domain.diffs import CellDiff, FileDiff, Hunk
from headwater.domain.trees import Change, ChangeKind, Tree, diff
from headwater.storage.previews import (
    NOTEBOOK_MAX,
    decode_text,
    extension,
    joined,
    notebook_cells,
)

TEXT_MAX = 2 << 20  # bytes; a larger file is compared by size, like a binary
CONTEXT = 3  # lines of context around each hunk, as in git
SIMILAR = 0.5  # how alike two cell sources must be to count as one edited cell
PAIRING_MAX = 2_500  # cell pairs compared in one changed stretch before pairing by position
EXACT_MAX = 1_000  # lines of a stretch with no unique line that difflib matches exactly
PATIENCE_DEPTH = 64  # nesting of patience anchors before difflib takes over
NO_NEWLINE = "\n\\ No newline at end of file\n"

Read = Callable[[str], bytes]
Row = tuple[str | None, str | None, str]
Group = list[tuple[str, int, int, int, int]]


def diff_trees(old: Tree, new: Tree, read: Read, path: str | None = None) -> list[FileDiff]:
    """The file diffs from ``old`` to ``new``, restricted to a file or a folder when ``path``."""
    changes = diff(old, new)
    if path:
        folder = path.rstrip("/") + "/"
        changes = [c for c in changes if c.path == path or c.path.startswith(folder)]
    return [diff_file(c, read) for c in changes]


def diff_file(change: Change, read: Read) -> FileDiff:
    """One file's diff; ``read`` maps a blob hash to its bytes and is not called past the cap."""
    old, new = change.old, change.new
    result = FileDiff(
        path=change.path,
        kind=change.kind,
        old_size=old.size if old else None,
        new_size=new.size if new else None,
        format="binary",
    )
    notebook = extension(change.path) == ".ipynb"
    if any(e and e.size > (NOTEBOOK_MAX if notebook else TEXT_MAX) for e in (old, new)):
        return result
    before = read(old.hash) if old else b""
    after = read(new.hash) if new else b""
    if notebook:
        old_cells = notebook_cells(before) if old else []
        new_cells = notebook_cells(after) if new else []
        if old_cells is not None and new_cells is not None:
            result.format = "notebook"
            result.cells = diff_cells(old_cells, new_cells)
            return result
    if max(len(before), len(after)) > TEXT_MAX:
        return result
    a, b = decode_text(before), decode_text(after)
    if a is None or b is None:
        return result
    old_lines, new_lines = _lines(a), _lines(b)
    groups = _groups(_opcodes(old_lines, new_lines), CONTEXT)
    result.format = "text"
    result.unified = unified(change, old_lines, new_lines, groups)
    result.hunks = [_hunk(group, old_lines, new_lines) for group in groups]
    return result


def unified(change: Change, a: Sequence[str], b: Sequence[str], groups: Sequence[Group]) -> str:
    """A patch git applies: ``a/``/``b/`` names, ``/dev/null`` for a missing side, and git's
    marker for a last line without a newline."""
    if not groups:
        return ""
    out = [
        "--- /dev/null\n" if change.kind is ChangeKind.ADDED else f"--- a/{change.path}\n",
        "+++ /dev/null\n" if change.kind is ChangeKind.REMOVED else f"+++ b/{change.path}\n",
    ]
    for group in groups:
        (_, a1, _, b1, _), (_, _, a2, _, b2) = group[0], group[-1]
        out.append(f"@@ -{_span(a1, a2)} +{_span(b1, b2)} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += (" " + line for line in a[i1:i2])
                continue
            out += ("-" + line for line in a[i1:i2])
            out += ("+" + line for line in b[j1:j2])
    return "".join(line if line.endswith("\n") else line + NO_NEWLINE for line in out)


def _span(start: int, stop: int) -> str:
    """A hunk header's range, as diff writes it: an empty range names the line before it."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _opcodes(a: Sequence[str], b: Sequence[str]) -> Group:
    """difflib-style opcodes over patience matching (as in ``git diff --patience``).

    Lines that occur once on each side anchor the match, and difflib runs only between anchors.
    On its own difflib breaks ties towards the start of the file, so edits spread evenly through
    a long file make it quadratic: a 2 MB file with an edit every 50 lines took a minute.
    """
    found: list[tuple[int, int]] = []
    _patience(a, b, 0, len(a), 0, len(b), found, 0)
    codes: Group = []
    i = j = 0
    for ai, bj in [*found, (len(a), len(b))]:  # the last pair only closes a trailing change
        if i < ai or j < bj:
            tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert"
            codes.append((tag, i, ai, j, bj))
        if ai == len(a):
            break
        if codes and codes[-1][0] == "equal" and codes[-1][2] == ai:
            _, i1, _, j1, _ = codes.pop()
            codes.append(("equal", i1, ai + 1, j1, bj + 1))
        else:
            codes.append(("equal", ai, ai + 1, bj, bj + 1))
        i, j = ai + 1, bj + 1
    return codes


def _groups(codes: Group, context: int) -> list[Group]:
    """Opcodes cut into hunks: each change with ``context`` equal lines around it; changes that
    close share a hunk. No change, no hunk."""
    if all(code[0] == "equal" for code in codes):
        return []
    codes = list(codes)
    tag, i1, i2, j1, j2 = codes[0]
    if tag == "equal":
        cut = max(0, i2 - i1 - context)
        codes[0] = (tag, i1 + cut, i2, j1 + cut, j2)
    tag, i1, i2, j1, j2 = codes[-1]
    if tag == "equal":
        keep = min(context, i2 - i1)
        codes[-1] = (tag, i1, i1 + keep, j1, j1 + keep)
    groups: list[Group] = []
    group: Group = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and group and i2 - i1 > 2 * context:
            group.append((tag, i1, i1 + context, j1, j1 + context))
            groups.append(group)
            group = []
            i1, j1 = i2 - context, j2 - context
        group.append((tag, i1, i2, j1, j2))
    if any(code[0] != "equal" for code in group):
        groups.append(group)
    return groups


def _patience(
    a: Sequence[str],
    b: Sequence[str],
    alo: int,
    ahi: int,
    blo: int,
    bhi: int,
    found: list[tuple[int, int]],
    depth: int,
) -> None:
    """Append to ``found``, in order, the matched line pairs of ``a[alo:ahi]``, ``b[blo:bhi]``."""
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        found.append((alo, blo))
        alo, blo = alo + 1, blo + 1
    tail = []
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        tail.append((ahi, bhi))
    anchors = _unique_common(a, b, alo, ahi, blo, bhi) if depth < PATIENCE_DEPTH else []
    if anchors:
        for i, j in anchors:
            _patience(a, b, alo, i, blo, j, found, depth + 1)
            found.append((i, j))
            alo, blo = i + 1, j + 1
        _patience(a, b, alo, ahi, blo, bhi, found, depth + 1)
    elif alo < ahi and blo < bhi:
        # Past a few hundred lines, let difflib skip very common lines (blank lines, repeated
        # rows): exact matching over them is what makes it slow.
        big = ahi - alo + bhi - blo > EXACT_MAX
        inner = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=big)
        for i, j, size in inner.get_matching_blocks():
            found += ((alo + i + k, blo + j + k) for k in range(size))
    found += reversed(tail)


def _unique_common(
    a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """The longest in-order run of lines that occur exactly once on each side."""
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    where_a = {a[i]: i for i in range(alo, ahi) if count_a[a[i]] == 1 and count_b[a[i]] == 1}
    pairs = [(where_a[b[j]], j) for j in range(blo, bhi) if b[j] in where_a]
    pairs.sort()
    # longest increasing subsequence on j (patience sorting), pairs already in i order
    tops: list[int] = []
    back: list[int] = [-1] * len(pairs)
    ends: list[int] = []
    for k, (_, j) in enumerate(pairs):
        pos = bisect_left(tops, j)
        if pos == len(tops):
            tops.append(j)
            ends.append(k)
        else:
            tops[pos] = j
            ends[pos] = k
        back[k] = ends[pos - 1] if pos else -1
    chain = []
    k = ends[-1] if ends else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


def diff_cells(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[CellDiff]:
    """Old and new cells aligned in order; ``index`` is the cell's place in the new notebook
    (in the old one for a removed cell)."""
    a, b = [_Cell.of(c) for c in old], [_Cell.of(c) for c in new]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    cells: list[CellDiff] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            cells += (
                _row(i, a[i], j, b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        else:
            cells += _pair(a, b, range(i1, i2), range(j1, j2))
    return cells


@dataclass(frozen=True)
class _Cell:
    cell_type: str
    source: str
    outputs: str = field(default="", compare=False)  # aligning cells reads sources only

    @classmethod
    def of(cls, raw: dict[str, Any]) -> _Cell:
        return cls(str(raw.get("cell_type", "code")), joined(raw.get("source", "")), _outputs(raw))


def _outputs(raw: dict[str, Any]) -> str:
    """A cell's outputs as comparable text, without the execution counts a re-run bumps."""
    outputs = raw.get("outputs")
    if not isinstance(outputs, list):
        return ""
    kept = [
        {k: v for k, v in o.items() if k != "execution_count"} if isinstance(o, dict) else o
        for o in outputs
    ]
    return json.dumps(kept, sort_keys=True, default=str)


def _row(i: int | None, old: _Cell | None, j: int | None, new: _Cell | None) -> CellDiff:
    if old is not None and new is not None:
        status = "unchanged" if old == new else "modified"
        index = j
    else:
        status = "added" if new else "removed"
        index = j if new else i
    cell = new or old
    assert cell is not None
    assert index is not None
    return CellDiff(
        index=index,
        cell_type=cell.cell_type,
        status=status,
        old_source=old.source if old else None,
        new_source=new.source if new else None,
        outputs_changed=old is not None and new is not None and old.outputs != new.outputs,
    )


def _pair(a: list[_Cell], b: list[_Cell], olds: range, news: range) -> Iterator[CellDiff]:
    """A changed stretch: cells that look alike are paired, in order, as edits (the pairing with
    the most similarity in all); the others were removed or added."""
    if len(olds) * len(news) > PAIRING_MAX:  # too many to compare: pair by position
        for i, j in zip_longest(olds, news):
            yield _row(i, None if i is None else a[i], j, None if j is None else b[j])
        return
    m, n = len(olds), len(news)
    sim = [[_similarity(a[i], b[j]) for j in news] for i in olds]
    best = [[0.0] * (n + 1) for _ in range(m + 1)]  # best[x][y]: the most for olds[x:], news[y:]
    for x in range(m - 1, -1, -1):
        for y in range(n - 1, -1, -1):
            paired = sim[x][y] + best[x + 1][y + 1] if sim[x][y] >= SIMILAR else 0.0
            best[x][y] = max(paired, best[x + 1][y], best[x][y + 1])
    x = y = 0
    while x < m or y < n:
        i = olds[x] if x < m else None
        j = news[y] if y < n else None
        alike = i is not None and j is not None and sim[x][y] >= SIMILAR
        if alike and best[x][y] == sim[x][y] + best[x + 1][y + 1]:
            yield _row(i, a[olds[x]], j, b[news[y]])
            x, y = x + 1, y + 1
            continue
        if i is not None and (j is None or best[x][y] == best[x + 1][y]):
            yield _row(i, a[i], None, None)
            x += 1
        else:
            assert j is not None
            yield _row(None, None, j, b[j])
            y += 1


def _similarity(old: _Cell, new: _Cell) -> float:
    """How alike two sources are: by characters for short cells, by lines for long ones, where
    comparing characters costs too much and a changed line is a fair unit."""
    a, b = old.source, new.source
    if len(a) + len(b) > 400:
        matcher = difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False)
    else:
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


def _hunk(group: Group, a: list[str], b: list[str]) -> Hunk:
    """Opcodes of one hunk as side-by-side rows; a replaced stretch pairs its lines as changed."""
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            rows += (
                (_bare(a[i]), _bare(b[j]), "equal")
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        elif tag == "delete":
            rows += ((_bare(a[i]), None, "removed") for i in range(i1, i2))
        elif tag == "insert":
            rows += ((None, _bare(b[j]), "added") for j in range(j1, j2))
        else:
            for left, right in zip_longest(a[i1:i2], b[j1:j2]):
                if left is None:
                    rows.append((None, _bare(right), "added"))
                elif right is None:
                    rows.append((_bare(left), None, "removed"))
                else:
                    rows.append((_bare(left), _bare(right), "changed"))
    return Hunk(old_start=group[0][1] + 1, new_start=group[0][3] + 1, rows=rows)


def _lines(text: str) -> list[str]:
    """Lines with their ``\\n`` (the last may lack one), split on newlines only: unlike
    ``str.splitlines``, not on form feeds or Unicode separators, which git does not split on."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _bare(line: str) -> str:
    return line.removesuffix("\n")
