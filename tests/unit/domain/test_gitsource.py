"""Which checkout a job of a Git-linked project runs on, and the refusals that say why not."""

from __future__ import annotations

import pytest

from headwater.domain.errors import InvalidInput
from headwater.domain.gitsource import GitRefused, GitSource, git_source
from headwater.domain.project_settings import GitSettings

LINKED = GitSettings(repo="git@example.com:team/model.git", branch="main", private=True)


def test_without_a_link_a_job_runs_the_projects_files() -> None:
    assert git_source(GitSettings(), None, None, where="", who="the request") is None


@pytest.mark.parametrize("key", ["git_branch", "git_commit"])
def test_a_branch_or_commit_without_a_link_is_a_422_naming_the_field(key: str) -> None:
    asked = {"git_branch": "dev", "git_commit": "0123abc"}
    branch = asked["git_branch"] if key == "git_branch" else None
    commit = asked["git_commit"] if key == "git_commit" else None
    with pytest.raises(GitRefused) as caught:
        git_source(GitSettings(), branch, commit, where="tasks.Train", who="task 'Train'")
    error = caught.value
    assert error.status_code == 422
    assert error.where == f"tasks.Train.{key}"
    assert f"task 'Train' sets {key}" in error.detail
    assert "not linked to a Git repository" in error.detail
    assert "git.repo=" in (error.hint or "")


def test_a_request_body_names_the_bare_field() -> None:
    with pytest.raises(GitRefused) as caught:
        git_source(GitSettings(), "dev", None, where="", who="the request")
    assert caught.value.where == "git_branch"


def test_the_linked_branch_is_the_default_and_a_given_one_wins() -> None:
    assert git_source(LINKED, None, None, where="", who="x") == GitSource(
        LINKED.repo, "main", None, True
    )
    chosen = git_source(LINKED, "feature/x", "ABCDEF0", where="", who="x")
    assert chosen == GitSource(LINKED.repo, "feature/x", "abcdef0", True)


@pytest.mark.parametrize("branch", ["-rf", "a..b", "x y", "end/", "a:b", "wip.lock"])
def test_a_branch_git_would_refuse_is_refused_with_its_field(branch: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        git_source(LINKED, branch, None, where="tasks.T", who="task 'T'")
    assert caught.value.where == "tasks.T.git_branch"
    assert "branch name" in caught.value.detail


@pytest.mark.parametrize("commit", ["1e5", "HEAD", "main", "abc12", "g" * 40, "a" * 65])
def test_a_commit_that_is_not_a_sha_is_refused(commit: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        git_source(LINKED, None, commit, where="", who="the request")
    assert caught.value.where == "git_commit"
    assert "is not a Git commit" in caught.value.detail


def test_the_choice_survives_its_stored_form() -> None:
    chosen = GitSource("/srv/repo.git", "dev", "a" * 40, False)
    assert GitSource.from_dict(chosen.to_dict()) == chosen
