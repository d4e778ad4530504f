"""The host's error hierarchy. One root (shared with the worker); the CLI edge renders."""

from __future__ import annotations

from coltec_worker.errors import ColtecError, ConfigError, Problem, UnreadableError

__all__ = [
    "ColtecError",
    "ConfigError",
    "DockerUnavailable",
    "Problem",
    "ToolFailed",
    "ToolMissing",
    "UnreadableError",
    "UsageError",
    "WorkspaceNotFound",
]


class UsageError(ColtecError):
    """The command was called wrongly (exit 2)."""

    exit_code = 2


class WorkspaceNotFound(UsageError):
    """A target names no workspace, directory or spec file."""


class ToolMissing(ColtecError):
    """An external program (copier, devcontainer, docker, tailscale...) is not installed."""


class DockerUnavailable(ColtecError):
    """No Docker engine answers."""


class ToolFailed(ColtecError):
    """An external program exited non-zero. The message shows argv, code and stderr tail."""

    def __init__(
        self, argv: list[str], returncode: int, stdout: str, stderr: str, hint: str = ""
    ) -> None:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        super().__init__(
            f"command failed (exit {returncode}): {' '.join(argv)}\n{tail}".rstrip(), hint
        )
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr
