"""``hw`` end to end: each command in a subprocess against a real ``hw server``."""

from __future__ import annotations

import json
import stat
from typing import Any

from tests.e2e.conftest import Hw, LiveServer, Result, make_hw, unique


def one_paragraph_error(result: Result, *needles: str, stdout: str = "") -> None:
    """The CLI contract for user errors: exit 1, one paragraph on stderr naming what went
    wrong, no traceback, and (unless told otherwise) nothing on stdout."""
    assert result.code == 1, result
    assert result.stdout == stdout
    message = result.stderr.strip()
    assert message.startswith("Error: "), message
    assert "\n\n" not in message, message
    assert "Traceback" not in message, message
    for needle in needles:
        assert needle in message, message


def create_project(hw: Hw, prefix: str = "proj", *args: str) -> dict[str, Any]:
    project: dict[str, Any] = hw.json("project", "create", unique(prefix), *args)
    return project


def test_login_stores_url_and_token_privately(
    tmp_path: Any, live_server: LiveServer, admin: Hw
) -> None:
    config = admin.config()
    assert config["url"] == live_server.url
    assert config["token"] == live_server.admin_token
    mode = stat.S_IMODE((admin.config_dir / "config.json").stat().st_mode)
    assert mode == 0o600
    assert admin.json("whoami")["username"] == "admin"

    stranger = make_hw(tmp_path, "stranger")
    refused = stranger("login", "--url", live_server.url, "--token", "hw_not-a-token", code=1)
    one_paragraph_error(refused, "token is not known", "hw login")
    assert not (stranger.config_dir / "config.json").exists()
    usage = stranger("login", "--url", live_server.url, code=2)
    assert "--token" in usage.stderr


def test_password_login_and_user_create(tmp_path: Any, live_server: LiveServer, admin: Hw) -> None:
    name = unique("dana")
    shown = admin(
        "user",
        "create",
        name,
        "--email",
        f"{name}@example.com",
        "--password-stdin",
        input="correct horse\n",
    )
    token = shown.stdout.split("Their API token:")[1].split()[0]
    assert token.startswith("hw_")

    dana = make_hw(tmp_path, name)
    dana(
        "login",
        "--url",
        live_server.url,
        "--username",
        name,
        "--password-stdin",
        input="correct horse\n",
    )
    me = dana.json("whoami")
    assert me["username"] == name
    assert not me["is_admin"]
    wrong = make_hw(tmp_path, "wrong")
    failed = wrong(
        "login",
        "--url",
        live_server.url,
        "--username",
        name,
        "--password-stdin",
        input="nope\n",
        code=1,
    )
    one_paragraph_error(failed, "wrong username or password")

    users = admin.json("user", "list")
    assert name in {u["username"] for u in users}
    one_paragraph_error(dana("user", "list", code=1), "only an admin")


def test_project_create_list_show_json(admin: Hw) -> None:
    created = create_project(admin, "churn", "--description", "churn model", "--public")
    assert created["public"]
    assert created["role"] == "owner"

    page = admin.json("project", "list")
    assert page["total"] >= 2
    assert created["id"] in {p["id"] for p in page["items"]}
    first = admin.json("project", "list", "--limit", "1")
    assert len(first["items"]) == 1
    assert first["total"] == page["total"]
    table = admin("project", "list").stdout
    assert created["name"] in table
    assert f"of {page['total']} projects" in table

    shown = admin.json("project", "show", created["id"])
    assert shown["project"]["description"] == "churn model"
    assert shown["member_count"] == 0
    assert "created project" in shown["activity"][0]["message"]
    personal = admin.json("project", "show")["project"]
    assert personal["personal"]
    assert personal["name"] == "Personal"

    updated = admin.json("project", "update", created["id"], "--private", "--description", "x")
    assert not updated["public"]
    assert updated["description"] == "x"
    one_paragraph_error(admin("project", "delete", created["id"], code=1), "--yes")
    admin("project", "delete", created["id"], "--yes")
    one_paragraph_error(admin("project", "show", created["id"], code=1), "no project with id")


