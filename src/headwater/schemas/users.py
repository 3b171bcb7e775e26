from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headwater.schemas.common import Model, Schema


class UserCreate(Model):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    admin: bool = False
    password: str | None = Field(None, min_length=8, max_length=1024)


class UserOut(Schema):
    id: str
    username: str
    email: str
    is_admin: bool
    created_at: datetime
    personal_project_id: str | None = None


class UserCreated(Schema):
    user: UserOut
    token: str = Field(description="The new user's API token; shown once")


class PasswordLogin(Model):
    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(Schema):
    token: str
    user: UserOut


class PasswordChange(Model):
    password: str = Field(min_length=8, max_length=1024)
    current_password: str | None = Field(
        None,
        max_length=1024,
        description="The password now; needed unless the user has none yet (made with a token)",
    )


class TokenInfoOut(Schema):
    """One of the caller's tokens; its secret is never shown again."""

    id: str
    kind: str = Field(description="api (until revoked) or session (a password login)")
    created_at: datetime
    expires_at: datetime | None
    current: bool = Field(description="The token of this very request")
