"""The daemon's compile step: the plan comes from a short child process (compile_cmd), so
the long-running daemon never parses YAML or loads the schema; a plan that fails to
compile is a ConfigError with the child's problems."""

from __future__ import annotations

import os
from collections.abc import Mapping

from coltec_worker.declaration.compiled import Plan, plan_from_json
from coltec_worker.errors import ConfigError, Problem


def compile_in_child(
    config: str | os.PathLike[str], env: Mapping[str, str], *, timeout: float = 120.0
) -> Plan:
    """The plan of `config`, compiled by the full pipeline in a short child process.

    ConfigError with the child's problems when the declaration is invalid, or with
    the reason when the child could not compile at all.
    """
    import json
    import sys

    from coltec_worker.sync import runner

    argv = [
        sys.executable,
        "-P",
        "-m",
        "coltec_worker.cli.compile_cmd",
        "--config",
        os.fspath(config),
    ]
    code, out, err = runner.capture(argv, env, timeout=timeout)
    try:
        data = json.loads(out)
    except ValueError:
        tail = " | ".join(err.strip().splitlines()[-3:]) or "no output"
        raise ConfigError(
            f"the compile step failed (exit {code}): {tail}",
            hint="run `coltec-worker --validate-only` to see the declaration's verdict",
        ) from None
    if code == 0 and isinstance(data, dict) and data.get("ok"):
        return plan_from_json(data.get("plan"))
    problems = problems_from(data)
    if problems:
        first = problems[0]
        raise ConfigError(first.format().split("\n", 1)[0], problems, hint=first.hint)
    message = data.get("error") if isinstance(data, dict) else None
    hint = data.get("hint") if isinstance(data, dict) else None
    raise ConfigError(
        str(message or f"the compile step failed (exit {code})"), hint=str(hint or "")
    )


def problems_from(data: object) -> list[Problem]:
    """The problems in the compile child's answer."""
    items = data.get("problems") if isinstance(data, dict) else None
    out: list[Problem] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            line, col = item.get("line"), item.get("col")
            out.append(
                Problem(
                    str(item.get("file", "")),
                    line if isinstance(line, int) else None,
                    col if isinstance(col, int) else None,
                    str(item.get("path", "$")),
                    str(item.get("message", "")),
                    str(item.get("hint") or ""),
                    str(item.get("rule") or ""),
                )
            )
    return out
