"""A transaction PostgreSQL rolls back to break a deadlock (or a serialization failure) is a
clash between two callers, not a server fault: 503 with Retry-After, saying it is safe to
repeat. Any other database error stays a 500 with its traceback in the log."""

from __future__ import annotations

import psycopg.errors
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from headwater.server import errors


def _app(orig: Exception) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.post("/change")
    def change() -> None:
        raise OperationalError("UPDATE endpoints ...", {}, orig)

    return app


@pytest.mark.parametrize(
    "orig",
    [psycopg.errors.DeadlockDetected("deadlock detected"), psycopg.errors.SerializationFailure()],
)
def test_a_transaction_rolled_back_for_another_answers_503_to_try_again(orig: Exception) -> None:
    answer = TestClient(_app(orig)).post("/change")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["error"] == "server_busy"
    assert "nothing was changed" in body["detail"]
    assert "safe to repeat" in body["hint"]


def test_any_other_database_error_is_the_servers_fault() -> None:
    client = TestClient(_app(psycopg.errors.QueryCanceled()), raise_server_exceptions=False)
    assert client.post("/change").status_code == 500
