"""`python -m coltec_worker.cli.compile_cmd --config PATH`: the daemon's compile step.

The daemon runs this short child at start and on every SIGHUP, so the long-running
process never loads YAML, the schema or the rules: it reads the one JSON object this
prints on stdout and runs the plan in it.

    {"ok": true, "plan": {...}}                                  exit 0
    {"ok": false, "problems": [{file, line, col, path, ...}]}    exit 1 (invalid)
    {"ok": false, "error": "...", "hint": "..."}                 exit 2 (unreadable)

Its environment is the worker's (environ.worker_environment): the same overrides the
daemon would have applied, applied once, here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from coltec_worker.declaration.environ import worker_environment
from coltec_worker.declaration.pipeline import compile_here
from coltec_worker.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE, ConfigError, UnreadableError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "--config":
        print("usage: python -m coltec_worker.cli.compile_cmd --config PATH", file=sys.stderr)
        return EXIT_USAGE
    env = worker_environment()
    try:
        plan = compile_here(args[1], env, env.get("HOME") or os.path.expanduser("~"))
    except UnreadableError as exc:
        print(json.dumps({"ok": False, "error": exc.message, "hint": exc.hint}))
        return EXIT_USAGE
    except ConfigError as exc:
        print(json.dumps({"ok": False, "problems": [p.to_dict() for p in exc.problems]}))
        return EXIT_INVALID
    print(json.dumps({"ok": True, "plan": plan.to_json()}))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
