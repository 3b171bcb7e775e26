"""The bwrap command line a task's command runs under (runtime/sandbox.py), as pure data."""

from __future__ import annotations

from headwater.runtime.sandbox import Sandbox, _shown_again, exit_status

HOME = "/srv/hw"
WORK = "/srv/hw/work/abc"


def mounts(argv: list[str]) -> list[tuple[str, str]]:
    """(option, target) for each mount, in order."""
    out = []
    for i, arg in enumerate(argv):
        if arg in ("--bind", "--ro-bind"):
            out.append((arg, argv[i + 2]))
        elif arg in ("--tmpfs", "--dir"):
            out.append((arg, argv[i + 1]))
    return out


def wrap(sandbox: Sandbox, readable: tuple[str, ...] = ()) -> list[str]:
    return sandbox.wrap(["/bin/sh", "-c", "true"], workdir=WORK, cwd=WORK, readable=readable)


def test_the_system_is_read_only_and_only_the_task_folder_writable() -> None:
    argv = wrap(Sandbox(hidden=(HOME,)))
    found = mounts(argv)
    assert found[0] == ("--ro-bind", "/")
    assert [t for kind, t in found if kind == "--bind"] == [WORK]
    assert ("--tmpfs", "/tmp") in found
    assert argv[-4:] == ["--", "/bin/sh", "-c", "true"]
    for option in ("--unshare-pid", "--unshare-ipc", "--die-with-parent"):
        assert option in argv
    assert "--new-session" not in argv  # a stop signals the task's whole process group


def test_the_home_is_covered_before_the_task_folder_is_mounted_back() -> None:
    found = mounts(wrap(Sandbox(hidden=(HOME,))))
    assert found.index(("--tmpfs", HOME)) < found.index(("--bind", WORK))
    # the folder between is made passable, not a copy of the 0700 original
    assert ("--dir", "/srv/hw/work") in found


def test_a_mount_holding_a_hidden_folder_covers_it_again() -> None:
    argv = wrap(Sandbox(hidden=(HOME,), read_only=("/srv",)))
    found = mounts(argv)
    shown = found.index(("--ro-bind", "/srv"))
    assert ("--tmpfs", HOME) in found[shown:]
    assert found[-1] == ("--bind", WORK)


def test_as_root_the_command_drops_to_the_task_uid_without_capabilities() -> None:
    argv = wrap(Sandbox(uid=65534, gid=65534))
    at = argv.index("/usr/bin/setpriv")
    assert argv[at - 1] == "--"
    drop = argv[at : argv.index("--", at)]
    assert "--reuid=65534" in drop
    assert "--regid=65534" in drop
    assert "--clear-groups" in drop
    assert "--inh-caps=-all" in drop
    assert "--no-new-privs" in drop


def test_unprivileged_no_setpriv_and_no_capabilities_asked() -> None:
    argv = wrap(Sandbox())
    assert "/usr/bin/setpriv" not in argv
    assert "--cap-add" not in argv


def test_network_off_unshares_it() -> None:
    assert "--unshare-net" not in wrap(Sandbox())
    assert "--unshare-net" in wrap(Sandbox(network=False))


def test_extra_mounts_and_the_virtualenv() -> None:
    found = mounts(
        wrap(
            Sandbox(read_only=("/data",), read_write=("/scratch",)),
            readable=("/srv/hw/cache/venvs/x",),
        )
    )
    assert ("--ro-bind", "/data") in found
    assert ("--bind", "/scratch") in found
    assert ("--ro-bind", "/srv/hw/cache/venvs/x") in found


def test_the_interpreter_is_shown_again_but_never_the_server_home() -> None:
    paths = ["/root/.pyenv/versions/3.11", "/usr/lib/python3", "/root", "/root/.headwater/x"]
    shown = _shown_again(paths, hidden=["/root/.headwater"], homes=["/root"])
    assert shown == ["/root/.pyenv/versions/3.11"]


def test_a_signal_through_bwrap_reads_as_popen_would_give_it() -> None:
    assert exit_status(137) == -9  # bwrap: 128 + SIGKILL
    assert exit_status(143) == -15
    assert exit_status(0) == 0
    assert exit_status(3) == 3
    assert exit_status(128) == 128


def test_the_tasks_own_mounts_come_after_a_hidden_folder_is_covered_again() -> None:
    venv = "/srv/hw/cache/venvs/x"
    found = mounts(wrap(Sandbox(hidden=(HOME,), read_only=("/srv",)), readable=(venv,)))
    again = len(found) - 1 - found[::-1].index(("--tmpfs", HOME))
    assert found.index(("--ro-bind", venv)) > again
    assert found.index(("--bind", WORK)) > again
    assert ("--dir", "/srv/hw/cache") in found[again:]  # made again inside the new cover
