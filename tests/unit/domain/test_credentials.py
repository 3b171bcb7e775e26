"""Tokens (random, stored as sha256) and passwords (scrypt, memory-hard)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.domain.credentials import (
    TOKEN_PREFIX,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)


def test_password_round_trip() -> None:
    stored = hash_password("correct horse battery staple")
    assert verify_password("correct horse battery staple", stored)


def test_wrong_password_is_refused() -> None:
    stored = hash_password("correct horse battery staple")
    assert not verify_password("correct horse battery stapler", stored)
    assert not verify_password("", stored)


def test_hash_is_salted_and_never_holds_the_password() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first != second
    assert "s3cret-pass" not in first
    assert verify_password("s3cret-pass", first)
    assert verify_password("s3cret-pass", second)


def test_hash_is_scrypt_and_memory_hard() -> None:
    scheme, n, r, p, _salt, _digest = hash_password("pw").split("$")
    assert scheme == "scrypt"
    # scrypt needs 128 * r * n bytes: insist on at least 16 MiB.
    assert 128 * int(r) * int(n) >= 16 * 1024 * 1024
    assert int(p) >= 1


@pytest.mark.parametrize(
    "stored",
    [None, "", "plain", "bcrypt$1$2$3$4$5", "scrypt$16384$8$1$only-five", "a$b$c"],
)
def test_malformed_or_missing_hash_never_verifies(stored: str | None) -> None:
    assert verify_password("pw", stored) is False


@settings(max_examples=8)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_only_the_same_password_verifies(password: str, other: str) -> None:
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert verify_password(other, stored) is (other == password)


def test_tokens_are_random_prefixed_and_long() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        assert len(token) >= len(TOKEN_PREFIX) + 40


def test_token_hash_is_sha256_hex() -> None:
    token = new_token()
    digest = token_hash(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(digest) == 64
    assert token not in digest
    assert token_hash(token) == digest
    assert token_hash(token + "x") != digest
