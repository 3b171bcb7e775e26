"""Which Git checkout a job runs on (seed 000, Git Integration; seed 002, ``git_branch`` and
``git_commit``): the project's linked repository at the branch or commit a start asks for.

Decided once, when a job is created, and kept with it, so a run says what it ran even after the
project's link changes. Pure rules; the clone itself is ``runtime.gitrepo``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ValidationError

from headwater.domain.errors import InvalidInput
from headwater.domain.project_settings import GitSettings

# A commit as git names it: a full sha (40 hex digits, 64 in SHA-256 repositories) or an
# unambiguous prefix of one (at least 7, as git prints them).
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")
LINK_HINT = (
    "Link a repository in the project's settings first: `hw settings set git.repo=URL "
    "git.branch=BRANCH`, or Settings > Git in the UI."
)


class GitRefused(InvalidInput):
    """A field the request may not hold for this project: a Git branch or commit without a
    linked repository, a files commit with one (422, like the schema's own checks)."""

    status_code: ClassVar[int] = 422


@dataclass(frozen=True)
class GitSource:
    """The checkout a job clones: ``commit`` None means the tip of ``branch``."""

    repo: str
    branch: str
    commit: str | None
    private: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "commit": self.commit,
            "private": self.private,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GitSource:
        return cls(
            repo=str(data["repo"]),
            branch=str(data["branch"]),
            commit=str(data["commit"]) if data.get("commit") else None,
            private=bool(data.get("private", False)),
        )


def check_branch(branch: str, where: str) -> str:
    """``branch`` if git would accept it as a branch name, else InvalidInput at ``where``."""
    try:
        GitSettings(branch=branch)
    except ValidationError as exc:
        message = str(exc.errors()[0].get("msg", "invalid branch name"))
        raise InvalidInput(
            message.removeprefix("Value error, "),
            where=where,
            hint="Give the name of a branch of the linked repository, e.g. main or dev.",
        ) from None
    return branch


def check_commit(commit: str, where: str) -> str:
    if not _COMMIT.match(commit):
        raise InvalidInput(
            f"{commit!r} is not a Git commit: give its sha (7 to 64 hex digits)",
            where=where,
            hint="Copy it from `git log --format=%H` in a clone of the linked repository.",
        )
    return commit.lower()


def git_source(
    link: GitSettings,
    branch: str | None,
    commit: str | None,
    *,
    where: str,
    who: str,
) -> GitSource | None:
    """The checkout a job of a project with ``link`` runs on; None: the project's own files.

    ``branch`` and ``commit`` are what the start asked for (None: the linked branch, its tip);
    ``where`` prefixes the field path in errors (``""`` for a request body, ``tasks.Train``)
    and ``who`` names the asker in messages (``"the request"``, ``"task 'Train'"``).
    """
    given = [key for key, value in (("git_branch", branch), ("git_commit", commit)) if value]
    if not link.repo:
        if given:
            key = given[0]
            raise GitRefused(
                f"{who} sets {key}, but the project is not linked to a Git repository",
                where=f"{where}.{key}" if where else key,
                hint=LINK_HINT + f" Or leave {key} out to run the project's synced files.",
            )
        return None
    prefix = f"{where}." if where else ""
    return GitSource(
        repo=link.repo,
        branch=check_branch(branch, prefix + "git_branch") if branch else link.branch,
        commit=check_commit(commit, prefix + "git_commit") if commit else None,
        private=link.private,
    )
