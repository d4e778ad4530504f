"""The semantic rules of the environment: WORKSPACE_* overrides, RCLONE_REMOTE_NAME and
RCLONE_BUCKET (a name or an https:// URL) — checked by the pipeline and by resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

# bucket_problem lives with the remote (the daemon checks an expanded bucket with it
# and imports neither these rules nor the spec records); re-exported for the rules.
from coltec_worker.declaration.remote import BUCKET as BUCKET
from coltec_worker.declaration.remote import bucket_problem as bucket_problem
from coltec_worker.declaration.remote import reserved_remote_name
from coltec_worker.declaration.rules_base import SLUG, Finding, shown
from coltec_worker.declaration.spec import IDENTITY_ENV

REMOTE_NAME = re.compile(r"^[A-Za-z0-9_]+$")


MAX_NAME = 63


def check_environment(env: dict[str, str] | Mapping[str, str]) -> Iterator[Finding]:
    """Every WORKSPACE_* and RCLONE_REMOTE_NAME / RCLONE_BUCKET value. Finding.path is
    the variable's name; a value is shown only escaped, and never a secret's."""
    for field_name, var in IDENTITY_ENV.items():
        value = env.get(var)
        if not value:
            continue
        longest = MAX_NAME if field_name == "name" else 255
        if not SLUG.fullmatch(value) or len(value) > longest:
            yield Finding(
                var,
                f"{var}={shown(value)!r} is not a slug (it overrides metadata {field_name})"
                if field_name != "name"
                else f"{var}={shown(value)!r} is not a slug (it overrides the workspace name)",
                "use lowercase letters, digits and '-', starting with a letter or digit"
                + (f", at most {MAX_NAME} characters" if field_name == "name" else ""),
                "env",
            )
    name = env.get("RCLONE_REMOTE_NAME")
    if name and not REMOTE_NAME.fullmatch(name):
        yield Finding(
            "RCLONE_REMOTE_NAME",
            f"RCLONE_REMOTE_NAME={shown(name)!r} is not a remote name",
            "use letters, digits and '_'",
            "env",
        )
    elif name and reserved_remote_name(name):
        yield Finding(
            "RCLONE_REMOTE_NAME",
            f"RCLONE_REMOTE_NAME={shown(name)!r} {reserved_remote_name(name)}",
            "choose another name, e.g. r2",
            "env",
        )
    raw = env.get("RCLONE_BUCKET", "")
    bucket, why = split_bucket(raw)
    if why is None and bucket is not None:
        why = bucket_problem(bucket)
        if why and bucket != raw.strip():
            why = f"names the bucket {shown(bucket)!r}, which {why}"
    if why:
        yield Finding(
            "RCLONE_BUCKET",
            f"RCLONE_BUCKET={shown(raw)!r} {why}",
            "give a bucket name such as my-bucket, or https://HOST/BUCKET",
            "env",
        )


def split_bucket(value: str) -> tuple[str | None, str | None]:
    """(bucket, None) from a bucket name or an http(s) URL's first path segment,
    or (None, why) when there is none."""
    value = value.strip()
    if not value.startswith(("https://", "http://")):
        return value, None
    # scheme://host/bucket/...: no urllib.parse, it costs the daemon ~0.6 MB
    after_host = value.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
    segments = [s for s in after_host.split("/")[1:] if s]
    if not segments:
        return None, "is a URL without a bucket in its path"
    return segments[0], None
