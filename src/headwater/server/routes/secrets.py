"""Secrets and third-party keys: the owner's; values are never returned after they are set."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.db.repos.secrets import SecretRepo
from headwater.domain.entities import SecretInfo
from headwater.schemas.settings import KeyOut, KeySet, SecretOut, SecretSet
from headwater.server.deps import OwnerAccess, PlatformDep

router = APIRouter(prefix="/projects/{project_id}", tags=["secrets"])


def _out(info: SecretInfo) -> SecretOut:
    return SecretOut(
        key=info.key,
        created_at=info.created_at,
        updated_at=info.updated_at,
        owner_only=info.owner_only,
    )


@router.get("/secrets", response_model=list[SecretOut])
def list_secrets(access: OwnerAccess, platform: PlatformDep) -> list[SecretOut]:
    """The keys, when they changed and who receives them; never the values."""
    with platform.db.read() as session:
        items = SecretRepo(session, platform.box).list_secrets(access.project.id)
    return [_out(s) for s in items]


@router.put("/secrets/{key}", response_model=SecretOut)
def set_secret(key: str, body: SecretSet, access: OwnerAccess, platform: PlatformDep) -> SecretOut:
    """Set a secret's value and, when given, whether only owners' tasks receive it."""
    with platform.db.write() as session:
        info = SecretRepo(session, platform.box).set(
            access.project, access.user, key, body.value, body.owner_only
        )
    return _out(info)


@router.delete("/secrets/{key}", status_code=204)
def delete_secret(key: str, access: OwnerAccess, platform: PlatformDep) -> None:
    with platform.db.write() as session:
        SecretRepo(session, platform.box).delete(access.project, access.user, key)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(access: OwnerAccess, platform: PlatformDep) -> list[KeyOut]:
    with platform.db.read() as session:
        items = SecretRepo(session, platform.box).keys(access.project.id)
    return [KeyOut(type=k.type, key_id=k.key_id, updated_at=k.updated_at) for k in items]


@router.put("/keys/{key_type}", response_model=KeyOut)
def set_key(key_type: str, body: KeySet, access: OwnerAccess, platform: PlatformDep) -> KeyOut:
    with platform.db.write() as session:
        key = SecretRepo(session, platform.box).set_key(
            access.project, access.user, key_type, body.key_id, body.secret
        )
    return KeyOut(type=key.type, key_id=key.key_id, updated_at=key.updated_at)


@router.delete("/keys/{key_type}", status_code=204)
def delete_key(key_type: str, access: OwnerAccess, platform: PlatformDep) -> None:
    with platform.db.write() as session:
        SecretRepo(session, platform.box).delete_key(access.project, access.user, key_type)
