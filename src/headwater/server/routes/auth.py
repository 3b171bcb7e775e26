"""Who am I, password login with a session cookie (for the UI), logout."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from headwater.db.repos.users import UserRepo
from headwater.schemas.users import PasswordChange, PasswordLogin, TokenOut, UserOut
from headwater.server.deps import SESSION_COOKIE, CurrentUser, PlatformDep, bearer_token
from headwater.server.views import user_out

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/me", response_model=UserOut)
def whoami(user: CurrentUser, platform: PlatformDep) -> UserOut:
    with platform.db.read() as session:
        return user_out(UserRepo(session).get(user.id))


@router.post("/login", response_model=TokenOut)
def login(body: PasswordLogin, response: Response, platform: PlatformDep) -> TokenOut:
    hours = platform.settings.session_hours
    with platform.db.write() as session:
        users = UserRepo(session)
        user = users.check_password(body.username, body.password)
        token = users.issue_token(user.id, kind="session", ttl=timedelta(hours=hours))
        user = users.get(user.id)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=hours * 3600, httponly=True, samesite="strict"
    )
    return TokenOut(token=token, user=user_out(user))


@router.post("/tokens", response_model=TokenOut, status_code=201)
def issue_token(user: CurrentUser, platform: PlatformDep) -> TokenOut:
    """A new API token for the caller (no expiry), e.g. after a password login."""
    with platform.db.write() as session:
        users = UserRepo(session)
        token = users.issue_token(user.id)
        current = users.get(user.id)
    return TokenOut(token=token, user=user_out(current))


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, user: CurrentUser, platform: PlatformDep) -> None:
    token = bearer_token(request)
    if token:
        with platform.db.write() as session:
            UserRepo(session).revoke_token(token)
    response.delete_cookie(SESSION_COOKIE)


@router.put("/password", status_code=204)
def change_password(body: PasswordChange, user: CurrentUser, platform: PlatformDep) -> None:
    with platform.db.write() as session:
        UserRepo(session).set_password(user.id, body.password)
