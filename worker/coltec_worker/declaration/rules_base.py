"""What every rule module shares: a finding, the patterns rules match with, safe printing."""

from __future__ import annotations

import posixpath
import re
import unicodedata

from coltec_worker.record import Record

# Used with fullmatch: in Python, '$' also matches before a trailing newline.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TAG = re.compile(r"^tag:[a-z0-9][a-z0-9-]*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def is_control(char: str) -> bool:
    """C0/C1 controls and invisible format characters (bidi overrides, zero-width)."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def shown(value: str) -> str:
    """`value` safe to print on one line: non-printable characters escaped, e.g. '\\x1b'."""
    if value.isprintable():
        return value
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in value
    )


class Finding(Record):
    path: str
    message: str
    hint: str
    rule: str


def remote_segment_problem(segment: str) -> str | None:
    """Why one segment of a resolved remote path is unsafe, or None."""
    if segment == "":
        return "an empty segment ('//', a leading or trailing '/', or an empty placeholder)"
    if segment in (".", ".."):
        return f"the segment '{segment}'"
    if segment.startswith("-"):
        return "a segment starting with '-' (rclone would read it as a flag)"
    # rclone reads ':' as a remote separator; whitespace and control characters
    # break listings, filters and log lines.
    if ":" in segment:
        return "a ':' (rclone reads it as a remote separator)"
    if any(c.isspace() or is_control(c) for c in segment):
        return "whitespace or a control character"
    return None


def local_path_problem(path: str) -> tuple[str, str] | None:
    if not path.startswith("/"):
        return "local path must be absolute", f"write it from the root, e.g. /workspace/{path}"
    if any(is_control(c) for c in path):
        return (
            f"local path {shown(path)} contains a control character",
            "remove it; name folders with printable characters",
        )
    if ".." in path.split("/"):
        return "local path must not contain '..'", "write the resolved folder"
    norm = posixpath.normpath(path)
    if norm.startswith("//"):  # POSIX keeps a leading '//'; for us it is just '/'
        norm = "/" + norm.lstrip("/")
    if norm == "/":
        return "syncing '/' is not allowed", "name the folder to sync, e.g. /workspace"
    if norm != path:
        return "local path is not normalized", f"write it as {norm}"
    for pseudo in KERNEL_FOLDERS:
        if norm == pseudo or norm.startswith(pseudo + "/"):
            return (
                f"local path {shown(path)} is inside {pseudo}, a kernel filesystem "
                "(/proc/self/root is '/' by another name)",
                "name the folder itself, e.g. /workspace",
            )
    return None


# Not folders of files: /proc/<pid>/root and /proc/self/cwd are other names of '/'.
KERNEL_FOLDERS = ("/proc", "/sys", "/dev")
