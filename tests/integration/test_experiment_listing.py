"""Listing experiments: sorted by a column either way, paged without overlap, on SQLite and
PostgreSQL (the engine is off in process: the experiments stay queued)."""

from __future__ import annotations

from tests.support.api import Server, assert_error


def test_sorting_and_paging(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    runs = [{"i": str(i)} for i in range(7)]
    for title in ("beta", "alpha", "gamma"):
        made = owner.post(
            f"/projects/{pid}/experiments", json={"command": "true", "runs": runs, "title": title}
        )
        assert made.status_code == 201, made.text
    path = f"/projects/{pid}/experiments"

    def numbers(**params: object) -> list[int]:
        page = owner.get(path, params=params).json()
        return [e["number"] for e in page["items"]]

    assert numbers(limit=3) == [21, 20, 19]  # newest first by default
    assert numbers(limit=3, desc=False) == [1, 2, 3]
    by_title = owner.get(path, params={"sort": "title", "desc": False, "limit": 100}).json()
    titles = [e["title"] for e in by_title["items"]]
    assert titles == ["alpha"] * 7 + ["beta"] * 7 + ["gamma"] * 7
    assert [e["number"] for e in by_title["items"][:7]] == list(range(8, 15))  # ties by number
    pages = [numbers(sort="title", desc=True, limit=5, offset=offset) for offset in range(0, 21, 5)]
    seen = [n for page in pages for n in page]
    assert sorted(seen) == list(range(1, 22))  # every one once: pages never overlap
    assert seen[:7] == list(range(21, 14, -1))  # gamma first, newest gamma first


def test_an_unknown_sort_column_is_refused(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    response = owner.get(f"/projects/{pid}/experiments", params={"sort": "password"})
    body = assert_error(response, 400, where="sort")  # any param, tag or metric may be named
    assert "title" in body["hint"]  # it lists what may be sorted by


def test_a_title_prefix_finds_live_jobs_case_sensitively_and_without_wildcards(
    server: Server,
) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    for title in ("live:train", "live:serve", "lively", "live_x", "Live:upper", "100%"):
        made = owner.post(f"/projects/{pid}/experiments", json={"command": "true", "title": title})
        assert made.status_code == 201, made.text
    path = f"/projects/{pid}/experiments"

    def titles(prefix: str) -> list[str]:
        page = owner.get(path, params={"title_prefix": prefix, "sort": "title", "desc": False})
        assert page.status_code == 200, page.text
        return [e["title"] for e in page.json()["items"]]

    assert titles("live:") == ["live:serve", "live:train"]
    assert titles("live_") == ["live_x"]  # "_" is not LIKE's any-character here
    assert titles("100%") == ["100%"]
    assert titles("%") == []
