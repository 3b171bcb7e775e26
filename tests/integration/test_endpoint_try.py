"""The try route (``POST /projects/{p}/endpoints/{ref}/predict``): a member with jobs read calls
an endpoint without its key, through the gateway's own forwarding (a real server, a real
replica task). Who may call it is in test_access_matrix.py; here: what it answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_endpoints import PREDICT, Site, opened_site
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

BODY_LIMIT = 4096  # HEADWATER_SERVING_BODY_LIMIT_BYTES: under the API's own limit (8 MiB)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    limit = {"HEADWATER_SERVING_BODY_LIMIT_BYTES": str(BODY_LIMIT)}
    files = {"predict.py": PREDICT}
    with opened_site(tmp_path_factory.mktemp("try"), "trying", files, tiny=False, **limit) as built:
        yield built


@pytest.fixture(scope="module")
def reader(site: Site) -> dict[str, str]:
    """Headers of a member with jobs read (the default grant) on the site's project."""
    admin = {"Authorization": f"Bearer {site.server.admin_token}"}
    user = {"username": "reader", "email": "reader@example.com"}
    made = site.http.post("/api/v1/users", json=user, headers=admin)
    assert made.status_code == 201, made.text
    added = site.api("POST", "/members", json={"email": user["email"]})
    assert added.status_code == 201, added.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


@pytest.fixture(scope="module")
def echo(site: Site) -> dict[str, Any]:
    site.deploy("echo", config_vars=["GREETING=try"])
    return site.running("echo")


def tried(site: Site, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return site.http.post(
        f"/api/v1/projects/{site.project}/endpoints/echo/predict", headers=headers, **kwargs
    )


def test_a_reader_gets_the_prediction_and_the_call_is_logged_like_any_other(
    site: Site, echo: dict[str, Any], reader: dict[str, str]
) -> None:
    answer = tried(site, reader, json={"input_params": {"tried": 1}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] == {"echo": {"tried": 1}, "greeting": "try", "version": "v1"}
    request_id = answer.headers["x-request-id"]

    def logged() -> dict[str, Any] | None:
        page = site.api("GET", "/endpoints/echo/requests").json()
        return next((r for r in page["items"] if r["request_id"] == request_id), None)

    row = wait_until(logged, timeout=30, message="the try call was not in the request log")
    assert (row["status"], row["version"]) == (200, 1)


def test_the_body_is_checked_as_the_public_route_checks_it(
    site: Site, echo: dict[str, Any], reader: dict[str, str]
) -> None:
    broken = tried(site, {**reader, "Content-Type": "application/json"}, content=b"{oops")
    assert broken.status_code == 400, broken.text
    assert broken.json()["where"] == "body"
    assert broken.headers["x-request-id"]
    missing = tried(site, reader, json={"input": 1})
    assert missing.status_code == 400
    assert missing.json()["where"] == "body.input_params"
    large = tried(site, reader, json={"input_params": "x" * BODY_LIMIT})
    assert large.status_code == 413
    assert large.json()["error"] == "payload_too_large"


def test_the_endpoint_key_is_no_login_for_the_try_route(site: Site, echo: dict[str, Any]) -> None:
    with_key = tried(
        site, {"Authorization": f"Bearer {site.keys['echo']}"}, json={"input_params": 1}
    )
    assert with_key.status_code == 401
