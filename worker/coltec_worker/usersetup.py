"""Post-create, per user and org: org-wide tools and env, then the user's dotfiles.

    python3 -m coltec_worker.usersetup [--workspace /workspace] [--home ~]

- Org tools and env come from .devcontainer/coltec-org.json, which the host writes
  from policy/ at cs:new and cs:up. Tools go to a mise config fragment
  (~/.config/mise/conf.d/coltec-org.toml), then `mise install`.
- The user's env (user.yaml `env`) and the org's env go to ~/.local/share/coltec/env.sh,
  sourced from ~/.bashrc and ~/.profile; the org's value wins on a clash.
- dotfiles_repo is cloned to ~/.dotfiles; then `dotfiles_install` if given, else the
  first of INSTALLERS that exists, else every dotfile at its top level is symlinked
  into $HOME (never over an existing file) — the convention Codespaces users know.

Every step is reported; none stops the container from coming up (exit 0 unless the
arguments are wrong). Standard library and pyyaml only.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INSTALLERS = (
    "install.sh",
    "install",
    "bootstrap.sh",
    "bootstrap",
    "script/bootstrap",
    "setup.sh",
    "setup",
    "script/setup",
)
ORG_FILE = Path(".devcontainer") / "coltec-org.json"
MARK = "# coltec: org and user environment"
SKIP_LINKS = {".git", ".github", ".gitignore", ".gitmodules", ".DS_Store"}


@dataclass
class SetupReport:
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str, ok: bool, detail: str) -> None:
        self.steps.append({"step": step, "ok": ok, "detail": detail})
        print(f"coltec-user-setup: {step}: {'ok' if ok else 'FAILED'}: {detail}", file=sys.stderr)

    @property
    def ok(self) -> bool:
        return all(s["ok"] for s in self.steps)


def _run(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 900
) -> tuple[bool, str]:
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        return False, f"{argv[0]}: not installed"
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f}s"
    tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
    return proc.returncode == 0, f"exit {proc.returncode}" + (f": {tail}" if tail else "")


def load_user_config(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def org_tools_toml(tools: Sequence[str]) -> str:
    lines = ["# Written by coltec post-create from the org policy; do not edit.", "[tools]"]
    for spec in tools:
        name, _, version = spec.partition("@")
        lines.append(f"{json.dumps(name)} = {json.dumps(version or 'latest')}")
    return "\n".join(lines) + "\n"


def install_tools(
    tools: Sequence[str], home: Path, env: Mapping[str, str], report: SetupReport
) -> None:
    conf = home / ".config" / "mise" / "conf.d" / "coltec-org.toml"
    if not tools:
        conf.unlink(missing_ok=True)
        return
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(org_tools_toml(tools), encoding="utf-8")
    ok, detail = _run(["mise", "install", "--yes"], home, env)
    report.add("org tools", ok, f"{', '.join(tools)} via mise ({conf}); {detail}")


def write_env(
    org_env: Mapping[str, str], user_env: Mapping[str, str], home: Path, report: SetupReport
) -> None:
    merged = {**user_env, **org_env}  # the org's declaration wins over the user's
    target = home / ".local" / "share" / "coltec" / "env.sh"
    target.parent.mkdir(parents=True, exist_ok=True)
    body = [MARK] + [f"export {k}={shlex.quote(str(v))}" for k, v in sorted(merged.items())]
    target.write_text("\n".join(body) + "\n", encoding="utf-8")
    line = f'[ -f "{target}" ] && . "{target}"  {MARK}\n'
    for rc in (home / ".bashrc", home / ".profile"):
        text = rc.read_text(encoding="utf-8") if rc.exists() else ""
        if MARK not in text:
            rc.write_text(
                text + ("" if text.endswith("\n") or not text else "\n") + line, encoding="utf-8"
            )
    clashes = sorted(set(user_env) & set(org_env))
    report.add(
        "env",
        True,
        f"{len(merged)} variable(s) in {target}"
        + (f"; org value kept for {', '.join(clashes)}" if clashes else ""),
    )


def link_dotfiles(clone: Path, home: Path) -> tuple[list[str], list[str]]:
    linked, skipped = [], []
    for entry in sorted(clone.iterdir()):
        if not entry.name.startswith(".") or entry.name in SKIP_LINKS:
            continue
        target = home / entry.name
        if target.is_symlink() and target.resolve() == entry.resolve():
            linked.append(entry.name)
        elif target.exists() or target.is_symlink():
            skipped.append(entry.name)
        else:
            target.symlink_to(entry)
            linked.append(entry.name)
    return linked, skipped


def dotfiles(
    repo: str, install: str, home: Path, env: Mapping[str, str], report: SetupReport
) -> None:
    clone = home / ".dotfiles"
    if (clone / ".git").is_dir():
        _, origin = _run(["git", "-C", str(clone), "remote", "get-url", "origin"], home, env)
        if repo not in origin:  # dotfiles_repo changed: keep the old clone aside
            previous = home / ".dotfiles.previous"
            shutil.rmtree(previous, ignore_errors=True)
            clone.rename(previous)
    if (clone / ".git").is_dir():
        ok, detail = _run(["git", "-C", str(clone), "pull", "--ff-only"], home, env)
    else:
        ok, detail = _run(["git", "clone", "--depth=1", "--", repo, str(clone)], home, env)
    report.add("dotfiles clone", ok, f"{repo} -> {clone}; {detail}")
    if not ok:
        return
    if install:
        ok, detail = _run(["bash", "-c", install], clone, env)
        report.add("dotfiles install", ok, f"dotfiles_install {install!r}; {detail}")
        return
    for name in INSTALLERS:
        script = clone / name
        if script.is_file():
            argv = [str(script)] if os.access(script, os.X_OK) else ["bash", str(script)]
            ok, detail = _run(argv, clone, env)
            report.add("dotfiles install", ok, f"{name}; {detail}")
            return
    linked, skipped = link_dotfiles(clone, home)
    report.add(
        "dotfiles install",
        True,
        f"no install script: linked {linked or 'nothing'}"
        + (f"; kept existing {skipped}" if skipped else ""),
    )


def run(
    workspace: Path, home: Path, user_config: Path | None, env: Mapping[str, str]
) -> SetupReport:
    report = SetupReport()
    env = {**env, "HOME": str(home)}
    try:
        org = (
            json.loads((workspace / ORG_FILE).read_text(encoding="utf-8"))
            if (workspace / ORG_FILE).is_file()
            else {}
        )
        user = load_user_config(user_config)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        report.add("read configuration", False, str(exc))
        return report
    try:
        install_tools([str(t) for t in org.get("tools") or []], home, env, report)
        write_env(
            {str(k): str(v) for k, v in (org.get("env") or {}).items()},
            {str(k): str(v) for k, v in (user.get("env") or {}).items()},
            home,
            report,
        )
        if user.get("dotfiles_repo"):
            dotfiles(
                str(user["dotfiles_repo"]),
                str(user.get("dotfiles_install") or ""),
                home,
                env,
                report,
            )
    except OSError as exc:
        report.add("user setup", False, f"{type(exc).__name__}: {exc}")
    summary = home / ".local" / "share" / "coltec" / "user-setup.json"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps(report.steps, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m coltec_worker.usersetup",
        description="Org tools/env and user dotfiles (post-create). Never blocks: exit 0.",
    )
    parser.add_argument("--workspace", type=Path, default=Path.cwd())
    parser.add_argument("--home", type=Path, default=Path.home())
    parser.add_argument(
        "--user-config",
        type=Path,
        default=None,
        help="default: $COLTEC_USER_CONFIG, else ~/.config/coltec/user.yaml",
    )
    args = parser.parse_args(argv)
    path = args.user_config
    if path is None:
        explicit = os.environ.get("COLTEC_USER_CONFIG")
        path = (
            Path(explicit)
            if explicit
            else (None if explicit == "" else args.home / ".config" / "coltec" / "user.yaml")
        )
    run(args.workspace, args.home, path, os.environ)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
