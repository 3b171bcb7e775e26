"""Who am I, password login with a session cookie (for the UI), logout, password change, and
the caller's own tokens (list, mint, revoke)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from headwater.db.repos.users import UserRepo, user_throttle_key
from headwater.domain.errors import PermissionDenied, Unauthenticated
from headwater.schemas.users import PasswordChange, PasswordLogin, TokenInfoOut, TokenOut, UserOut
from headwater.server.deps import SESSION_COOKIE, CurrentUser, PlatformDep, bearer_token
from headwater.server.views import user_out

router = APIRouter(prefix="/auth", tags=["auth"])


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/me", response_model=UserOut)
def whoami(user: CurrentUser, platform: PlatformDep) -> UserOut:
    """The caller."""
    with platform.db.read() as session:
        return user_out(UserRepo(session).get(user.id))


@router.post("/login", response_model=TokenOut)
def login(
    body: PasswordLogin, request: Request, response: Response, platform: PlatformDep
) -> TokenOut:
    """Trade a username and password for a session token (also set as the UI's cookie);
    failures are rate-limited per username and per address (429 with Retry-After)."""
    hours = platform.settings.session_hours
    address = _address(request)
    with platform.db.write() as session:
        users = UserRepo(session)
        who = users.throttle_key(body.username)  # a username and its email count as one
        platform.logins.check(who, address)
        try:
            user = users.check_password(body.username, body.password)
        except Unauthenticated:
            platform.logins.failed(who, address)
            raise
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


@router.get("/tokens", response_model=list[TokenInfoOut])
def list_tokens(request: Request, user: CurrentUser, platform: PlatformDep) -> list[TokenInfoOut]:
    """The caller's API tokens and live sessions, newest first; never their secrets."""
    with platform.db.read() as session:
        found = UserRepo(session).tokens(user.id, bearer_token(request))
    return [
        TokenInfoOut(
            id=t.id,
            kind=t.kind,
            created_at=t.created_at,
            expires_at=t.expires_at,
            current=t.current,
        )
        for t in found
    ]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: Annotated[str, Path(min_length=1, max_length=16)],
    user: CurrentUser,
    platform: PlatformDep,
) -> None:
    """Revoke one of the caller's own tokens (the one in use too, like a logout)."""
    with platform.db.write() as session:
        UserRepo(session).revoke_token_id(user.id, token_id)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, user: CurrentUser, platform: PlatformDep) -> None:
    """Revoke the token of this request and drop the UI's cookie."""
    token = bearer_token(request)
    if token:
        with platform.db.write() as session:
            UserRepo(session).revoke_token(token)
    response.delete_cookie(SESSION_COOKIE)


@router.put("/password", status_code=204)
def change_password(
    body: PasswordChange, request: Request, user: CurrentUser, platform: PlatformDep
) -> None:
    """Set a new password (the current one is needed, unless there is none yet) and end the
    caller's other password sessions; API tokens stay (`hw token list` shows them)."""
    address, who = _address(request), user_throttle_key(user.id)
    platform.logins.check(who, address)  # a wrong current password is a guess too
    with platform.db.write() as session:
        users = UserRepo(session)
        try:
            users.change_password(user.id, body.password, current=body.current_password)
        except PermissionDenied:
            platform.logins.failed(who, address)
            raise
        users.end_sessions(user.id, keep=bearer_token(request))
