"""Domain objects to response models."""

from __future__ import annotations

from headwater.domain.access import AccessLevel, Caller, Grant, Permission, ResourceType, allows
from headwater.domain.entities import Activity, Member, Project, User
from headwater.domain.jobs import Experiment
from headwater.schemas.experiments import ExperimentOut, MetricSummaryOut
from headwater.schemas.projects import AccessOut, ActivityOut, MemberOut, ProjectOut
from headwater.schemas.users import UserOut


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        is_admin=user.is_admin,
        created_at=user.created_at,
        personal_project_id=user.personal_project_id,
    )


def grant_out(grant: Grant) -> AccessOut:
    return AccessOut(
        files=grant.level(ResourceType.FILES),
        jobs=grant.level(ResourceType.JOBS),
        datasets=grant.level(ResourceType.DATASETS),
        models=grant.level(ResourceType.MODELS),
        manage=grant.manage,
    )


# Few distinct answers exist (owner/admin, public reader, each member grant), and a listing asks
# for one per project: compute each once. The models are only ever serialised, never changed.
_ACCESS: dict[tuple[object, ...], AccessOut] = {}


def effective_access(caller: Caller) -> AccessOut:
    """What the caller may do, per resource type, as the UI needs it to hide actions."""
    grant = caller.grant
    key = (
        caller.is_owner,
        caller.is_admin,
        caller.project_public,
        None if grant is None else (*(grant.level(r) for r in ResourceType), grant.manage),
    )
    access = _ACCESS.get(key)
    if access is None:
        access = _ACCESS[key] = _effective_access(caller)
    return access


def _effective_access(caller: Caller) -> AccessOut:
    def level(resource: ResourceType) -> AccessLevel:
        return AccessLevel.ALL if allows(caller, Permission.write(resource)) else AccessLevel.READ

    return AccessOut(
        files=level(ResourceType.FILES),
        jobs=level(ResourceType.JOBS),
        datasets=level(ResourceType.DATASETS),
        models=level(ResourceType.MODELS),
        manage=allows(caller, Permission.MANAGE_MEMBERS),
    )


def project_out(project: Project, caller: Caller) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        description=project.description,
        public=project.public,
        personal=project.personal,
        owner=project.owner_username,
        created_at=project.created_at,
        role=caller.role,
        access=effective_access(caller),
    )


def member_out(member: Member) -> MemberOut:
    return MemberOut(
        user_id=member.user_id,
        username=member.username,
        email=member.email,
        access=grant_out(member.grant),
        added_at=member.added_at,
    )


def activity_out(item: Activity) -> ActivityOut:
    return ActivityOut(
        id=item.id,
        kind=item.kind,
        actor=item.actor,
        message=item.message,
        at=item.at,
        data=item.data,
    )


def experiment_out(e: Experiment, values: dict[str, dict[str, str]] | None = None,
                   latest: dict[str, float] | None = None,
                   summaries: dict[str, tuple[float, float, float]] | None = None,
                   ) -> ExperimentOut:  # fmt: skip
    values = values or {}
    summaries = summaries or {}
    if latest is None and summaries:
        latest = {k: s[0] for k, s in summaries.items()}
    return ExperimentOut(
        id=e.id,
        project_id=e.project_id,
        number=e.number,
        title=e.title,
        command=e.command,
        params=e.params,
        state=e.state,
        reason=e.reason,
        exit_code=e.exit_code,
        computes=e.computes,
        compute=e.compute,
        start_commit=e.start_commit,
        output_commit=e.output_commit,
        branch=e.branch,
        output_dir=e.output_dir,
        restarts=e.restarts,
        created_by=e.created_by,
        created_at=e.created_at,
        started_at=e.started_at,
        ended_at=e.ended_at,
        tags=values.get("tag", {}),
        logged_params=values.get("param", {}),
        latest_metrics=latest or {},
        metrics={
            k: MetricSummaryOut(latest=s[0], min=s[1], max=s[2]) for k, s in summaries.items()
        },
    )
