"""What of the worker's own environment a task inherits: an allowlist, never the whole of it.

The worker is started with the server's environment, which may hold the platform's own
credentials (cloud keys, ``PG*`` passwords, a proxy's token). A task is user code and gets
only what running programs needs: the locale, paths, proxies and CA bundles, the usual
settings of pip and numerical libraries, and the GPU's visibility. An admin passes more by
name with ``HEADWATER_TASK_ENV_PASS`` (comma-separated). ``HEADWATER_*`` and ``HW_*`` never
pass: the spec sets those for the task.
"""

from __future__ import annotations

from collections.abc import Mapping

PASS_SETTING = "HEADWATER_TASK_ENV_PASS"
NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR", "LANG", "LANGUAGE",
        "PYTHONPATH", "PYTHONHASHSEED", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
        "PYTHONIOENCODING", "PYTHONUTF8", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "http_proxy", "https_proxy", "no_proxy",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "CUDA_VISIBLE_DEVICES", "HF_HUB_OFFLINE",
    }
)  # fmt: skip
PREFIXES = ("LC_", "PIP_", "OMP_", "MKL_", "OPENBLAS_", "NVIDIA_", "CUDA_", "UV_")
NEVER = ("HEADWATER_", "HW_")


def inherited(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` a task starts from."""
    extra = {name.strip() for name in environ.get(PASS_SETTING, "").split(",") if name.strip()}
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(NEVER) and (key in NAMES or key in extra or key.startswith(PREFIXES))
    }
