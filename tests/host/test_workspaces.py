"""Target resolution: ORG/NAME, directories, spec files, and the errors for each."""

from __future__ import annotations

from pathlib import Path

import pytest

from coltec.errors import WorkspaceNotFound
from coltec.workspaces import all_workspaces, resolve_spec_files


def _make(root: Path, key: str) -> Path:
    spec = root / key / ".devcontainer" / "workspace-spec.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text("name: x\n")
    return spec


def test_no_target_means_every_workspace_sorted(tmp_path: Path) -> None:
    b = _make(tmp_path, "zeta/b")
    a = _make(tmp_path, "acme/a")
    (tmp_path / "acme" / "not-a-workspace").mkdir()
    assert resolve_spec_files([], tmp_path) == [a, b]
    assert [w.key for w in all_workspaces(tmp_path)] == ["acme/a", "zeta/b"]


def test_org_name_directory_and_file_targets(tmp_path: Path) -> None:
    a = _make(tmp_path, "acme/a")
    b = _make(tmp_path, "acme/b")
    assert resolve_spec_files(["acme/a"], tmp_path) == [a]
    assert resolve_spec_files([str(tmp_path / "acme")], tmp_path) == [a, b]
    assert resolve_spec_files([str(b)], tmp_path) == [b]


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("acme/missing", "no workspace 'acme/missing'"),
        ("/nonexistent/spec.yaml", "no such file or directory"),
        ("spec.yaml", "no such file or directory"),
        ("a/b/c", "no such file or directory"),
    ],
)
def test_unknown_targets_say_what_is_wrong(tmp_path: Path, target: str, fragment: str) -> None:
    _make(tmp_path, "acme/a")
    with pytest.raises(WorkspaceNotFound) as info:
        resolve_spec_files([target], tmp_path)
    assert fragment in info.value.message
    assert info.value.hint
    assert info.value.exit_code == 2


def test_directory_without_specs_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkspaceNotFound, match=r"no workspace-spec\.yaml"):
        resolve_spec_files([str(tmp_path / "empty")], tmp_path)
