"""Who the token belongs to, password logins that return a token, and the caller's own tokens."""

from __future__ import annotations

from headwater.client.http import HttpClient, payload, segment
from headwater.schemas.users import PasswordChange, PasswordLogin, TokenInfoOut, TokenOut, UserOut

TokenList = list[TokenInfoOut]


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

    def tokens(self) -> TokenList:
        """The caller's API tokens and live sessions (ids, never secrets), newest first."""
        return self._http.call("GET", "/auth/tokens", TokenList)

    def revoke_token(self, token_id: str) -> None:
        """Revoke one of the caller's tokens by its id (``tokens()`` lists them)."""
        self._http.request("DELETE", f"/auth/tokens/{segment(token_id)}")

    def logout(self) -> None:
        """Revoke the token this client holds."""
        self._http.request("POST", "/auth/logout")

    def change_password(self, password: str, current: str | None = None) -> None:
        """Set a new password; ``current`` is needed once the user has one. Ends the user's
        other password sessions."""
        body = payload(PasswordChange, password=password, current_password=current)
        self._http.request("PUT", "/auth/password", json=body)
