"""The sandbox a task's commands run in on Linux: bubblewrap (``bwrap``), what Flatpak uses.

Inside, the whole system is read-only; the task's own folder is the one place it may write
(with a private ``/tmp`` and a scratch home); the server home, every other task's folder, the
server user's home (client login, ``~/.ssh``, cloud credentials) are absent: empty folders are
mounted over them, and only what the task needs is mounted back at the same path, the task's
folder writable, the interpreter and the task's virtualenv read-only. It has its own PID, IPC
and UTS namespaces (it sees no other process), and ends with the worker (``--die-with-parent``).
It keeps the server's process group (no ``--new-session``): a stop signals the whole group.

When the worker runs as root, bwrap runs as root too (it must see the interpreter, wherever
it is installed, to mount it back) and ``setpriv`` drops the command to an unprivileged uid
with no capabilities and ``no_new_privs`` before it runs; the task's folder is handed over
to that uid first (``hand_over``). Otherwise bwrap runs unprivileged, in a user namespace.

``Sandbox.wrap`` is pure: it turns a command into the bwrap command line.
"""

from __future__ import annotations

import os
import pwd
import signal
import site
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import headwater

DEFAULT_BWRAP = "/usr/bin/bwrap"
DEFAULT_SETPRIV = "/usr/bin/setpriv"
NOBODY = 65534
# The usual places of credentials in a home; hidden even when the home itself cannot be.
CREDENTIALS = (".headwater", ".ssh", ".aws", ".netrc", ".config/gcloud", ".kube", ".docker")
_TRAVERSE = "0711"  # folders made to reach a mount: passable, not listable


