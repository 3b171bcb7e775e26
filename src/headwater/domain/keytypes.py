"""The third-party key types a project can hold, one key each (seed 000, Environment).

Apart from ``project_settings`` (which holds Pydantic models) so that ``hw keys --help``, which
names them, loads no Pydantic.
"""

from __future__ import annotations

THIRD_PARTY_KEY_TYPES = (
    "aws",
    "gcp",
    "azure",
    "docker",
    "git",
    "huggingface",
    "kaggle",
    "wandb",
    "ngc",
)
