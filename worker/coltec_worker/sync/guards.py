"""The checks a run passes before rclone may change anything. Each returns why not, or None.

- crypt_check: with encryption, does this password open this bucket?
- refusal: a one-way source that rclone sees as empty over a destination with files.
- access_denied: after a failure, did the endpoint refuse the credentials?

They take what a path's runner has (environment, rclone binary and logger: the Runs
protocol below, which job.PathRunner meets) and the path's remote; they run only short
rclone commands (cat, rcat, lsf) through runner.
"""

from __future__ import annotations

from coltec_worker.declaration.remote import BACKUP_ROOT
from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync import runner

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    from coltec_worker.declaration.remote import Remote
    from coltec_worker.log import Logger
    from coltec_worker.sync.plan import PathPlan

    class Runs(Protocol):
        rclone: str
        env: Mapping[str, str]
        logger: Logger


# What S3-compatible endpoints answer to bad credentials (in rclone's error text).
DENIED = (
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "StatusCode: 403",
    "StatusCode: 401",
)
# The content of the crypt password check object (not a secret: it proves a key).
CRYPT_CHECK = "coltec crypt check v1\n"


def crypt_check(path_runner: Runs, remote: Remote) -> tuple[str, str] | None:
    """With encryption: does this password open this bucket? None when it does (or
    without encryption); else (outcome, message).

    A small check object, encrypted with the password, lives in the bucket's backup
    folder. Found and decrypted: the password is right. Missing: written, unless the
    bucket already holds files this password cannot decrypt — then the password is
    wrong (or the bucket is shared with other data) and the run is refused before
    anything is uploaded.
    """
    env, rclone = path_runner.env, path_runner.rclone
    under = remote.underlying
    if under is None:
        return None
    check = remote.join(f"{BACKUP_ROOT}/password-check")
    code, out, err = runner.capture([rclone, "cat", check], env, timeout=120)
    wrong = (
        "refused",
        f"the crypt password does not decrypt the data in {under}: refusing to sync "
        f"(nothing uploaded); check ${remote.crypt_password_env}, or use another "
        "bucket for data under another password",
    )
    if code == 0 and out:  # (an object store answers a missing object with no output)
        return None if out == CRYPT_CHECK else wrong
    if code != 0 and "not found" not in err:
        if "decrypt" in err or "authenticate" in err or "bad password" in err:
            return wrong
        return ("failed", f"cannot verify the crypt password on {under}: {_tail(err)}")
    holds = runner.has_file(under, env, rclone)
    if holds is None:
        return ("failed", f"cannot list {under} to verify the crypt password")
    if holds and not runner.has_file(remote.root, env, rclone):
        return wrong
    code, _, err = runner.capture([rclone, "rcat", check], env, stdin=CRYPT_CHECK, timeout=120)
    if code != 0:
        return ("failed", f"cannot write the crypt password check to {under}: {_tail(err)}")
    path_runner.logger.info("crypt_check_written", remote=under)
    return None


def refusal(path_runner: Runs, plan: PathPlan) -> str | None:
    """An empty one-way source over a non-empty destination: a lost mount, not a wish.

    "Empty" means what rclone would see: both sides are listed by rclone with the run's
    own filters (excluded files, the state directory, skipped symlinks do not count), at
    any depth.
    """
    source, dest = plan.source_location, plan.destination_location
    if source is None or dest is None:
        return None
    try:
        if runner.has_file(source, path_runner.env, path_runner.rclone, plan.filters) is not False:
            return None
        if not runner.has_file(dest, path_runner.env, path_runner.rclone, plan.filters):
            return None
    except runner.RcloneMissing:
        return None  # the run itself reports the missing binary
    return (
        f"refusing to sync: the source {source} is missing or empty (as rclone sees it: "
        f"excluded files and symlinks do not count) while the destination {dest} has "
        "files (a lost mount or a wrong bucket?)"
    )


def access_denied(path_runner: Runs, remote: Remote) -> str | None:
    """After a failed run: did the endpoint refuse our credentials? (rclone's own
    message for that can be as far off as "Source doesn't exist".)"""
    if remote.builtin:
        return None
    root = remote.underlying or remote.root
    code, _, err = runner.capture(
        [path_runner.rclone, "lsf", "--max-depth", "1", "--low-level-retries", "1", root],
        path_runner.env,
        timeout=60,
    )
    if code == 0:
        return None
    for marker in DENIED:
        if marker in err:
            return f"the endpoint refused the credentials for {root} ({marker})"
    return None


def _tail(err: str) -> str:
    return " | ".join(err.strip().splitlines()[-2:])[-300:] or "no output"