@dataclass(frozen=True)
class Sandbox:
    """What a task may see. Paths are absolute strings; ``hidden`` are covered with empty
    folders, ``visible`` (inside hidden ones) shown again read-only."""

    bwrap: str = DEFAULT_BWRAP
    network: bool = True
    hidden: tuple[str, ...] = ()
    scratch_home: str | None = None  # the user's home, hidden, a writable scratch inside
    homes: tuple[str, ...] = ()  # other homes to cover (the account's, when $HOME differs)
    visible: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    read_write: tuple[str, ...] = ()
    uid: int | None = None  # drop to this uid and gid (the worker runs as root)
    gid: int | None = None
    setpriv: str = DEFAULT_SETPRIV

    def wrap(
        self,
        command: Sequence[str],
        *,
        workdir: str,
        cwd: str,
        readable: Iterable[str] = (),
        writable: Iterable[str] = (),
    ) -> list[str]:
        """The bwrap command line that runs ``command`` in ``cwd`` with ``workdir`` writable
        and ``readable`` (the task's virtualenv, say) read-only; ``writable``: more folders
        it may write (the virtualenv a ``pip install`` builds)."""
        argv = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        covered = ["/tmp"]
        argv += ["--perms", "1777", "--tmpfs", "/tmp"]
        if self.scratch_home is not None:
            covered.append(self.scratch_home)
            argv += ["--perms", "1777", "--tmpfs", self.scratch_home]
        for path in _outermost([*self.homes, *self.hidden]):
            covered.append(path)
            argv += ["--perms", _TRAVERSE, "--tmpfs", path]
        made: set[str] = set()
        shared = [
            *(("--ro-bind", p) for p in self.visible),
            *(("--ro-bind", p) for p in self.read_only),
            *(("--bind", p) for p in self.read_write),
        ]
        for kind, path in shared:
            argv += _reach(path, covered, made)
            argv += [kind, path, path]
        # A mount that holds a hidden folder (an extra mount of a whole home, say) would show
        # it again: cover it once more, before the task's own mounts go inside.
        for path in _outermost(self.hidden):
            if any(_under(path, mounted) for _, mounted in shared):
                argv += ["--perms", _TRAVERSE, "--tmpfs", path]
                made = {m for m in made if not _under(m, path)}
        own = [
            *(("--ro-bind", p) for p in readable),
            *(("--bind", p) for p in writable),
            ("--bind", workdir),
        ]
        for kind, path in own:
            argv += _reach(path, covered, made)
            argv += [kind, path, path]
        argv += ["--chdir", cwd, "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        if not self.network:
            argv.append("--unshare-net")
        argv.append("--die-with-parent")
        if self.uid is not None:
            for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
                argv += ["--cap-add", cap]
            argv += ["--", self.setpriv, f"--reuid={self.uid}", f"--regid={self.gid}"]
            argv += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
            argv.append("--no-new-privs")
        argv += ["--", *command]
        return argv


def exit_status(code: int) -> int:
    """The command's status with a signal as -N, as ``Popen`` gives a process it killed: bwrap
    exits 128+N for a command killed by signal N, and so does ``/bin/sh -c`` for its child
    (``python train.py && ...`` killed by SIGKILL), so every task says "killed by signal
    SIGKILL" whether the sandbox is on and whether the shell or its child got the signal; a
    command that exits 137 by itself reads the same, as in a shell."""
    if 128 < code < 128 + signal.NSIG:
        try:
            return -signal.Signals(code - 128).value
        except ValueError:
            return code
    return code


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _outermost(paths: Iterable[str]) -> list[str]:
    """``paths`` without those inside another (mounting over the outer one hides them)."""
    ordered = sorted(set(paths), key=len)
    kept: list[str] = []
    for path in ordered:
        if not any(_under(path, outer) for outer in kept):
            kept.append(path)
    return kept


def _reach(path: str, covered: list[str], made: set[str]) -> list[str]:
    """Folders to make (passable, not listable) between the empty folder covering ``path``
    and ``path``: without them bwrap would copy the modes of the originals, which the
    dropped uid may not enter."""
    roots = [root for root in covered if _under(path, root) and path != root]
    if not roots:
        return []
    root = max(roots, key=len)
    out: list[str] = []
    parts = Path(path).relative_to(root).parts[:-1]
    current = Path(root)
    for part in parts:
        current = current / part
        if str(current) not in made:
            made.add(str(current))
            out += ["--perms", _TRAVERSE, "--dir", str(current)]
    return out


# -- what the worker knows of its machine (I/O) ---------------------------------------------


def interpreter_paths() -> list[str]:
    """Where this interpreter and its packages are: a task's ``python`` is this one, so these
    are shown again when they lie in a hidden folder (pyenv, conda and venvs in a home).
    Not ``sys.path`` as a whole: its first entry may be the folder the server started in."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    found.add(str(Path(sys.executable).resolve().parent.parent))
    found.update(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        found.add(site.getusersitepackages())
    found.update(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    found.add(str(Path(headwater.__file__).resolve().parent.parent))  # an editable install
    return sorted({os.path.realpath(p) for p in found if os.path.isabs(p) and os.path.isdir(p)})


def for_node(options: dict[str, Any], workroot: Path) -> Sandbox:
    """The sandbox for a task on a Ray node, from the server's settings: other tasks' folders
    (under ``workroot``) are hidden from it, and so is the server's home where it is on this
    machine (a Ray head beside the server)."""
    sandbox = for_worker(options, workroot)
    home = options.get("server_home")
    if home and os.path.exists(home):
        sandbox = replace(sandbox, hidden=(*sandbox.hidden, os.path.realpath(home)))
    return sandbox


def for_worker(options: dict[str, Any], server_home: Path) -> Sandbox:
    """The sandbox for the tasks of the worker serving ``server_home``, from the server's
    settings (``options``) and what this process sees: its home, the client config folder,
    its interpreter, whether it runs as root."""
    hidden = [str(server_home.resolve())]
    config = os.environ.get("HEADWATER_CONFIG_DIR")
    if config:
        hidden.append(os.path.abspath(config))
    # Whole homes are covered (what is not there cannot leak): $HOME, a writable scratch
    # inside, and the account's own when it differs; a home that is "/" cannot be, so its
    # usual credential folders are.
    homes: list[str] = []
    for home in dict.fromkeys([os.path.expanduser("~"), pwd.getpwuid(os.geteuid()).pw_dir]):
        if home.rstrip("/") and os.path.isdir(home):
            homes.append(os.path.realpath(home))
        else:
            hidden += [str(Path(home) / name) for name in CREDENTIALS]
    hidden = [p for p in hidden if os.path.exists(p)]
    scratch = homes[0] if homes else None
    uid: int | None = None
    gid: int | None = None
    if os.geteuid() == 0:
        uid = int(options.get("uid", NOBODY))
        gid = int(options.get("gid", uid))
    return Sandbox(
        bwrap=str(options.get("bwrap", DEFAULT_BWRAP)),
        network=bool(options.get("network", True)),
        hidden=tuple(hidden),
        scratch_home=scratch,
        homes=tuple(homes[1:]),
        visible=tuple(_shown_again(interpreter_paths(), hidden, homes)),
        read_only=tuple(str(p) for p in options.get("read_only", ())),
        read_write=tuple(str(p) for p in options.get("read_write", ())),
        uid=uid,
        gid=gid,
        setpriv=str(options.get("setpriv", DEFAULT_SETPRIV)),
    )


def _shown_again(paths: list[str], hidden: list[str], homes: list[str]) -> list[str]:
    """Those of ``paths`` that a covered folder hides (in a home or ``/tmp``), except what
    is, or holds, a hidden folder (the server home must stay out of sight)."""
    covers = ["/tmp", *homes]
    return [
        p
        for p in paths
        if any(_under(p, c) and p != c for c in covers)
        and not any(_under(p, h) or _under(h, p) for h in hidden)
    ]


def hand_over(folder: Path, uid: int, gid: int) -> None:
    """Give the task's folder to the task's uid (its files were made by the worker, as
    root), so the dropped command can write there; what it writes stays readable to root.
    No process of the task runs meanwhile (a bwrap's PID namespace ends with its command),
    and no other task can reach the folder, so nothing can swap a folder for a link here."""
    os.chown(folder, uid, gid)
    for top, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = os.path.join(top, name)
            if os.lstat(path).st_uid != uid:
                os.lchown(path, uid, gid)
