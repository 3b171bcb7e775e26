"""Encryption at rest for secrets, third-party keys and webhook signing secrets (Fernet)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from headwater.domain.errors import HeadwaterError


class SecretBox:
    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(key)

    @staticmethod
    def generate_key() -> bytes:
        return Fernet.generate_key()

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise HeadwaterError(
                "a stored secret cannot be decrypted with this server's key",
                where="HEADWATER_SECRET_KEY",
                hint="Start the server with the secret key it was first started with.",
            ) from exc
