"""The Headwater SDK: ``Client`` with one sub-client per resource, typed errors, client config.

Example: ``Client(project="PROJECT_ID").env.set({"LEARNING_RATE": "0.01"})``.
"""

from headwater.client.config import (
    ClientConfig,
    load_config,
    resolve_config,
    save_config,
    update_config,
)
from headwater.client.facade import Client
from headwater.domain.errors import (
    Conflict,
    HeadwaterError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    Unauthenticated,
)

__all__ = [
    "Client",
    "ClientConfig",
    "Conflict",
    "HeadwaterError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "ServerUnreachable",
    "Unauthenticated",
    "load_config",
    "resolve_config",
    "save_config",
    "update_config",
]
