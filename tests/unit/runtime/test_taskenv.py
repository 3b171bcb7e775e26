from headwater.runtime.taskenv import inherited


def test_a_task_inherits_only_the_allowlist() -> None:
    environ = {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "PIP_INDEX_URL": "https://pypi.example/simple",
        "AWS_SECRET_ACCESS_KEY": "platform-key",
        "PGPASSWORD": "db-password",
        "HEADWATER_SECRET_KEY": "fernet",
        "HW_TAG_X": "stale",
    }
    assert inherited(environ) == {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "PIP_INDEX_URL": "https://pypi.example/simple",
    }


def test_an_admin_passes_more_by_name_but_never_the_platforms_own() -> None:
    environ = {
        "HEADWATER_TASK_ENV_PASS": "WANDB_MODE, HEADWATER_SECRET_KEY",
        "WANDB_MODE": "offline",
        "HEADWATER_SECRET_KEY": "fernet",
        "OTHER": "x",
    }
    assert inherited(environ) == {"WANDB_MODE": "offline"}