def test_members_and_a_members_view(admin: Hw, new_user: Any) -> None:
    carol = new_user("carol")
    project = create_project(admin, "shared")
    pid = project["id"]

    added = admin.json("project", "member", "add", pid, carol.email, "--jobs", "all")
    assert added["access"]["jobs"] == "all"
    assert added["access"]["datasets"] == "read"

    mine = {p["id"]: p for p in carol.json("project", "list")["items"]}
    assert mine[pid]["role"] == "member"
    assert carol.json("project", "show", pid)["project"]["access"]["jobs"] == "all"
    assert carol.json("env", "list", "--project", pid) == {}
    denied = carol("secret", "list", "--project", pid, code=1)
    one_paragraph_error(denied, "only the project's owner")

    admin("project", "member", "update", pid, carol.email, "--datasets", "all", "--manage")
    [member] = admin.json("project", "member", "list", pid)
    assert member["access"]["datasets"] == "all"
    assert member["access"]["manage"]
    assert member["access"]["jobs"] == "all"  # left as it was
    assert admin.json("project", "show", pid)["member_count"] == 1

    admin("project", "member", "remove", pid, carol.email)
    assert admin.json("project", "member", "list", pid) == []
    gone = carol("project", "show", pid, code=1)
    one_paragraph_error(gone, "no project with id", "Projects you can access: Personal (")


def test_member_leaves(admin: Hw, new_user: Any) -> None:
    erin = new_user("erin")
    pid = create_project(admin)["id"]
    admin("project", "member", "add", pid, erin.email)
    erin("configure", "--project", pid)
    left = erin("project", "leave", pid).stdout
    assert "Personal again" in left
    assert erin.config()["project"] is None
    assert admin.json("project", "member", "list", pid) == []


def test_secrets_from_stdin_list_keys_not_values(admin: Hw) -> None:
    pid = create_project(admin)["id"]
    admin("secret", "set", "API_TOKEN", "--project", pid, input="s3cr3t-value\n")
    listed = admin("secret", "list", "--project", pid, "--json")
    assert [s["key"] for s in listed.json()] == ["API_TOKEN"]
    table = admin("secret", "list", "--project", pid)
    assert "API_TOKEN" in table.stdout
    assert "s3cr3t" not in listed.stdout + table.stdout

    assert admin("secret", "set", "API_TOKEN", "s3cr3t", "--project", pid, code=2)
    one_paragraph_error(
        admin("secret", "set", "BAD KEY", "--project", pid, input="v", code=1), "contains a space"
    )
    admin("secret", "delete", "API_TOKEN", "--project", pid)
    assert admin.json("secret", "list", "--project", pid) == []


def test_owner_only_secrets_are_set_listed_and_kept_through_a_new_value(admin: Hw) -> None:
    pid = create_project(admin)["id"]
    said = admin("secret", "set", "PROD_KEY", "--owner-only", "--project", pid, input="v4lue\n")
    assert "owner-only" in said.stdout
    admin("secret", "set", "PLAIN", "--project", pid, input="v4lue\n")
    admin("secret", "set", "PROD_KEY", "--project", pid, input="n3w-value\n")  # kept
    listed = {s["key"]: s["owner_only"] for s in admin.json("secret", "list", "--project", pid)}
    assert listed == {"PLAIN": False, "PROD_KEY": True}
    rows = admin("secret", "list", "--project", pid).stdout.splitlines()
    assert any("PROD_KEY" in row and "owners" in row for row in rows)
    admin("secret", "set", "PROD_KEY", "--any-starter", "--project", pid, input="n3w-value\n")
    assert not admin.json("secret", "list", "--project", pid)[1]["owner_only"]


