"""One way to ask our real validator about a predecessor declaration (the pipeline every
entry point uses), and to read its findings the way the predecessor's tests read its
error variants: by rule, JSON path and the names the message carries."""

from __future__ import annotations

from pathlib import Path

from coltec_worker.declaration.compiled import Plan
from coltec_worker.declaration.pipeline import validate_file
from coltec_worker.errors import Problem

DATA = Path(__file__).resolve().parent / "data"
# The predecessor's fixtures name their credentials as ${VAR}: a worker would have them.
ENV = {
    "USER": "dev",
    "S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "S3_SECRET_ACCESS_KEY": "not-a-real-secret",
    "S3_ENDPOINT": "https://account.r2.cloudflarestorage.com",
    "RCLONE_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "RCLONE_S3_SECRET_ACCESS_KEY": "not-a-real-secret",
    "RCLONE_S3_ENDPOINT": "https://account.r2.cloudflarestorage.com",
    "RCLONE_BUCKET": "coltec-workspaces",
    "RCLONE_CRYPT_PASSWORD": "a-long-crypt-password",
    "RCLONE_CRYPT_SALT": "a-long-crypt-salt",
    "JUICEFS_S3_ENDPOINT": "https://account.r2.cloudflarestorage.com",
}


def problems(file: Path, home: Path) -> list[Problem]:
    return validate_file(file, with_user=False, env=ENV, home=home).problems


def problems_of(text: str, tmp_path: Path) -> list[Problem]:
    file = tmp_path / "workspace-spec.yaml"
    file.write_text(text, encoding="utf-8")
    return problems(file, tmp_path)


def plan_of(text: str, tmp_path: Path) -> Plan:
    file = tmp_path / "workspace-spec.yaml"
    file.write_text(text, encoding="utf-8")
    report = validate_file(file, with_user=False, env=ENV, home=tmp_path)
    assert report.plan is not None, [p.format() for p in report.problems]
    return report.plan


def one(found: list[Problem], rule: str, path: str | None = None) -> Problem:
    """The single problem of `rule` (at `path`); the test fails listing what was found."""
    hits = [p for p in found if p.rule == rule and (path is None or p.path == path)]
    assert len(hits) == 1, f"want one {rule} at {path}, got:\n" + "\n".join(
        p.format() for p in found
    )
    return hits[0]
