"""Naming rules from the seeds: secret keys, environment variables, project names."""

from __future__ import annotations

import re

from headwater.domain.errors import InvalidInput

SECRET_VALUE_MAX = 253
PROJECT_NAME_MAX = 100
VALUE_KEY_MAX = 255
_SECRET_KEY = re.compile(r"[A-Za-z0-9_]+")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]*")
_NOT_ENV = re.compile(r"[^A-Z0-9_]")


def value_key_problem(key: str) -> str | None:
    """Why ``key`` cannot name a tag or a parameter, or None when it can.

    cnvrg's keys may hold spaces and other printable characters (seed 002: a parameter named
    ``model accuracy``), so ours may too: printable (no control characters), at most
    ``VALUE_KEY_MAX`` characters, not empty and not starting or ending with a space.
    """
    if not key:
        return "is empty"
    if len(key) > VALUE_KEY_MAX:
        return f"is {len(key)} characters long, over {VALUE_KEY_MAX}"
    if key != key.strip():
        return "starts or ends with a space"
    if not key.isprintable():
        return "holds a control character"
    return None


def env_part(text: str) -> str:
    """A tag or parameter key as it shows in a variable name (seed 002): uppercase, every
    character other than A-Z, 0-9 and _ (spaces included) turned into ``_``:
    ``model accuracy`` gives ``MODEL_ACCURACY``, ``val-loss`` ``VAL_LOSS``."""
    return _NOT_ENV.sub("_", text.upper())


def check_secret_key(key: str, *, where: str = "key") -> str:
    """Seed 000: letters, digits and underscores only, no spaces, not starting with a digit."""
    if not key:
        raise InvalidInput("a secret key cannot be empty", where=where, hint="Use e.g. AWS_KEY.")
    if " " in key:
        raise InvalidInput(
            f"secret key {key!r} contains a space",
            where=where,
            hint="Spaces are not allowed; use underscores instead, e.g. MY_KEY.",
        )
    if not _SECRET_KEY.fullmatch(key):
        bad = sorted({c for c in key if not (c.isascii() and (c.isalnum() or c == "_"))})
        raise InvalidInput(
            f"secret key {key!r} contains {''.join(bad)!r}",
            where=where,
            hint="Secret keys may hold only letters a-z, A-Z, digits 0-9 and underscores.",
        )
    if key[0].isdigit():
        raise InvalidInput(
            f"secret key {key!r} starts with a digit",
            where=where,
            hint="Start the key with a letter or an underscore, e.g. _1KEY or KEY1.",
        )
    return key


def check_secret_value(value: str, *, where: str = "value") -> str:
    if len(value) > SECRET_VALUE_MAX:
        raise InvalidInput(
            f"the secret value is {len(value)} characters long, over the limit of "
            f"{SECRET_VALUE_MAX}",
            where=where,
            hint="Store a shorter value, e.g. a token or a path to the data, not the data.",
        )
    return value


def check_env_var(key: str, value: str, *, where: str = "env") -> tuple[str, str]:
    """Seed 000 Environment: no spaces before or after any entry."""
    if not key:
        raise InvalidInput("an environment variable needs a name", where=where, hint="KEY=VALUE")
    for label, text in (("name", key), ("value", value)):
        if text != text.strip():
            raise InvalidInput(
                f"environment variable {label} {text!r} has spaces before or after it",
                where=f"{where}.{key.strip() or key}",
                hint="Remove the surrounding spaces: entries are used exactly as written.",
            )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise InvalidInput(
            f"environment variable name {key!r} is not a valid name",
            where=f"{where}.{key}",
            hint="Use letters, digits and underscores, not starting with a digit.",
        )
    return key, value


def check_project_name(name: str, *, where: str = "name") -> str:
    if not name or name != name.strip():
        raise InvalidInput(
            f"project name {name!r} is empty or has surrounding spaces",
            where=where,
            hint="Give a name such as 'churn-model'.",
        )
    if len(name) > PROJECT_NAME_MAX:
        raise InvalidInput(
            f"project name is {len(name)} characters long, over {PROJECT_NAME_MAX}",
            where=where,
            hint="Choose a shorter name.",
        )
    if not _PROJECT_NAME.fullmatch(name):
        raise InvalidInput(
            f"project name {name!r} has characters other than letters, digits, spaces, "
            "'-', '_' and '.'",
            where=where,
            hint="Start with a letter or digit; use only letters, digits, spaces, - _ and .",
        )
    return name
