"""Failed password logins, counted per username and per client address over a sliding window.

Past ``per_user`` failures for one username, or ``per_address`` from one address, within
``window`` seconds, further tries are refused (429) until the oldest failure leaves the window:
a guesser gets a few tries a minute, and nobody is locked out for longer than the window.
The count lives in the server's memory: one server process, forgotten at restart. Behind a
proxy every client shares the proxy's address (then the per-user limit is what holds).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from headwater.domain.errors import TooManyAttempts

PER_USER = 5
PER_ADDRESS = 20
WINDOW = 60.0
MAX_KEYS = 100_000  # memory stays bounded under a spray of made-up names


class LoginThrottle:
    def __init__(
        self,
        *,
        per_user: int = PER_USER,
        per_address: int = PER_ADDRESS,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, username: str, address: str | None) -> None:
        """Refuse (``TooManyAttempts``) while either key is over its limit. ``username`` is
        whatever names the account (the server counts a user's name and email as one)."""
        now = self.clock()
        with self._lock:
            for kind, key in self._keys(username, address):
                recent = self._prune(self._failures.get(key, deque()), now)
                if len(recent) >= self.limits[kind]:
                    wait = max(1, int(recent[0] + self.window - now + 0.999))
                    raise TooManyAttempts(
                        f"too many failed logins for this {kind}; try again in {wait} s",
                        retry_after=wait,
                        where="username" if kind == "user" else "address",
                        hint=f"At most {self.limits[kind]} failed logins per {kind} in "
                        f"{self.window:g} s. Check the username and password, then wait.",
                    )

    def failed(self, username: str, address: str | None) -> None:
        now = self.clock()
        with self._lock:
            for _, key in self._keys(username, address):
                self._prune(self._failures.setdefault(key, deque()), now).append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def _keys(self, username: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("user", "user:" + username.strip().lower())]
        if address:
            keys.append(("address", "address:" + address))
        return keys

    def _prune(self, recent: deque[float], now: float) -> deque[float]:
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent
