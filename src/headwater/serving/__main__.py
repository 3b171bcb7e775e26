"""``python -m headwater.serving --file F --function NAME --socket PATH``: one endpoint replica.

Exit 0 after a graceful stop (SIGTERM), 1 when the function cannot be loaded (one message on
stderr: what, where, how to fix), 2 for a usage error or a socket it cannot listen on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from headwater.domain.errors import InvalidInput
from headwater.serving.asgi import DEFAULT_MAX_BODY, ReplicaApp
from headwater.serving.loading import LoadFailed, load_function
from headwater.serving.process import DEFAULT_GRACE, serve


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        function = load_function(args.file, args.function, cwd=Path.cwd())
    except LoadFailed as error:
        print(_paragraph("cannot load the endpoint's function", error), file=sys.stderr)
        return 1
    replica = ReplicaApp(function, accept_files=args.accept_files, max_body=args.max_body)
    try:
        return serve(replica, socket_path=args.socket, ready_file=args.ready_file, grace=args.grace)
    except InvalidInput as error:  # the socket: a deployment's mistake, not the user's code
        print(_paragraph("cannot serve", error), file=sys.stderr)
        return 2


def _paragraph(what: str, error: InvalidInput) -> str:
    """One line for the replica's log: what failed, where, why, and how to fix it."""
    where = f"{error.where}: " if error.where else ""
    hint = f" Fix: {error.hint}." if error.hint else ""
    return f"headwater serving: {what}: {where}{error.detail}.{hint}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m headwater.serving", description="Serve one function as an endpoint replica."
    )
    parser.add_argument("--file", required=True, help="the .py file, relative to the cwd")
    parser.add_argument("--function", required=True, help="the callable's name in that file")
    parser.add_argument("--socket", required=True, type=Path, help="the Unix socket to listen on")
    parser.add_argument(
        "--accept-files", action="store_true", help="input_params are base64 files: pass paths"
    )
    parser.add_argument("--max-body", type=_positive, default=DEFAULT_MAX_BODY, metavar="BYTES")
    parser.add_argument(
        "--ready-file", type=Path, help="where to write the socket's address once serving"
    )
    parser.add_argument(
        "--grace",
        type=int,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help="on SIGTERM, how long in-flight requests may take to finish",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive number of bytes")
    return value


if __name__ == "__main__":
    sys.exit(main())
