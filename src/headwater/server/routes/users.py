"""Users: admins create them and hand out their first token."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.db.repos.users import UserRepo
from headwater.schemas.users import UserCreate, UserCreated, UserOut
from headwater.server.deps import AdminUser, PlatformDep
from headwater.server.views import user_out

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(admin: AdminUser, platform: PlatformDep) -> list[UserOut]:
    with platform.db.read() as session:
        return [user_out(u) for u in UserRepo(session).list_users()]


@router.post("", response_model=UserCreated, status_code=201)
def create_user(body: UserCreate, admin: AdminUser, platform: PlatformDep) -> UserCreated:
    with platform.db.write() as session:
        users = UserRepo(session)
        user = users.create(body.username, body.email, admin=body.admin, password=body.password)
        token = users.issue_token(user.id)
    return UserCreated(user=user_out(user), token=token)
