"""A task's output reaches the log whole whatever its characters: each log request stays under
the server's body limit once JSON-encoded (a character can take 12 bytes there)."""

from __future__ import annotations

from tests.security.conftest import Site

# 3 Mi characters outside the BMP (12 bytes each as JSON), then control characters (6 bytes)
WRITE = (
    'python3 -c "import sys; w = sys.stdout.write; '
    "[w('\\U0001F600' * 1023 + '\\n') for _ in range(3072)]; "
    "[w('\\x01' * 1023 + '\\n') for _ in range(2048)]; print('the-end')\""
)


def test_wide_characters_never_make_a_log_request_too_large(site: Site) -> None:
    ran = site.run(site.user(), WRITE)
    assert ran.experiment.state.value == "success", ran.log[-2000:]
    assert ran.log.count("\U0001f600" * 1023 + "\n") == 3072
    assert ran.log.count("\x01" * 1023 + "\n") == 2048
    assert "the-end" in ran.log
