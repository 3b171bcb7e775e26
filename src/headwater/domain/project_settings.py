"""A project's environment settings (seed 000 Environment, seed 001 Project Settings)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.domain.naming import check_env_var

THIRD_PARTY_KEY_TYPES = (
    "aws",
    "gcp",
    "azure",
    "docker",
    "git",
    "huggingface",
    "kaggle",
    "wandb",
    "ngc",
)


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = ""
    webhook_url: str = ""


class ProjectSettings(BaseModel):
    """Defaults every job in the project starts from. Changing them affects only new jobs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

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
    single_deploy_api_key: bool = Field(False, description="One key for all endpoints")
    email_on_success: bool = False
    email_on_error: bool = False
    use_only_owned_compute: bool = False
    output_dir: str = Field(
        "output", min_length=1, description="Folder whose files become artifacts"
    )
    slack: SlackSettings = Field(default_factory=SlackSettings)

    @field_validator("env")
    @classmethod
    def _env_entries(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            check_env_var(key, value)
        return env

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
