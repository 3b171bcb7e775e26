"""An endpoint replica on Ray Serve holds its own task's scoped token, nothing more (issue 14).

The Serve deployment's ``user_config`` lists every replica task of the version with its token
(``executors/rayserve.py``); each Serve replica starts one task's runtime, and the user's
predict code runs in that runtime's sandbox. Here the predict code is the attacker: from
inside a replica of a two-replica endpoint it reports the token it was given, tries with it
what a task token may not do (``test_task_token.py``'s list, the sibling being the other
replica's task), and looks for any other task's token where it can reach: its environment,
``/proc``, the files it can read, and the Ray dashboard's REST API (the Serve config, the
jobs' environments), whose address an attacker guesses (8265) and the test hands it.

Before the head ran with Ray's token authentication the dashboard answered the predict code:
the Serve config gave it the other replica's token, and the jobs list another task's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from headwater.db.tables import TokenRow
from headwater.domain.credentials import token_hash
from tests.integration.test_endpoints import POLICIES, Site, opened_site
from tests.support.liveserver import free_port
from tests.support.rayhead import RayHead
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.ray,
    pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux's (bubblewrap)"),
]

PROBE = r'''
import hashlib, json, os, re, stat
import httpx

TOKEN = re.compile(r"hw_[A-Za-z0-9_-]{43}")


def _tokens(text):
    return set(TOKEN.findall(text))


def _files(roots, limit=4000):
    """Every token in the files under ``roots`` this process can read."""
    found, seen = set(), 0
    for root in roots:
        for top, dirs, names in os.walk(root):
            for name in names:
                seen += 1
                if seen > limit:
                    return found
                path = os.path.join(top, name)
                try:
                    found_stat = os.lstat(path)  # regular files only: a FIFO would block
                    if not stat.S_ISREG(found_stat.st_mode) or found_stat.st_size > 2_000_000:
                        continue
                    with open(path, "rb") as opened:
                        found |= _tokens(opened.read().decode("utf-8", "replace"))
                except OSError:
                    pass
    return found


def _proc():
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for part in ("environ", "cmdline"):
                try:
                    with open(f"/proc/{entry}/{part}", "rb") as opened:
                        found |= _tokens(opened.read().decode("utf-8", "replace"))
                except OSError:
                    pass
    return found


def probe(x):
    token = os.environ["HEADWATER_TOKEN"]
    url = os.environ["HEADWATER_URL"] + "/api/v1"
    pid, me = os.environ["HEADWATER_PROJECT"], os.environ["HW_EXPERIMENT_ID"]
    auth = {"Authorization": "Bearer " + token}

    def code(method, path, **kw):
        return httpx.request(method, url + path, headers=auth, timeout=30, **kw).status_code

    blob = b"forged\n"
    digest = hashlib.sha256(blob).hexdigest()
    forged_tag = {"kind": "tag", "values": {"score": "999"}}
    entry = {"path": "evil.txt", "hash": digest, "size": len(blob)}
    codes = {
        "mint_token": code("POST", "/auth/tokens"),
        "list_users": code("GET", "/users"),
        "whoami": code("GET", "/auth/me"),
        "list_projects": code("GET", "/projects"),
        "create_project": code("POST", "/projects", json={"name": "made-by-a-replica"}),
        "other_project": code("GET", f"/projects/{x['other_project']}"),
        "other_tags": code(
            "POST",
            f"/projects/{x['other_project']}/experiments/{x['other_experiment']}/values",
            json=forged_tag,
        ),
        # the other replica's task (None where the test named this one's: its own tags)
        "sibling_tags": code(
            "POST", f"/projects/{pid}/experiments/{x['sibling']}/values", json=forged_tag
        )
        if x["sibling"] != me
        else None,
        "run_experiment": code("POST", f"/projects/{pid}/experiments", json={"command": "true"}),
        "members": code("GET", f"/projects/{pid}/members"),
        "secrets": code("GET", f"/projects/{pid}/secrets"),
        "commit_to_master": code(
            "POST",
            f"/projects/{pid}/files/commits",
            json={"entries": [entry], "message": "from a replica"},
        ),
        "own_project": code("GET", f"/projects/{pid}"),
        "own_experiment": code("GET", f"/projects/{pid}/experiments/{me}"),
        "own_files": code("GET", f"/projects/{pid}/files/commits"),
    }
    here = os.path.dirname(os.getcwd())
    places = {
        "environment": _tokens("\n".join(os.environ.values())),
        "proc": _proc(),
        "files": _files(["/tmp", here, os.path.expanduser("~"), "/dev/shm", "/run"]),
    }
    reached = {}
    for path in ("/api/serve/applications/", "/api/jobs/"):
        try:
            answer = httpx.get(x["dashboard"] + path, timeout=30)
            reached[path] = answer.status_code
            places["dashboard " + path] = _tokens(answer.text)
        except httpx.HTTPError as error:
            reached[path] = type(error).__name__
    others = {where: sorted(t for t in found if t != token) for where, found in places.items()}
    return {
        "me": me,
        "token": token,
        "codes": codes,
        "others": {where: found for where, found in others.items() if found},
        "dashboard": reached,
    }
'''

REFUSED = {
    "mint_token": 403,
    "list_users": 403,
    "whoami": 403,
    "list_projects": 403,
    "create_project": 403,
    "other_project": 404,
    "other_tags": 404,
    "sibling_tags": 403,
    "run_experiment": 403,
    "members": 403,
    "secrets": 403,
    "commit_to_master": 403,
}
ALLOWED = {"own_project": 200, "own_experiment": 200, "own_files": 200}


@pytest.fixture(scope="module")
def site(ray_head: RayHead, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed (ray[serve])")
    with opened_site(
        tmp_path_factory.mktemp("serve-token"),
        "serving",
        {"predict.py": PROBE},
        HEADWATER_EXECUTOR="ray",
        HEADWATER_RAY_ADDRESS=ray_head.cluster,
        HEADWATER_RAY_PYTHON=sys.executable,
        HEADWATER_RAY_SERVE_PORT=str(free_port()),
        **POLICIES,
    ) as built:
        yield built


def _victim(site: Site) -> tuple[str, str]:
    """Another project (the admin's too: rights on it are not the task's) and an experiment
    in it."""
    admin = {"Authorization": f"Bearer {site.server.admin_token}"}
    made = site.http.post("/api/v1/projects", json={"name": "victim"}, headers=admin)
    assert made.status_code == 201, made.text
    pid = str(made.json()["id"])
    ran = site.http.post(
        f"/api/v1/projects/{pid}/experiments", json={"command": "true"}, headers=admin
    )
    assert ran.status_code in (200, 201), ran.text
    return pid, str(ran.json()[0]["id"])


def test_a_serve_replicas_predict_code_holds_its_own_task_token_alone(
    site: Site, ray_head: RayHead
) -> None:
    other_project, other_experiment = _victim(site)
    site.deploy("probe", function="probe", computes=["tiny"], min_replica=2, max_replica=2)
    shown = site.running("probe", ready=2)
    tasks = {
        site.api("GET", f"/experiments/{r['experiment']}").json()["id"] for r in shown["replicas"]
    }
    assert len(tasks) == 2, shown

    answers: dict[str, dict[str, Any]] = {}

    def both_answered() -> bool:
        for sibling in sorted(tasks):
            body = {
                "other_project": other_project,
                "other_experiment": other_experiment,
                "sibling": sibling,
                "dashboard": ray_head.dashboard,
            }
            got = site.predict(shown["slug"], body, site.keys["probe"])
            assert got.status_code == 200, got.text
            answer = got.json()["prediction"]
            if answer["me"] != sibling:  # the other replica's task is the sibling
                answers.setdefault(answer["me"], answer)
        return set(answers) == tasks

    wait_until(both_answered, timeout=120, message=lambda: f"{sorted(answers)} of {tasks}")

    for me, answer in answers.items():
        token = answer["token"]
        # (a) the replica's own task's scoped token: not the admin's, not the server's
        assert token != site.server.admin_token
        with site.db.read() as session:
            row = session.scalars(
                select(TokenRow).where(TokenRow.token_hash == token_hash(token))
            ).one()
        assert (row.kind, row.experiment_id) == ("task", me), (row.kind, row.experiment_id)
        # (b) with it, nothing beyond its own experiment
        codes = answer["codes"]
        assert {k: codes[k] for k in REFUSED} == REFUSED, codes
        assert {k: codes[k] for k in ALLOWED} == ALLOWED, codes
        # (c) no other task's token anywhere it can reach: the Ray control plane refuses it
        # (the cluster runs with Ray's token authentication, which user code does not hold)
        assert answer["others"] == {}, (answer["others"], answer["dashboard"])
        assert answer["dashboard"] == {"/api/serve/applications/": 401, "/api/jobs/": 401}

    # Nothing the replicas tried elsewhere happened.
    admin = {"Authorization": f"Bearer {site.server.admin_token}"}
    victim = site.http.get(
        f"/api/v1/projects/{other_project}/experiments/{other_experiment}", headers=admin
    )
    assert victim.json()["tags"] == {}, victim.text
    for task in tasks:
        assert site.api("GET", f"/experiments/{task}").json()["tags"] == {}
    projects = site.http.get("/api/v1/projects", headers=admin).json()["items"]
    assert "made-by-a-replica" not in [p["name"] for p in projects]
    stopped = site.api("POST", "/endpoints/probe/stop")
    assert stopped.status_code == 200, stopped.text
