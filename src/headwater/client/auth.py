"""Who the token belongs to, and password logins that return a token."""

from __future__ import annotations

from headwater.client.http import HttpClient, payload
from headwater.schemas.users import PasswordChange, PasswordLogin, TokenOut, UserOut


class AuthClient:
    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def me(self) -> UserOut:
        """The caller; also the cheapest way to check that a URL and a token work."""
        return self._http.call("GET", "/auth/me", UserOut)

    def login(self, username: str, password: str) -> TokenOut:
        """Trade a username (or email) and password for a session token."""
        body = payload(PasswordLogin, username=username, password=password)
        return self._http.call("POST", "/auth/login", TokenOut, json=body)

    def new_token(self) -> TokenOut:
        """A new API token that does not expire, for the caller."""
        return self._http.call("POST", "/auth/tokens", TokenOut)

    def logout(self) -> None:
        """Revoke the token this client holds."""
        self._http.request("POST", "/auth/logout")

    def change_password(self, password: str) -> None:
        self._http.request("PUT", "/auth/password", json=payload(PasswordChange, password=password))
