"""A project's environment settings (seed 000 Environment, seed 001 Project Settings)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.domain.errors import InvalidInput
from headwater.domain.naming import check_env_var
from headwater.domain.sampling import parse_rule


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    channel: str = Field("", max_length=80, description="e.g. #ml-runs")
    webhook_url: str = Field(
        "", max_length=2048, pattern=r"^(https?://\S+)?$", description="Incoming webhook URL"
    )


# A Git repository link as the seed asks for it: SSH (``git@host:org/repo.git``, ``ssh://…``)
# for a project key, ``https://`` for a user's access token; ``file://`` and a plain path are
# for repositories on the server's own disk (and tests).
_GIT_URL = re.compile(r"^(?:(?:ssh|https?|file)://\S+|[\w.-]+@[\w.-]+:\S+|/\S+)$")
# ``git check-ref-format``'s rules that matter for a typed branch name
_BAD_REF = re.compile(r"(?:^[-/.]|\.\.|[\x00-\x20~^:?*\[\\\x7f]|@\{|/\.|//|\.lock$|[/.]$)")


class GitSettings(BaseModel):
    """The project's linked Git repository (seed 000, Git Integration): jobs clone ``branch``
    (or a commit given at start) instead of the project's files; a private repository is read
    with the project's ``git`` key (an SSH private key, `hw keys set git`)."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    repo: str = Field("", max_length=2048, description="SSH or https URL; empty: not linked")
    branch: str = Field("master", min_length=1, max_length=255)
    private: bool = Field(False, description="Read with the project's git key")

    @field_validator("repo")
    @classmethod
    def _repo_url(cls, repo: str) -> str:
        if repo and not _GIT_URL.match(repo):
            raise ValueError(
                f"{repo!r} is not a Git repository link: use the SSH form "
                "(git@github.com:org/repo.git) or https://"
            )
        return repo

    @field_validator("branch")
    @classmethod
    def _branch_name(cls, branch: str) -> str:
        if _BAD_REF.search(branch):
            raise ValueError(f"{branch!r} is not a valid branch name (see git check-ref-format)")
        return branch


class ProjectSettings(BaseModel):
    """Defaults every job in the project starts from. Changing them affects only new jobs."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, strict=True, defer_build=True
    )

    image: str = Field("", description="Default container image")
    compute: list[str] = Field(default_factory=list, description="Default compute templates")
    command: str = Field("", description="Default command to execute")
    working_dir: str = Field("", description="Working directory the command runs in")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables")
    tensorboard: bool = Field(False, description="Run TensorBoard automatically")
    restart_when_idle: bool = Field(False, description="Restart jobs with no new output")
    idle_minutes: int = Field(60, ge=1, le=10080, description="Minutes without output")
    autosync: bool = Field(False, description="Commit outputs periodically while running")
    sync_minutes: int = Field(10, ge=1, le=1440, description="Minutes between autosyncs")
    on_spot_termination: bool = Field(False, description="Sync and restart on spot loss")
    workspace_idle_minutes: int = Field(
        60,
        ge=1,
        le=43200,
        description="A workspace with no traffic and no busy kernel this long is saved and stopped",
    )
    workspace_max_age_hours: int = Field(
        168, ge=1, le=8760, description="A workspace is saved and stopped this long after start"
    )
    single_deploy_api_key: bool = Field(False, description="One key for all endpoints")
    request_log: str = Field(
        "",
        max_length=20,
        description="Endpoint requests written to the request log: all, none or 1/N "
        "(empty: the server's default; an endpoint's own option wins)",
    )
    email_on_success: bool = False
    email_on_error: bool = False
    use_only_owned_compute: bool = False
    cnvrg_env: bool = Field(
        True,
        description="Give tasks seed 002's CNVRG_TAG_<KEY>, CNVRG_<TASK>_<TAG> and "
        "CNVRG_TASKS_PASSED_CONDITION beside the HW_ names (for unmodified cnvrg scripts)",
    )
    output_dir: str = Field(
        "output", min_length=1, description="Folder whose files become artifacts"
    )
    slack: SlackSettings = Field(default_factory=SlackSettings)
    git: GitSettings = Field(default_factory=GitSettings)

    @field_validator("env")
    @classmethod
    def _env_entries(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            check_env_var(key, value)
        return env

    @field_validator("request_log")
    @classmethod
    def _sample_rule(cls, rule: str) -> str:
        if not rule:
            return rule
        try:
            return str(parse_rule(rule))
        except InvalidInput as error:
            raise ValueError(f"{error.detail}. {error.hint}") from None

    @field_validator("compute")
    @classmethod
    def _compute_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name or name != name.strip():
                raise ValueError(f"compute name {name!r} is empty or has surrounding spaces")
        return names

    def merged(self, changes: dict[str, Any]) -> ProjectSettings:
        """A copy with ``changes`` applied and validated; the original is left as it was."""
        data = self.model_dump()
        data.update(changes)
        return ProjectSettings.model_validate_json(json.dumps(data))
