"""The command line: python -m core devices|probe|suite|results|export|import|delete-run|recover|prices|…

Exit codes: 0 success, 1 a probe failed (its failed result is still stored), 2 bad usage.
The probe subprocess (``python -m core _probe`` / ``_idle``) has its own parser and protocol:
see :mod:`core.measure.child`.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Sequence

from core.cli import commands
from core.errors import AccelscopeError

COMMANDS = {
    "devices": commands.cmd_devices, "probe": commands.cmd_probe, "suite": commands.cmd_suite,
    "scale": commands.cmd_scale,
    "results": commands.cmd_results, "export": commands.cmd_export, "import": commands.cmd_import,
    "delete-run": commands.cmd_delete_run, "prices": commands.cmd_prices, "project": commands.cmd_project,
    "analyze": commands.cmd_analyze, "recover": commands.cmd_recover,
    "fleet": commands.cmd_fleet,
}
CHILD_COMMANDS = ("_probe", "_idle")


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in CHILD_COMMANDS:
        from core.measure import child

        child.end_now(child.main(argv))  # the child process ends here (os._exit): never call this in-process
    from core.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return COMMANDS[args.command](args)
    except AccelscopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return commands.EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m core results --format csv | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
