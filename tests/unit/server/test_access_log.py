"""uvicorn's access log keeps the API's requests and drops predict calls (gateway/accesslog.py)."""

from __future__ import annotations

import logging

import pytest
import uvicorn

from headwater.server.gateway.accesslog import (
    ACCESS_LOGGER,
    SkipPredictCalls,
    quiet_access_log,
    skip_predict_calls,
)


def _record(path: str) -> logging.LogRecord:
    """What uvicorn's protocols log for an answer: client, method, path, HTTP version, status."""
    return logging.LogRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", path, "1.1", 200),
        None,
    )


@pytest.mark.parametrize(
    "path",
    ["/api/v1/endpoints/churn/predict", "/e/churn/predict", "/e/churn/predict?debug=1"],
)
def test_predict_calls_are_dropped(path: str) -> None:
    assert SkipPredictCalls().filter(_record(path)) is False


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects",
        "/api/v1/endpoints/churn",
        "/api/v1/endpoints/churn/requests",
        "/predict",
        "/e//predict",
        "/api/v1/endpoints/a/b/predict",
    ],
)
def test_other_requests_are_kept(path: str) -> None:
    assert SkipPredictCalls().filter(_record(path)) is True


def test_a_record_of_another_shape_is_kept() -> None:
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "plain", None, None)
    assert SkipPredictCalls().filter(record) is True


def test_the_filter_survives_uvicorn_configuring_its_logging() -> None:
    """``create_app`` installs it before ``uvicorn.run`` configures logging (dictConfig)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    before = list(logger.filters)
    try:
        skip_predict_calls()
        skip_predict_calls()  # once only
        uvicorn.Config(app=lambda *_: None, log_level="info")  # runs uvicorn's dictConfig
        ours = [f for f in logger.filters if isinstance(f, SkipPredictCalls)]
        assert len(ours) == 1
        assert logger.filter(_record("/e/churn/predict")) is False
        assert logger.filter(_record("/api/v1/projects")) is True
    finally:
        logger.filters[:] = before


class _Cycle:
    """Stands for uvicorn's request cycle: ``send`` bound to an object with the flag."""

    def __init__(self) -> None:
        self.access_log = True

    async def send(self, message: object) -> None:
        return None


def test_quiet_access_log_turns_the_line_off_on_the_cycle_before_it_is_built() -> None:
    cycle = _Cycle()
    quiet_access_log(cycle.send)
    assert cycle.access_log is False


def test_quiet_access_log_leaves_a_send_without_the_flag_alone() -> None:
    async def send(message: object) -> None:
        return None

    quiet_access_log(send)  # a plain function: nothing to turn off, no error
    assert not hasattr(send, "access_log")


@pytest.mark.parametrize("module", ["httptools_impl", "h11_impl"])
def test_uvicorns_request_cycles_take_the_flag_quiet_access_log_turns_off(module: str) -> None:
    """If uvicorn renames it, predict calls fall back on the filter: this says so first."""
    import importlib
    import inspect

    cycle = importlib.import_module(f"uvicorn.protocols.http.{module}").RequestResponseCycle
    assert "access_log" in inspect.signature(cycle.__init__).parameters
    assert "self.access_log" in inspect.getsource(cycle.send)
