"""Users of the server; creating and listing them is for admins."""

from __future__ import annotations

from headwater.client.http import HttpClient, payload
from headwater.schemas.users import UserCreate, UserCreated, UserOut

UserList = list[UserOut]


class UsersClient:
    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def list(self) -> UserList:
        return self._http.call("GET", "/users", UserList)

    def create(
        self, username: str, email: str, *, admin: bool = False, password: str | None = None
    ) -> UserCreated:
        """Create a user (and their Personal project); the answer holds their first token."""
        body = payload(UserCreate, username=username, email=email, admin=admin, password=password)
        return self._http.call("POST", "/users", UserCreated, json=body)
