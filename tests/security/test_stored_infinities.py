"""Non-finite metric values stored by a server from before they were refused: reads skip them
(JSON has no spelling for them), so neither the API nor the client chokes."""

from __future__ import annotations

from array import array

from sqlalchemy import insert

from headwater.db.tables import MetricChunkRow
from tests.support.api import Server


def _packed(code: str, items: list[float] | list[int]) -> bytes:
    return array(code, items).tobytes()  # the repository's little-endian layout on x86/arm


def test_infinities_from_an_older_server_are_left_out_of_reads(server: Server) -> None:
    project = server.admin.create_project()
    made = server.admin.post(f"/projects/{project['id']}/experiments", json={"command": "true"})
    assert made.status_code == 201, made.text
    experiment = made.json()[0]
    with server.app.state.platform.db.write() as session:
        session.execute(
            insert(MetricChunkRow),
            [
                {
                    "experiment_id": experiment["id"],
                    "key": "loss",
                    "count": 4,
                    "max_step": 3,
                    "steps": _packed("q", [0, 1, 2, 3]),
                    "values": _packed("d", [0.5, float("inf"), 0.25, float("-inf")]),
                    "times": _packed("d", [1.0, 2.0, 3.0, 4.0]),
                    "batch": None,
                }
            ],
        )
    path = f"/projects/{project['id']}/experiments/{experiment['number']}"
    answer = server.admin.get(f"{path}/metrics")
    assert answer.status_code == 200, answer.text
    [series] = answer.json()
    assert series["key"] == "loss"
    assert series["values"] == [0.5, 0.25]
    assert series["steps"] == [0, 2]
    shown = server.admin.get(path)
    assert shown.status_code == 200, shown.text