def test_env_set_unset_and_spaces_refused(admin: Hw) -> None:
    pid = create_project(admin)["id"]
    admin("env", "set", "LR=0.01", "GREETING=hello world", "--project", pid)
    assert admin.json("env", "list", "--project", pid) == {"LR": "0.01", "GREETING": "hello world"}
    admin("env", "unset", "LR", "--project", pid)
    assert admin.json("env", "list", "--project", pid) == {"GREETING": "hello world"}

    refused = admin("env", "set", "PADDED= value ", "--project", pid, code=1)
    one_paragraph_error(refused, "env.PADDED", "spaces before or after", "Remove the surrounding")
    assert len(refused.stderr.strip().splitlines()) == 1
    debug = admin("--debug", "env", "set", "PADDED= value ", "--project", pid, code=1)
    assert "Traceback" in debug.stderr
    one_paragraph_error(admin("env", "set", "NOEQUALS", "--project", pid, code=1), "no '='")
    one_paragraph_error(admin("env", "unset", "NOPE", "--project", pid, code=1), "NOPE")


def test_settings_keys_and_webhooks(admin: Hw) -> None:
    pid = create_project(admin)["id"]
    admin(
        "--project",
        pid,
        "settings",
        "set",
        "idle_minutes=30",
        "tensorboard=true",
        "image=python:3.11",
        "slack.channel=ml",
    )
    settings = admin.json("settings", "show", "--project", pid)
    assert settings["idle_minutes"] == 30
    assert settings["tensorboard"] is True
    assert settings["image"] == "python:3.11"
    assert settings["slack"]["channel"] == "ml"
    one_paragraph_error(
        admin("settings", "set", "idle_minutes=0", "--project", pid, code=1), "idle_minutes"
    )

    admin("keys", "set", "aws", "--key-id", "AKIAEXAMPLE", "--project", pid, input="sekret\n")
    keys = admin("keys", "list", "--project", pid, "--json")
    assert [(k["type"], k["key_id"]) for k in keys.json()] == [("aws", "AKIAEXAMPLE")]
    assert "sekret" not in keys.stdout
    admin("keys", "delete", "aws", "--project", pid)
    assert admin.json("keys", "list", "--project", pid) == []

    hook = admin.json(
        "webhook", "add", "https://example.com/hook", "--event", "flow.failed", "--project", pid
    )
    assert hook["events"] == ["flow.failed"]
    assert hook["signing_secret"]
    listed = admin.json("webhook", "list", "--project", pid)
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "signing_secret" not in listed[0]
    admin("webhook", "delete", hook["id"], "--project", pid)
    assert admin.json("webhook", "list", "--project", pid) == []


def test_configure_sets_prints_and_lists_on_unknown(admin: Hw) -> None:
    project = create_project(admin, "active")
    pid, name = project["id"], project["name"]
    assert admin("configure").stdout.strip() == "Current Active Project: Personal"

    out = admin("configure", "--project", pid).stdout
    assert out.splitlines() == [
        "Current Active Project: Personal",
        f"Active project set to {name} ({pid}).",
    ]
    assert admin.config()["project"] == pid
    assert admin("configure").stdout.strip() == f"Current Active Project: {name} ({pid})"
    admin("env", "set", "WHERE=active")
    assert admin.json("env", "list", "--project", pid) == {"WHERE": "active"}
    assert admin.json("project", "show")["project"]["id"] == pid

    unknown = admin("configure", "--project", "doesnotexist", code=1)
    one_paragraph_error(
        unknown,
        "doesnotexist",
        "Projects you can access:",
        f"{name} ({pid})",
        stdout=f"Current Active Project: {name} ({pid})\n",
    )
    assert admin.config()["project"] == pid
    admin("configure", "--project", "Personal")
    assert admin.config()["project"] is None


def test_headwater_project_overrides_the_active_project(admin: Hw) -> None:
    first, second = create_project(admin)["id"], create_project(admin)["id"]
    admin("configure", "--project", first)
    admin("env", "set", "WHICH=second", HEADWATER_PROJECT=second)
    assert admin.json("env", "list", "--project", second) == {"WHICH": "second"}
    assert admin.json("env", "list") == {}
    assert admin.json("env", "list", HEADWATER_PROJECT=second) == {"WHICH": "second"}
    # An explicit --project beats the variable.
    assert admin.json("env", "list", "--project", first, HEADWATER_PROJECT=second) == {}

    bogus = admin("env", "list", code=1, HEADWATER_PROJECT="nope")
    one_paragraph_error(bogus, "HEADWATER_PROJECT", "Projects you can access:", first)


