"""Every API route, for every role, against a table of who may call it (seeds 001 and 003).

The table below is the specification: one entry per route (method and path template), naming
the roles that may call it and how to build a valid request. The test walks the routes of the
running app, so it fails when a route has no entry, when an entry names a route that is gone, and
when any role is allowed or refused other than the table says.

Allowed means the call succeeds (the entry's status) or, where the entry says so, answers a
clean domain error (e.g. 409 for an owner who tries to leave). Refused means 404 for a caller who
may not even see the project (its existence is not revealed), 403 for one who may see it, and
401 for a caller without a token.

The task role is a running experiment's own token (the owner's task, experiment 1 of the
private project): it passes exactly the routes that domain/task_scope.TASK_OPERATIONS lists
(checked against this table), is refused everything else with 403, and any other project with
404, however much its user may do.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from headwater.db.repos.endpoints import EndpointRepo, NewRequest
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.users import UserRepo
from headwater.domain.jobs import JobState
from headwater.domain.task_scope import TASK_OPERATIONS
from headwater.schemas.frames import encode
from tests.support.api import API, Api, Server, unique

PASSWORD = "matrix-password-1"


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manage member"
    ALL = "all member"  # 'all' on every resource type
    READ = "read member"
    # 'all' on one resource type, 'read' on the others: each resource's routes check their own.
    FILES_ALL = "files-all member"
    DATASETS_ALL = "datasets-all member"
    MODELS_ALL = "models-all member"
    OUTSIDER = "non-member"
    ADMIN = "admin"
    PUBLIC = "any user, public project"
    ANONYMOUS = "no token"
    TASK = "task token"  # the owner's task, on experiment 1 of the private project


R = Role
EVERYBODY = frozenset(Role)
USERS = EVERYBODY - {R.ANONYMOUS, R.TASK}
MEMBERS = frozenset({R.MANAGER, R.ALL, R.READ, R.FILES_ALL, R.DATASETS_ALL, R.MODELS_ALL})
VIEWERS = MEMBERS | {R.OWNER, R.ADMIN, R.PUBLIC}
MANAGERS = frozenset({R.OWNER, R.ADMIN, R.MANAGER})
OWNERS = frozenset({R.OWNER, R.ADMIN})
ADMINS = frozenset({R.ADMIN})
FILES_WRITERS = OWNERS | {R.ALL, R.FILES_ALL}
DATASETS_WRITERS = OWNERS | {R.ALL, R.DATASETS_ALL}
MODELS_WRITERS = OWNERS | {R.ALL, R.MODELS_ALL}
JOBS_WRITERS = OWNERS | {R.ALL}
OWN_TASK = frozenset({R.TASK})  # what the task reports: its own token alone passes
MEMBER_GRANTS: dict[Role, dict[str, Any]] = {
    R.MANAGER: {"manage": True},
    R.ALL: {"files": "all", "jobs": "all", "datasets": "all", "models": "all"},
    R.READ: {},
    R.FILES_ALL: {"files": "all"},
    R.DATASETS_ALL: {"datasets": "all"},
    R.MODELS_ALL: {"models": "all"},
}
MEMBER_NAMES = {
    R.MANAGER: "manager",
    R.ALL: "allmember",
    R.READ: "reader",
    R.FILES_ALL: "filesmember",
    R.DATASETS_ALL: "datasetsmember",
    R.MODELS_ALL: "modelsmember",
}
# One small file, committed in every seeded repository (files, dataset "ds", model "mdl").
BLOB = b"hello, matrix\n"
DIGEST = hashlib.sha256(BLOB).hexdigest()
FILE = {"path": "a.txt", "hash": DIGEST, "size": len(BLOB)}
FRAMES = b"".join(encode([(DIGEST, BLOB)]))


@dataclass
class Call:
    path: str
    json: Any = None
    token: str | None = None  # overrides the role's token (logout uses a throwaway session)
    content: bytes | None = None  # a raw body instead of JSON (object uploads)


@dataclass
class World:
    """Users in every role; a private project with members and a public one without."""

    server: Server
    users: dict[Role, Api]
    victim: Api  # the member that member routes add, change and remove
    private: str = ""
    public: str = ""
    commits: dict[str, str] = field(default_factory=dict)  # repository path: its first commit

    @classmethod
    def build(cls, server: Server) -> World:
        owner = server.create_user("owner", password=PASSWORD)
        # The admin gets a password too, so logout can run on a throwaway session, never on
        # the admin's own token.
        assert server.admin.put("/auth/password", json={"password": PASSWORD}).status_code == 204
        users = {R.OWNER: owner, R.ADMIN: server.admin}
        for role, name in MEMBER_NAMES.items():
            users[role] = server.create_user(name, password=PASSWORD)
        # One user outside every project: a non-member of the private project, and "any user"
        # of the public one.
        stranger = server.create_user("stranger", password=PASSWORD)
        users[R.OUTSIDER] = users[R.PUBLIC] = stranger
        users[R.ANONYMOUS] = server.client()
        world = cls(server, users, victim=server.create_user("victim"))
        world.private = world.new_project(public=False, seed=True)
        world.public = world.new_project(public=True, seed=True)
        users[R.TASK] = server.client(world.launch(world.private, "1"))
        users[R.TASK].user = owner.user  # the task acts for the owner, with none of its rights
        return world

    def launch(self, pid: str, ref: str) -> str:
        """What the engine does when it launches an experiment: its task's token."""
        platform = self.server.app.state.platform
        with platform.db.write() as session:
            experiments = ExperimentRepo(session)
            experiment = experiments.find(pid, ref)
            experiments.move(experiment.id, JobState.INITIALIZING)
            return UserRepo(session).issue_task_token(experiment.created_by, experiment.id)

    @property
    def owner(self) -> Api:
        return self.users[R.OWNER]

    def new_project(self, *, public: bool, seed: bool = False) -> str:
        pid = str(self.owner.create_project(unique("matrix-"), public=public)["id"])
        if not public:
            for role, grant in MEMBER_GRANTS.items():
                self.owner.add_member(pid, self.users[role], **grant)
        if seed:
            self.seed(pid)
        return pid

    def seed(self, pid: str) -> None:
        """A committed file in the project's files, a dataset and a model; a saved query."""
        self.ensure("POST", f"/projects/{pid}/datasets", {"name": "ds"})
        self.ensure("POST", f"/projects/{pid}/models", {"name": "mdl"})
        for base in (
            f"/projects/{pid}/files",
            f"/projects/{pid}/datasets/ds",
            f"/projects/{pid}/models/mdl",
        ):
            upload = self.owner.put(f"{base}/objects/{DIGEST}", content=BLOB)
            assert upload.status_code == 201, upload.text
            commit = self.ensure("POST", f"{base}/commits", {"entries": [FILE], "message": "seed"})
            self.commits[base] = commit["id"]
        query = {"name": "q1", "filter": "*.txt"}
        self.ensure("POST", f"/projects/{pid}/datasets/ds/queries", query)
        self.ensure("POST", f"/projects/{pid}/experiments", {"command": "echo seeded"})
        self.ensure("POST", f"/projects/{pid}/flows", {"yaml": flow_yaml("mflow")})
        self.ensure("POST", f"/projects/{pid}/flows/mflow/runs", {})
        self.ensure("POST", f"/projects/{pid}/endpoints", deploy_body("mep"))

    def project_for(self, role: Role) -> str:
        return self.public if role is R.PUBLIC else self.private

    def can_see(self, role: Role, pid: str) -> bool:
        if role is R.TASK:
            return pid == self.private
        return role in VIEWERS

    # -- preparing the object a call acts on, as the owner --------------------------------------

    def victim_membership(self, pid: str, *, member: bool) -> None:
        listed = self.owner.get(f"/projects/{pid}/members").json()
        present = self.victim.username in [m["username"] for m in listed]
        if member and not present:
            self.owner.add_member(pid, self.victim)
        if not member and present:
            response = self.owner.delete(f"/projects/{pid}/members/{self.victim.username}")
            assert response.status_code == 204, response.text

    def ensure(self, method: str, path: str, body: Any = None) -> Any:
        response = self.owner.request(method, path, json=body)
        assert response.is_success, f"setup {method} {path}: {response.text}"
        return response.json() if response.content else None

    def login(self, role: Role) -> str:
        user = self.users[R.OWNER if role is R.ANONYMOUS else role]
        response = self.server.client().post(
            "/auth/login", json={"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])


Build = Callable[[World, Role, str], Call]


@dataclass(frozen=True)
class Entry:
    allowed: frozenset[Role]
    build: Build
    ok: int = 200
    domain: Mapping[Role, int] = field(default_factory=dict)  # allowed, answered by the domain
    fresh_project: bool = False  # the call destroys the project or the membership


def plain(path: str, json: Any = None) -> Build:
    return lambda w, role, pid: Call(path.format(pid=pid), json)


def login(w: World, role: Role, pid: str) -> Call:
    user = w.users[R.OWNER if role is R.ANONYMOUS else role]
    return Call("/auth/login", {"username": user.username, "password": PASSWORD})


def logout(w: World, role: Role, pid: str) -> Call:
    own = role in (R.ANONYMOUS, R.TASK)  # those send what they hold
    return Call("/auth/logout", token=None if own else w.login(role))


def own_session(w: World, role: Role, pid: str) -> Call:
    """DELETE /auth/tokens/{id} of a throwaway session of the role's user."""
    session = w.server.client(w.login(role))
    [mine] = [t["id"] for t in session.get("/auth/tokens").json() if t["current"]]
    return Call(f"/auth/tokens/{mine}")


def new_user(w: World, role: Role, pid: str) -> Call:
    name = unique("made")
    return Call("/users", {"username": name, "email": f"{name}@example.org"})


def add_member(w: World, role: Role, pid: str) -> Call:
    w.victim_membership(pid, member=False)
    return Call(f"/projects/{pid}/members", {"email": w.victim.email, "jobs": "all"})


def member_route(json: Any = None) -> Build:
    def build(w: World, role: Role, pid: str) -> Call:
        w.victim_membership(pid, member=True)
        return Call(f"/projects/{pid}/members/{w.victim.username}", json)

    return build


def existing(setup_method: str, setup_path: str, body: Any = None) -> Build:
    """A route acting on an object the owner creates first."""

    def build(w: World, role: Role, pid: str) -> Call:
        w.ensure(setup_method, setup_path.format(pid=pid), body)
        return Call(setup_path.format(pid=pid))

    return build


def existing_env(w: World, role: Role, pid: str) -> Call:
    w.ensure("PATCH", f"/projects/{pid}/env", {"env": {"DROP_ME": "1"}})
    return Call(f"/projects/{pid}/env/DROP_ME")


def fresh_repo(kind: str) -> Build:
    """DELETE /{kind}s/{name} on a dataset or model the owner creates for this call."""

    def build(w: World, role: Role, pid: str) -> Call:
        name = unique("gone")
        w.ensure("POST", f"/projects/{pid}/{kind}s", {"name": name})
        return Call(f"/projects/{pid}/{kind}s/{name}")

    return build


def fresh_query(w: World, role: Role, pid: str) -> Call:
    name = unique("gone")
    w.ensure("POST", f"/projects/{pid}/datasets/ds/queries", {"name": name, "filter": "*"})
    return Call(f"/projects/{pid}/datasets/ds/queries/{name}")


def repo_entries(
    template: str, base: str, writers: frozenset[Role], readers: frozenset[Role] = VIEWERS
) -> dict[str, Entry]:
    """The versioned-tree routes of one repository: reads for ``readers``, writes for
    ``writers``. ``template`` is the route's path template, ``base`` the path of the seeded
    repository. A task commits on its own experiment's branch (its outputs)."""

    def at(suffix: str, json: Any = None, content: bytes | None = None) -> Build:
        return lambda w, role, pid: Call(base.format(pid=pid) + suffix, json, content=content)

    def commit(w: World, role: Role, pid: str) -> Call:
        body: dict[str, Any] = {"entries": [FILE], "message": "again"}
        if role is R.TASK:
            body["branch"] = "experiments/1"
        return Call(base.format(pid=pid) + "/commits", body)

    def diff(w: World, role: Role, pid: str) -> Call:
        path = base.format(pid=pid)
        return Call(f"{path}/diff?a={w.commits[path]}")

    hashes = {"hashes": [DIGEST]}
    return {
        f"POST {template}/objects/missing": Entry(writers, at("/objects/missing", hashes)),
        f"PUT {template}/objects/{{digest}}": Entry(
            writers, at(f"/objects/{DIGEST}", content=BLOB), ok=201
        ),
        f"POST {template}/objects/batch": Entry(
            writers, at("/objects/batch", content=FRAMES), ok=201
        ),
        f"POST {template}/objects/download": Entry(readers, at("/objects/download", hashes)),
        f"GET {template}/objects/{{digest}}": Entry(readers, at(f"/objects/{DIGEST}")),
        f"POST {template}/commits": Entry(writers, commit, ok=201),
        f"GET {template}/commits": Entry(readers, at("/commits")),
        f"GET {template}/branches": Entry(readers, at("/branches")),
        f"GET {template}/tree": Entry(readers, at("/tree")),
        f"GET {template}/content/{{path:path}}": Entry(readers, at("/content/a.txt")),
        f"GET {template}/diff": Entry(readers, diff),
        f"GET {template}/preview/{{path:path}}": Entry(readers, at("/preview/a.txt")),
    }


def flow_yaml(name: str, *, approver: str | None = None) -> str:
    gate = f"\n    confirmation: [{approver}]" if approver else ""
    return (
        f"flow: {name}\ntasks:\n  - title: Say\n    type: exec\n    input: echo hi\n"
        f"    computes: [default]{gate}\nrelations: []\n"
    )


def fresh_flow(w: World, role: Role, pid: str) -> Call:
    name = unique("flow")
    w.ensure("POST", f"/projects/{pid}/flows", {"yaml": flow_yaml(name)})
    return Call(f"/projects/{pid}/flows/{name}")


def fresh_run(suffix: str, *, ended: bool = False, approver: str | None = None) -> Build:
    """A run of a flow of its own, stopped first when ``ended``, waiting for ``approver``."""

    def build(w: World, role: Role, pid: str) -> Call:
        name = unique("flow")
        w.ensure("POST", f"/projects/{pid}/flows", {"yaml": flow_yaml(name, approver=approver)})
        run = w.ensure("POST", f"/projects/{pid}/flows/{name}/runs", {})
        if ended:
            w.ensure("POST", f"/projects/{pid}/flow-runs/{run['number']}/stop")
        return Call(f"/projects/{pid}/flow-runs/{run['number']}{suffix}", {})

    return build


def deploy_body(title: str) -> dict[str, Any]:
    return {"title": title, "file_name": "a.txt", "function_name": "predict"}


def fresh_endpoint(suffix: str, *, versions: int = 1) -> Build:
    """A route acting on an endpoint the owner deploys for this call (``versions`` times)."""

    def build(w: World, role: Role, pid: str) -> Call:
        title = unique("ep-")
        for _ in range(versions):
            w.ensure("POST", f"/projects/{pid}/endpoints", deploy_body(title))
        return Call(f"/projects/{pid}/endpoints/{title}{suffix}")

    return build


def fresh_trigger(w: World, role: Role, pid: str) -> Call:
    made = w.ensure("POST", f"/projects/{pid}/flows/mflow/triggers", {"kind": "webhook"})
    return Call(f"/projects/{pid}/flows/mflow/triggers/{made['id']}")


def fired_webhook(w: World, role: Role, pid: str) -> Call:
    made = w.ensure("POST", f"/projects/{pid}/flows/mflow/triggers", {"kind": "webhook"})
    return Call(f"/hooks/flows/{made['id']}?token={made['token']}")


def fresh_experiment(suffix: str) -> Build:
    """A route acting on an experiment the owner starts for this call."""

    def build(w: World, role: Role, pid: str) -> Call:
        made = w.ensure("POST", f"/projects/{pid}/experiments", {"command": "echo hi"})
        return Call(f"/projects/{pid}/experiments/{made[0]['number']}{suffix}")

    return build


def endpoint_at(suffix: str) -> Build:
    """A route of endpoint ``mlog``, recorded with one logged request (``{logged}`` in
    ``suffix``) as the controller and the gateway leave them; it has no replica."""

    def build(w: World, role: Role, pid: str) -> Call:
        platform = w.server.app.state.platform
        with platform.db.write() as session:
            repo = EndpointRepo(session)
            endpoint, new = repo.define(
                pid, "mlog", {}, flow_run_id=None, created_by=None, min_replicas=1, max_replicas=1
            )
            if new:
                version = repo.add_version(
                    endpoint.id, definition={}, source={}, flow_run_id=None, created_by=None
                )
                repo.update_version(version.id, state="live", traffic=100)
                logged = NewRequest(
                    endpoint_id=endpoint.id,
                    version_id=version.id,
                    request_id="r1",
                    at=datetime.now(UTC),
                    latency_ms=1.0,
                    status=200,
                    input='{"input_params": 1}',
                    output='{"prediction": 1}',
                )
                repo.log_requests([logged])
            [logged_id] = [r.id for r in repo.requests(endpoint.id, offset=0, limit=1)[0]]
        return Call(f"/projects/{pid}/endpoints/mlog" + suffix.format(logged=logged_id))

    return build


def tried_endpoint(w: World, role: Role, pid: str) -> Call:
    """The try route of ``mlog`` (no replica) with a valid body."""
    return Call(endpoint_at("/predict")(w, role, pid).path, {"input_params": [1]})


def workspace_at(suffix: str, *, fresh: bool = False) -> Build:
    """A route of the project's workspace ``mws`` (queued: the engine is off here), or of one
    started for this call when ``fresh`` (a stop ends it)."""

    def build(w: World, role: Role, pid: str) -> Call:
        listed = w.ensure("GET", f"/projects/{pid}/workspaces?active=true")
        found = [ws for ws in listed if ws["name"] == "mws"]
        if fresh or not found:
            name = unique("ws-") if fresh else "mws"
            found = [w.ensure("POST", f"/projects/{pid}/workspaces", {"name": name})]
        return Call(f"/projects/{pid}/workspaces/{found[0]['id']}{suffix}", {})

    return build


def experiment_outputs(w: World, role: Role, pid: str) -> Call:
    """An experiment of its own whose outputs (``output/a.txt``) are committed on its branch,
    as the runtime leaves them; the call registers them as a model version."""
    made = w.ensure("POST", f"/projects/{pid}/experiments", {"command": "echo hi"})[0]
    output = {**FILE, "path": "output/a.txt"}
    branch = f"experiments/{made['number']}"
    body = {"entries": [output], "branch": branch}
    commit = w.ensure("POST", f"/projects/{pid}/files/commits", body)
    with w.server.app.state.platform.db.write() as session:
        ExperimentRepo(session).set_output_commit(made["id"], commit["id"])
    route = f"/projects/{pid}/models/{unique('mdl')}/versions/from-experiment"
    return Call(route, {"experiment": str(made["number"])})


def log_batch(w: World, role: Role, pid: str) -> Call:
    chunk = {"seq": next(_log_seq), "stream": "stdout", "text": "hello\n"}
    return Call(f"/projects/{pid}/experiments/1/logs", {"chunks": [chunk]})


_log_seq = itertools.count()


def own_compute(w: World, role: Role, pid: str) -> Call:
    name = unique("c-")
    w.ensure("POST", "/compute", {"name": name, "cpus": 1, "memory_mb": 64, "owned": True})
    return Call(f"/compute/{name}")


def existing_webhook(w: World, role: Role, pid: str) -> Call:
    hook = w.ensure("POST", f"/projects/{pid}/webhooks", {"url": "https://example.org/h"})
    return Call(f"/projects/{pid}/webhooks/{hook['id']}")


P = API + "/projects/{project_id}"
TASK_READERS = VIEWERS | {R.TASK}  # reads the task may make in its own project
ENTRIES: dict[str, Entry] = {
    "GET /": Entry(EVERYBODY, plain("/")),  # the web UI's index page
    f"GET {API}/auth/me": Entry(USERS, plain("/auth/me")),
    f"POST {API}/auth/tokens": Entry(USERS, plain("/auth/tokens"), ok=201),
    f"POST {API}/auth/login": Entry(EVERYBODY, login),
    f"POST {API}/auth/logout": Entry(USERS, logout, ok=204),
    f"GET {API}/auth/tokens": Entry(USERS, plain("/auth/tokens")),
    f"DELETE {API}/auth/tokens/{{token_id}}": Entry(USERS, own_session, ok=204),
    f"PUT {API}/auth/password": Entry(
        USERS,
        plain("/auth/password", {"password": PASSWORD, "current_password": PASSWORD}),
        ok=204,
    ),
    f"GET {API}/users": Entry(ADMINS, plain("/users")),
    f"POST {API}/users": Entry(ADMINS, new_user, ok=201),
    f"GET {API}/projects": Entry(USERS, plain("/projects")),
    f"POST {API}/projects": Entry(
        USERS, lambda w, r, p: Call("/projects", {"name": unique("new-")}), ok=201
    ),
    f"GET {P}": Entry(TASK_READERS, plain("/projects/{pid}")),
    f"PATCH {P}": Entry(OWNERS, plain("/projects/{pid}", {"description": "changed"})),
    f"DELETE {P}": Entry(OWNERS, plain("/projects/{pid}"), ok=204, fresh_project=True),
    f"GET {P}/activity": Entry(VIEWERS, plain("/projects/{pid}/activity")),
    f"POST {P}/leave": Entry(
        VIEWERS,
        plain("/projects/{pid}/leave"),
        ok=204,
        # Only a member can leave: the owner, an admin and a passer-by get a clean 409.
        domain={R.OWNER: 409, R.ADMIN: 409, R.PUBLIC: 409},
        fresh_project=True,
    ),
    f"GET {P}/members": Entry(VIEWERS, plain("/projects/{pid}/members")),
    f"GET {P}/people": Entry(VIEWERS, plain("/projects/{pid}/people?id=nobody")),
    # A manager (read on every resource) may not grant 'all': the domain refuses it.
    f"POST {P}/members": Entry(MANAGERS, add_member, ok=201, domain={R.MANAGER: 403}),
    f"PATCH {P}/members/{{member}}": Entry(
        MANAGERS, member_route({"models": "all"}), domain={R.MANAGER: 403}
    ),
    f"DELETE {P}/members/{{member}}": Entry(MANAGERS, member_route(), ok=204),
    f"GET {P}/settings": Entry(VIEWERS, plain("/projects/{pid}/settings")),
    f"PATCH {P}/settings": Entry(OWNERS, plain("/projects/{pid}/settings", {"idle_minutes": 30})),
    f"GET {P}/env": Entry(VIEWERS, plain("/projects/{pid}/env")),
    f"PATCH {P}/env": Entry(OWNERS, plain("/projects/{pid}/env", {"env": {"A": "1"}})),
    f"DELETE {P}/env/{{key}}": Entry(OWNERS, existing_env, ok=204),
    f"GET {P}/secrets": Entry(OWNERS, plain("/projects/{pid}/secrets")),
    f"PUT {P}/secrets/{{key}}": Entry(
        OWNERS, plain("/projects/{pid}/secrets/TOKEN", {"value": "v"})
    ),
    f"DELETE {P}/secrets/{{key}}": Entry(
        OWNERS, existing("PUT", "/projects/{pid}/secrets/GONE", {"value": "v"}), ok=204
    ),
    f"GET {P}/keys": Entry(OWNERS, plain("/projects/{pid}/keys")),
    f"PUT {P}/keys/{{key_type}}": Entry(
        OWNERS, plain("/projects/{pid}/keys/aws", {"key_id": "AKIA", "secret": "s"})
    ),
    f"DELETE {P}/keys/{{key_type}}": Entry(
        OWNERS, existing("PUT", "/projects/{pid}/keys/gcp", {"key_id": "g", "secret": "s"}), ok=204
    ),
    f"GET {P}/webhooks": Entry(OWNERS, plain("/projects/{pid}/webhooks")),
    f"POST {P}/webhooks": Entry(
        OWNERS, plain("/projects/{pid}/webhooks", {"url": "https://example.org/hook"}), ok=201
    ),
    f"DELETE {P}/webhooks/{{webhook_id}}": Entry(OWNERS, existing_webhook, ok=204),
    f"GET {P}/datasets": Entry(TASK_READERS, plain("/projects/{pid}/datasets")),
    f"POST {P}/datasets": Entry(
        DATASETS_WRITERS,
        lambda w, r, p: Call(f"/projects/{p}/datasets", {"name": unique("ds")}),
        ok=201,
    ),
    f"GET {P}/datasets/{{name}}": Entry(TASK_READERS, plain("/projects/{pid}/datasets/ds")),
    f"DELETE {P}/datasets/{{name}}": Entry(DATASETS_WRITERS, fresh_repo("dataset"), ok=204),
    f"GET {P}/models": Entry(TASK_READERS, plain("/projects/{pid}/models")),
    f"POST {P}/models": Entry(
        MODELS_WRITERS,
        lambda w, r, p: Call(f"/projects/{p}/models", {"name": unique("mdl")}),
        ok=201,
    ),
    f"GET {P}/models/{{name}}": Entry(TASK_READERS, plain("/projects/{pid}/models/mdl")),
    f"DELETE {P}/models/{{name}}": Entry(MODELS_WRITERS, fresh_repo("model"), ok=204),
    f"GET {P}/datasets/{{name}}/queries": Entry(
        TASK_READERS, plain("/projects/{pid}/datasets/ds/queries")
    ),
    f"POST {P}/datasets/{{name}}/queries": Entry(
        DATASETS_WRITERS,
        lambda w, r, p: Call(
            f"/projects/{p}/datasets/ds/queries", {"name": unique("q"), "filter": "*.txt"}
        ),
        ok=201,
    ),
    f"GET {P}/datasets/{{name}}/queries/{{query}}": Entry(
        TASK_READERS, plain("/projects/{pid}/datasets/ds/queries/q1")
    ),
    f"DELETE {P}/datasets/{{name}}/queries/{{query}}": Entry(DATASETS_WRITERS, fresh_query, ok=204),
    # the task writes the project's files (its outputs), and reads all three
    **repo_entries(f"{P}/files", "/projects/{pid}/files", FILES_WRITERS | {R.TASK}, TASK_READERS),
    **repo_entries(
        f"{P}/datasets/{{name}}", "/projects/{pid}/datasets/ds", DATASETS_WRITERS, TASK_READERS
    ),
    **repo_entries(
        f"{P}/models/{{name}}", "/projects/{pid}/models/mdl", MODELS_WRITERS, TASK_READERS
    ),
    f"POST {P}/models/{{name}}/versions/from-experiment": Entry(
        MODELS_WRITERS, experiment_outputs, ok=201
    ),
    f"GET {P}/experiments": Entry(VIEWERS, plain("/projects/{pid}/experiments")),
    f"POST {P}/experiments": Entry(
        JOBS_WRITERS, plain("/projects/{pid}/experiments", {"command": "echo hi"}), ok=201
    ),
    f"GET {P}/experiments/columns": Entry(VIEWERS, plain("/projects/{pid}/experiments/columns")),
    f"GET {P}/experiments/{{ref}}": Entry(TASK_READERS, plain("/projects/{pid}/experiments/1")),
    f"POST {P}/experiments/{{ref}}/stop": Entry(JOBS_WRITERS, fresh_experiment("/stop")),
    f"GET {P}/experiments/{{ref}}/logs": Entry(
        TASK_READERS, plain("/projects/{pid}/experiments/1/logs")
    ),
    f"POST {P}/experiments/{{ref}}/logs": Entry(OWN_TASK, log_batch, ok=204),
    f"GET {P}/experiments/{{ref}}/metrics": Entry(
        TASK_READERS, plain("/projects/{pid}/experiments/1/metrics")
    ),
    f"POST {P}/experiments/{{ref}}/metrics": Entry(
        OWN_TASK,
        plain("/projects/{pid}/experiments/1/metrics", {"points": [["m", None, 1.0, None]]}),
    ),
    f"POST {P}/experiments/{{ref}}/values": Entry(
        OWN_TASK,
        plain("/projects/{pid}/experiments/1/values", {"kind": "param", "values": {"a": "1"}}),
        ok=204,
    ),
    f"GET {P}/experiments/{{ref}}/spec": Entry(
        OWN_TASK, plain("/projects/{pid}/experiments/1/spec")
    ),
    f"POST {P}/experiments/{{ref}}/state": Entry(
        OWN_TASK, plain("/projects/{pid}/experiments/1/state", {"state": "running"})
    ),
    f"POST {P}/experiments/{{ref}}/output": Entry(
        OWN_TASK, plain("/projects/{pid}/experiments/1/output", {"commit": "0" * 64}), ok=204
    ),
    f"POST {P}/flows": Entry(
        JOBS_WRITERS, plain("/projects/{pid}/flows", {"yaml": flow_yaml("mflow")})
    ),
    f"GET {P}/flows": Entry(VIEWERS, plain("/projects/{pid}/flows")),
    f"GET {P}/flows/{{name}}": Entry(VIEWERS, plain("/projects/{pid}/flows/mflow")),
    f"DELETE {P}/flows/{{name}}": Entry(JOBS_WRITERS, fresh_flow, ok=204),
    f"DELETE {P}/flows/{{name}}/cache": Entry(
        JOBS_WRITERS, plain("/projects/{pid}/flows/mflow/cache")
    ),
    f"GET {P}/flows/{{name}}/versions": Entry(
        VIEWERS, plain("/projects/{pid}/flows/mflow/versions")
    ),
    f"GET {P}/flows/{{name}}/versions/{{number}}": Entry(
        VIEWERS, plain("/projects/{pid}/flows/mflow/versions/1")
    ),
    f"POST {P}/flows/{{name}}/runs": Entry(
        JOBS_WRITERS, plain("/projects/{pid}/flows/mflow/runs", {}), ok=201
    ),
    f"GET {P}/flow-runs": Entry(VIEWERS, plain("/projects/{pid}/flow-runs")),
    # workspaces: opening, saving and stopping one edits files and runs a job (both 'all')
    f"GET {P}/workspaces": Entry(VIEWERS, plain("/projects/{pid}/workspaces")),
    f"POST {P}/workspaces": Entry(
        JOBS_WRITERS,
        lambda w, r, p: Call(f"/projects/{p}/workspaces", {"name": unique("ws-")}),
        ok=201,
    ),
    f"GET {P}/workspaces/{{workspace_id}}": Entry(VIEWERS, workspace_at("")),
    # a queued workspace has no folder to save yet: the domain answers 409
    f"POST {P}/workspaces/{{workspace_id}}/save": Entry(
        JOBS_WRITERS, workspace_at("/save"), domain=dict.fromkeys(JOBS_WRITERS, 409)
    ),
    f"POST {P}/workspaces/{{workspace_id}}/stop": Entry(
        JOBS_WRITERS, workspace_at("/stop", fresh=True)
    ),
    # TensorBoards are workspaces of their own kind: the same access as starting one
    f"GET {P}/tensorboards": Entry(VIEWERS, plain("/projects/{pid}/tensorboards")),
    f"POST {P}/tensorboards": Entry(
        JOBS_WRITERS,
        lambda w, r, p: Call(
            f"/projects/{p}/tensorboards", {"name": unique("tb-"), "experiments": [1]}
        ),
        ok=201,
    ),
    # experiment 1 runs with the setting off: it has no TensorBoard (the domain's 404)
    f"GET {P}/experiments/{{ref}}/tensorboard": Entry(
        VIEWERS,
        plain("/projects/{pid}/experiments/1/tensorboard"),
        domain=dict.fromkeys(VIEWERS, 404),
    ),
    f"GET {P}/endpoints": Entry(VIEWERS, plain("/projects/{pid}/endpoints")),
    f"POST {P}/endpoints": Entry(
        JOBS_WRITERS,
        lambda w, r, p: Call(f"/projects/{p}/endpoints", deploy_body(unique("ep-"))),
        ok=201,
    ),
    f"GET {P}/endpoints/{{ref}}": Entry(VIEWERS, plain("/projects/{pid}/endpoints/mep")),
    f"DELETE {P}/endpoints/{{ref}}": Entry(JOBS_WRITERS, fresh_endpoint(""), ok=204),
    f"POST {P}/endpoints/{{ref}}/scale": Entry(
        JOBS_WRITERS,
        plain("/projects/{pid}/endpoints/mep/scale", {"min_replica": 1, "max_replica": 2}),
    ),
    f"POST {P}/endpoints/{{ref}}/stop": Entry(JOBS_WRITERS, fresh_endpoint("/stop")),
    f"POST {P}/endpoints/{{ref}}/start": Entry(JOBS_WRITERS, fresh_endpoint("/start")),
    f"POST {P}/endpoints/{{ref}}/rollback": Entry(
        JOBS_WRITERS, fresh_endpoint("/rollback", versions=2)
    ),
    f"POST {P}/endpoints/{{ref}}/key/rotate": Entry(
        JOBS_WRITERS, plain("/projects/{pid}/endpoints/mep/key/rotate")
    ),
    f"GET {P}/endpoints/{{ref}}/logs": Entry(VIEWERS, plain("/projects/{pid}/endpoints/mep/logs")),
    # a replica's task only; experiment 1 is no replica: the domain answers 409
    f"POST {P}/experiments/{{ref}}/serving": Entry(
        OWN_TASK,
        plain("/projects/{pid}/experiments/1/serving", {"address": "unix:/x/y.sock"}),
        ok=204,
        domain={R.TASK: 409},
    ),
    f"GET {P}/endpoints/{{ref}}/requests": Entry(VIEWERS, endpoint_at("/requests")),
    f"GET {P}/endpoints/{{ref}}/traffic": Entry(VIEWERS, endpoint_at("/traffic")),
    # replayed through the gateway: mlog has no replica, so the endpoint answers 503
    f"POST {P}/endpoints/{{ref}}/requests/{{request_id}}/replay": Entry(
        JOBS_WRITERS, endpoint_at("/requests/{logged}/replay"), ok=503
    ),
    # the try route: whoever sees the endpoint may call it without its key; mlog has no
    # replica, so the call reaches the gateway and answers 503
    f"POST {P}/endpoints/{{ref}}/predict": Entry(VIEWERS, tried_endpoint, ok=503),
    f"GET {P}/flow-runs/{{ref}}": Entry(VIEWERS, plain("/projects/{pid}/flow-runs/1")),
    f"GET {P}/flow-runs/{{ref}}/instances": Entry(
        VIEWERS, plain("/projects/{pid}/flow-runs/1/instances")
    ),
    f"POST {P}/flow-runs/{{ref}}/stop": Entry(JOBS_WRITERS, fresh_run("/stop")),
    f"POST {P}/flow-runs/{{ref}}/restart": Entry(
        JOBS_WRITERS, fresh_run("/restart", ended=True), ok=201
    ),
    # only the task's approvers (here: nobody in the table), the owner or an admin decide
    f"POST {P}/flow-runs/{{ref}}/tasks/{{title}}/approve": Entry(
        OWNERS, fresh_run("/tasks/Say/approve", approver="somebody-else")
    ),
    f"POST {P}/flow-runs/{{ref}}/tasks/{{title}}/reject": Entry(
        OWNERS, fresh_run("/tasks/Say/reject", approver="somebody-else")
    ),
    f"GET {P}/flows/{{name}}/triggers": Entry(
        VIEWERS, plain("/projects/{pid}/flows/mflow/triggers")
    ),
    f"POST {P}/flows/{{name}}/triggers": Entry(
        JOBS_WRITERS, plain("/projects/{pid}/flows/mflow/triggers", {"kind": "webhook"}), ok=201
    ),
    f"DELETE {P}/flows/{{name}}/triggers/{{trigger_id}}": Entry(
        JOBS_WRITERS, fresh_trigger, ok=204
    ),
    # the trigger's token is the credential, whoever sends it
    f"POST {API}/hooks/flows/{{trigger_id}}": Entry(EVERYBODY, fired_webhook, ok=201),
    f"GET {API}/compute": Entry(USERS, plain("/compute")),
    f"POST {API}/compute": Entry(
        USERS,
        lambda w, r, p: Call(
            "/compute", {"name": unique("mine-"), "cpus": 1, "memory_mb": 64, "owned": True}
        ),
        ok=201,
    ),
    f"DELETE {API}/compute/{{name}}": Entry(OWNERS, own_compute, ok=204),
    f"GET {API}/monitor": Entry(USERS, plain("/monitor")),
    f"GET {API}/monitor/jobs": Entry(USERS, plain("/monitor/jobs")),
    f"GET {API}/monitor/history": Entry(USERS, plain("/monitor/history")),
    f"POST {API}/admin/fsck": Entry(ADMINS, plain("/admin/fsck")),
    f"POST {API}/admin/gc": Entry(ADMINS, plain("/admin/gc", {"dry_run": True})),
    "GET /healthz": Entry(EVERYBODY, plain("/healthz")),
    "GET /metrics": Entry(EVERYBODY, plain("/metrics")),
    # public on loopback, as this server listens; tests/security/test_headers.py: login elsewhere
    f"GET {API}/openapi.json": Entry(EVERYBODY, plain(f"{API}/openapi.json")),
    "GET /docs": Entry(EVERYBODY, plain("/docs")),
    "GET /docs/oauth2-redirect": Entry(EVERYBODY, plain("/docs/oauth2-redirect")),
    "GET /redoc": Entry(EVERYBODY, plain("/redoc")),
}


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, full path template, route) for every API route, included routers too.

    FastAPI keeps included routers as lazy entries in ``app.routes``; ``iter_route_contexts``
    (what FastAPI's own OpenAPI builder walks) flattens them, prefix included.
    """
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in sorted(context.methods or ()):
                yield method, str(context.path), route


def declared_permissions(dependant: Dependant) -> list[object]:
    """The permissions the route's ``require(...)`` dependencies declare, at any depth."""
    found: list[object] = []
    for dep in dependant.dependencies:
        permission = getattr(dep.call, "permission", None)
        if permission is not None:
            found.append(permission)
        found += declared_permissions(dep)
    return found


def expected_status(world: World, key: str, entry: Entry, role: Role, pid: str) -> set[int]:
    if role in entry.allowed:
        return {entry.domain.get(role, entry.ok)}
    if role is R.ANONYMOUS:
        return {401}
    if "{project_id}" in key and not world.can_see(role, pid):
        return {404}
    return {403}


def test_every_route_for_every_role(server: Server) -> None:
    routes = {f"{method} {path}": route for method, path, route in api_routes(server.app)}
    missing = sorted(set(routes) - set(ENTRIES))
    stale = sorted(set(ENTRIES) - set(routes))
    assert not missing, f"routes with no entry in the access table: {missing}"
    assert not stale, f"table entries for routes that no longer exist: {stale}"
    # The task's allow-list and this table agree (routes open to everybody ask for no token).
    task_listed = {key for key, route in routes.items() if route.name in TASK_OPERATIONS}
    task_allowed = {k for k, e in ENTRIES.items() if R.TASK in e.allowed and e.allowed != EVERYBODY}
    assert task_listed == task_allowed, (task_listed ^ task_allowed, "TASK_OPERATIONS vs table")
    assert set(TASK_OPERATIONS) <= {route.name for route in routes.values()}, "stale names"

    # Every project route checks access through require(...) for one permission; no other
    # route does.
    for key, route in routes.items():
        permissions = declared_permissions(route.dependant)
        if "{project_id}" in key:
            assert len(set(permissions)) == 1, f"{key} declares {permissions}"
        else:
            assert permissions == [], f"{key} declares {permissions} but names no project"

    world = World.build(server)
    # A 5xx must show up as a failing status in the report, not abort the walk.
    clients = {
        role: server.client(api.token, raise_server_exceptions=False)
        for role, api in world.users.items()
    }
    failures: list[str] = []
    for (key, entry), role in itertools.product(sorted(ENTRIES.items()), Role):
        method = key.split(" ", 1)[0]
        pid = world.project_for(role)
        if entry.fresh_project:
            pid = world.new_project(public=role is R.PUBLIC)
        call = entry.build(world, role, pid)
        client = clients[role]
        client.http.cookies.clear()  # only the token speaks: login leaves a session cookie
        headers = {"Authorization": f"Bearer {call.token}"} if call.token else None
        if call.content is not None:
            response = client.request(method, call.path, content=call.content, headers=headers)
        else:
            response = client.request(method, call.path, json=call.json, headers=headers)
        expected = expected_status(world, key, entry, role, pid)
        if response.status_code not in expected:
            verdict = "allow" if role in entry.allowed else "deny"
            failures.append(
                f"{key} as {role} ({verdict}): expected {sorted(expected)}, "
                f"got {response.status_code} {response.text[:200]}"
            )
    assert not failures, f"{len(failures)} mismatch(es):\n" + "\n".join(failures)
