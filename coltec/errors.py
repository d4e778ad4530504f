"""The host's error hierarchy. One root (shared with the worker); the CLI edge renders."""

from __future__ import annotations

from coltec_worker.errors import ColtecError, ConfigError, Problem, UnreadableError, stdout_guarded

__all__ = [
    "ColtecError",
    "ConfigError",
    "DockerUnavailable",
    "HostsFileError",
    "ImageError",
    "LifecycleError",
    "PlacementError",
    "PolicyError",
    "Problem",
    "SecretsError",
    "TailscaleUnavailable",
    "TemplateError",
    "ToolFailed",
    "ToolMissing",
    "UnknownHost",
    "UnreadableError",
    "UsageError",
    "WorkspaceNotFound",
    "stdout_guarded",
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


class ImageError(ColtecError):
    """The base image could not be built."""


class TailscaleUnavailable(ColtecError):
    """tailscaled is not running, or this machine is not logged in to a tailnet."""


class SecretsError(ColtecError):
    """The secrets file could not be written safely."""


class LifecycleError(ColtecError):
    """devcontainer up failed, no container exists, or the final flush failed."""


class PolicyError(ConfigError):
    """A policy file is unreadable or does not match schema/org-policy.schema.json."""


class TemplateError(ColtecError):
    """copier refused or failed (bad answer, unreadable template, no version...)."""


class HostsFileError(UsageError):
    """The hosts file is unreadable or invalid (exit 2); the message names file:line."""


class UnknownHost(UsageError):
    """--host / --to names no host of the hosts file."""


class PlacementError(ColtecError):
    """No host can take the workspace, or the request contradicts where it runs."""