def test_unreachable_server_is_one_clean_paragraph(tmp_path: Any) -> None:
    from tests.e2e.conftest import free_port

    hw = make_hw(tmp_path, "offline")
    result = hw("project", "list", code=1, HEADWATER_URL=f"http://127.0.0.1:{free_port()}")
    one_paragraph_error(result, "cannot reach the Headwater server", "hw server")


def test_json_output_is_one_document(admin: Hw) -> None:
    for command in (["project", "list"], ["user", "list"], ["env", "list"], ["whoami"]):
        result = admin(*command, "--json")
        json.loads(result.stdout)
        assert result.stderr == ""


def test_token_list_and_revoke(admin: Hw, new_user: Any) -> None:
    erin = new_user("erin")
    [own] = erin.json("token", "list")
    assert (own["kind"], own["current"], own["expires_at"]) == ("api", True, None)
    assert "token" not in own  # never the secret
    table = erin("token", "list").stdout
    assert own["id"] in table
    assert "THIS ONE" in table
    one_paragraph_error(erin("token", "revoke", "no-such-id", code=1), "no token with id")
    assert f"Revoked token {own['id']}" in erin("token", "revoke", own["id"]).stdout
    one_paragraph_error(erin("whoami", code=1), "not known")


def test_an_admins_project_list_says_whose_personal_project_each_is(
    admin: Hw, new_user: Any
) -> None:
    users = [new_user("erin"), new_user("frank")]
    rows = admin("project", "list", "--search", "Personal", "--limit", "1000").stdout.splitlines()
    personal = [row.split() for row in rows if "Personal" in row.split()]
    owners = {cells[cells.index("Personal") + 1] for cells in personal}
    assert {"admin", *(u.username for u in users)} <= owners
    assert len(owners) == len(personal)  # one row per owner: no two rows read the same


def test_compute_templates_name_custom_resources(admin: Hw) -> None:
    name = unique("a100")
    made = admin.json(
        "compute",
        "create",
        name,
        "--cpus",
        "2",
        "--memory",
        "4096",
        "--resource",
        "accelerator_type:A100=1",
        "--resource",
        "ssd=0.5",
        "--owned",
    )
    wanted = {"accelerator_type:A100": 1.0, "ssd": 0.5}
    assert made["custom_resources"] == wanted
    listed = {t["name"]: t for t in admin.json("compute", "list")}
    assert listed[name]["custom_resources"] == wanted
    assert listed["default"]["custom_resources"] == {}
    assert admin.json("compute", "show", name)["custom_resources"] == wanted
    shown = admin("compute", "show", name).stdout
    assert "accelerator_type:A100=1, ssd=0.5" in shown
    assert "accelerator_type:A100=1" in admin("compute", "list").stdout

    bad = admin(
        "compute", "create", unique("bad"), "--cpus", "1", "--memory", "64", "--owned",
        "--resource", "GPU=1", code=1,
    )  # fmt: skip
    one_paragraph_error(bad, "custom_resources.GPU", "not a custom resource")
    fraction = admin(
        "compute", "create", unique("bad"), "--cpus", "1", "--memory", "64", "--owned",
        "--resource", "ssd=1.5", code=1,
    )  # fmt: skip
    one_paragraph_error(fraction, "whole number")
    usage = admin(
        "compute", "create", "x", "--cpus", "1", "--memory", "64", "--resource", "ssd", code=2
    )
    assert "NAME=AMOUNT" in usage.stderr
    missing = admin("compute", "show", "no-such-template", code=1)
    one_paragraph_error(missing, "no compute template 'no-such-template'")
    names = {t["name"] for t in admin.json("compute", "list")}
    assert not any(n.startswith("bad") for n in names)  # refused: nothing stored
