"""The image policy sees: every way devcontainer.json can name it, resolved as Docker would.

Each case is a .devcontainer/ folder (file name -> text) and the image, file and line
that names it; None for an image that cannot be determined (with why).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from coltec.checks import base_image
from coltec.checks.compliance import check_policy
from coltec.workspaces import Workspace
from tests.host.checks.conftest import edit

MULTI_STAGE = """\
# syntax=docker/dockerfile:1
ARG PY=3.12
ARG REGISTRY=docker.io/library
FROM --platform=$BUILDPLATFORM ${REGISTRY}/python:${PY}-slim AS builder
RUN pip wheel -w /wheels .

FROM ghcr.io/acme/runtime:${PY:-3.11} \\
    AS runtime
COPY --from=builder /wheels /wheels

FROM runtime AS dev
RUN echo dev
"""

CASES: dict[str, tuple[dict[str, str], tuple[str | None, str, int | None]]] = {
    "image": (
        {"devcontainer.json": '{\n  // c\n  "image": "ubuntu:24.04"\n}'},
        ("ubuntu:24.04", "devcontainer.json", 3),
    ),
    "image-localenv-default": (
        {"devcontainer.json": '{"image": "${localEnv:COLTEC_TEST_UNSET_IMG:alpine:3}"}'},
        ("alpine:3", "devcontainer.json", 1),
    ),
    "image-localenv-unset": (
        {"devcontainer.json": '{"image": "${localEnv:COLTEC_TEST_UNSET_IMG}"}'},
        (None, "devcontainer.json", 1),
    ),
    "build-last-stage-followed": (
        {"devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}', "Dockerfile": MULTI_STAGE},
        ("ghcr.io/acme/runtime:3.12", "Dockerfile", 7),
    ),
    "build-target": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "Dockerfile", "target": "builder"}}',
            "Dockerfile": MULTI_STAGE,
        },
        ("docker.io/library/python:3.12-slim", "Dockerfile", 4),
    ),
    "build-args-override-arg": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "Dockerfile", "target": "BUILDER",'
            ' "args": {"PY": "3.13", "REGISTRY": "quay.io/x"}}}',
            "Dockerfile": MULTI_STAGE,
        },
        ("quay.io/x/python:3.13-slim", "Dockerfile", 4),
    ),
    "build-context-parent": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "../docker/dev.Dockerfile",'
            ' "context": ".."}}',
            "../docker/dev.Dockerfile": "FROM node:20\n",
        },
        ("node:20", "../docker/dev.Dockerfile", 1),
    ),
    "legacy-dockerFile": (
        {
            "devcontainer.json": '{"dockerFile": "Dockerfile", "context": ".."}',
            "Dockerfile": "from  rust:1.80  as base\n",
        },
        ("rust:1.80", "Dockerfile", 1),
    ),
    "arg-without-value": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}',
            "Dockerfile": "ARG BASE\nFROM $BASE\n",
        },
        (None, "Dockerfile", 2),
    ),
    "arg-after-from-does-not-count": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}',
            "Dockerfile": "FROM a:1\nARG X=b\nFROM ${X:-c}:2\n",
        },
        ("c:2", "Dockerfile", 3),
    ),
    "escape-directive": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}',
            "Dockerfile": "# escape=`\nFROM `\n  debian:12\n",
        },
        ("debian:12", "Dockerfile", 2),
    ),
    "heredoc-body-is-not-an-instruction": (
        {
            "devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}',
            "Dockerfile": "FROM evil/miner:1\nRUN <<EOF\necho hi\nFROM coltec/base:latest\nEOF\n"
            "COPY <<-'END' /x\n\tFROM ghcr.io/acme/ok:1\n\tEND\n",
        },
        ("evil/miner:1", "Dockerfile", 1),
    ),
    "byte-order-mark": (
        {"devcontainer.json": '{"build": {"dockerfile": "D"}}', "D": "\ufeffFROM alpine:3\n"},
        ("alpine:3", "D", 1),
    ),
    "missing-dockerfile": (
        {"devcontainer.json": '{"build": {"dockerfile": "Nope"}}'},
        (None, "Nope", None),
    ),
    "unknown-target": (
        {"devcontainer.json": '{"build": {"dockerfile": "D", "target": "x"}}', "D": "FROM a\n"},
        (None, "D", None),
    ),
    "compose-image": (
        {
            "devcontainer.json": '{"dockerComposeFile": "compose.yaml", "service": "app"}',
            "compose.yaml": "services:\n  db:\n    image: postgres:16\n  app:\n"
            "    image: ${APP_IMAGE:-ghcr.io/acme/app:1}\n",
        },
        ("ghcr.io/acme/app:1", "compose.yaml", 5),
    ),
    "compose-override-build": (
        {
            "devcontainer.json": '{"dockerComposeFile": ["../compose.yml", "compose.dev.yml"],'
            ' "service": "app"}',
            "../compose.yml": "services:\n  app:\n    image: ghcr.io/acme/app:1\n",
            # a relative context counts from the project directory (the first file's)
            "compose.dev.yml": "services:\n  app:\n    build:\n      context: .devcontainer\n"
            "      target: dev\n      args: [PY=3.10]\n",
            "Dockerfile": MULTI_STAGE,
        },
        ("ghcr.io/acme/runtime:3.10", "Dockerfile", 7),
    ),
    "compose-build-args-from-env-file": (
        {
            "devcontainer.json": '{"dockerComposeFile": "docker-compose.yml", "service": "dev"}',
            "docker-compose.yml": "services:\n  dev:\n    build:\n      context: ./img\n"
            '      args: {TAG: "${TAG}"}\n',
            ".env": "TAG=9\n",
            "img/Dockerfile": "ARG TAG\nFROM golang:1.2${TAG}\n",
        },
        ("golang:1.29", "img/Dockerfile", 2),
    ),
    "compose-build-string-no-args": (
        {
            "devcontainer.json": '{"dockerComposeFile": "docker-compose.yml", "service": "dev"}',
            "docker-compose.yml": "services:\n  dev:\n    build: ./img\n",
            ".env": "TAG=9\n",  # interpolates the compose file, never reaches the Dockerfile
            "img/Dockerfile": "ARG TAG\nFROM golang:1.2${TAG}\n",
        },
        (None, "img/Dockerfile", 2),
    ),
    "compose-unknown-service": (
        {
            "devcontainer.json": '{"dockerComposeFile": "c.yml", "service": "x"}',
            "c.yml": "services: {}\n",
        },
        (None, "c.yml", None),
    ),
    "no-image-at-all": ({"devcontainer.json": '{"name": "x"}'}, (None, "", None)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_resolves_the_image_the_engine_runs(case: str, tmp_path: Path) -> None:
    files, (image, file, line) = CASES[case]
    folder = tmp_path / "ws" / ".devcontainer"
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    resolved = base_image.resolve(folder / "devcontainer.json")
    if not file:
        assert resolved is None
        return
    assert resolved is not None
    assert (resolved.image, resolved.file.resolve(), resolved.line) == (
        image,
        (folder / file).resolve(),
        line,
    ), resolved
    assert (resolved.reason != "") == (image is None)


def _use(ws: Workspace, config: dict[str, object], **files: str) -> Path:
    dc = ws.dir / ".devcontainer" / "devcontainer.json"
    dc.write_text(json.dumps(config, indent=2))
    for name, text in files.items():
        (ws.dir / ".devcontainer" / name).write_text(text)
    return dc


def test_policy_reports_the_dockerfile_line_of_the_last_stage(acme: Workspace) -> None:
    # The first FROM is allowed (coltec/base); the stage that runs is not.
    _use(
        acme,
        {"build": {"dockerfile": "Dockerfile"}},
        Dockerfile="FROM coltec/base:latest AS ok\nFROM --platform=linux/amd64 evil/miner:1\n",
    )
    [problem] = check_policy(acme.spec_file).problems
    assert problem.rule == "policy:base-image"
    assert problem.file.endswith(".devcontainer/Dockerfile") and problem.line == 2
    assert "evil/miner:1" in problem.message and "--platform" not in problem.message


def test_policy_refuses_an_image_it_cannot_determine(acme: Workspace) -> None:
    _use(acme, {"dockerFile": "Dockerfile"}, Dockerfile="ARG IMG\nFROM ${IMG}\n")
    [problem] = check_policy(acme.spec_file).problems
    assert problem.rule == "policy:base-image" and "cannot be determined" in problem.message
    assert "IMG" in problem.message and problem.line == 2


def test_policy_checks_the_compose_service(acme: Workspace) -> None:
    _use(
        acme,
        {"dockerComposeFile": "compose.yaml", "service": "app"},
        **{"compose.yaml": "services:\n  app:\n    image: docker.io/evil:1\n"},
    )
    [problem] = check_policy(acme.spec_file).problems
    assert problem.file.endswith("compose.yaml") and problem.line == 3


RUN_ARGS = [
    ({"runArgs": ["--privileged"]}, "privileged", "--privileged"),
    ({"runArgs": ["--privileged=true"]}, "privileged", "--privileged"),
    ({"runArgs": ["--cap-add", "all"]}, "capabilities", "--cap-add=ALL"),
    ({"runArgs": ["--cap-add=CAP_SYS_ADMIN"]}, "capabilities", "--cap-add=SYS_ADMIN"),
    ({"runArgs": ["-v", "/:/host"]}, "host-root", "--volume=/:*"),
    ({"runArgs": ["-v/:/host:ro"]}, "host-root", "--volume=/:*"),
    ({"runArgs": ["--volume=//./:/host"]}, "host-root", "--volume=/:*"),
    (
        {"runArgs": ["--mount", "type=bind,src=/var/run/docker.sock,dst=/s"]},
        "engine-socket",
        "docker",
    ),
    (
        {"mounts": ["source=/var/run/docker.sock,target=/var/run/docker.sock,type=bind"]},
        "engine-socket",
        "docker",
    ),
    ({"mounts": [{"source": "/", "target": "/h", "type": "bind"}]}, "host-root", "--volume=/:*"),
    ({"privileged": True}, "privileged", "--privileged"),
    ({"capAdd": ["SYS_ADMIN"]}, "capabilities", "--cap-add=SYS_ADMIN"),
    ({"securityOpt": ["seccomp=unconfined"]}, "security-unconfined", "unconfined"),
    ({"securityOpt": ["no-new-privileges:false"]}, "run-args", "no-new-privileges"),
    ({"runArgs": ["--pid", "host"]}, "host-namespaces", "--pid=host"),
]


@pytest.mark.parametrize(
    ("config", "rule", "pattern"), RUN_ARGS, ids=[json.dumps(c) for c, _, _ in RUN_ARGS]
)
def test_denied_run_args_in_every_spelling(
    acme: Workspace, config: dict[str, object], rule: str, pattern: str
) -> None:
    # An org adds to the built-in rules' patterns (rule run-args).
    org = Path(os.environ["COLTEC_POLICY_DIR"]) / "orgs" / "acme.yaml"
    edit(org, "rules:\n", 'rules:\n  denied_run_args: ["--security-opt=no-new-privileges*"]\n')
    dc = acme.dir / ".devcontainer" / "devcontainer.json"
    data = json.loads(dc.read_text())
    for key, value in config.items():
        data[key] = [*data.get(key, []), *value] if isinstance(value, list) else value
    dc.write_text(json.dumps(data, indent=2))
    problems = [p for p in check_policy(acme.spec_file).problems if p.rule == f"policy:{rule}"]
    assert problems and all(p.file.endswith("devcontainer.json") for p in problems)
    assert pattern in problems[0].message
    key = next(iter(config))
    lines = dc.read_text().splitlines()
    start = next(n for n, s in enumerate(lines, 1) if s.startswith(f'  "{key}"'))
    value = config[key]
    if isinstance(value, list):  # the element's own line and JSON path
        assert problems[0].path.startswith(f"$.{key}[")
        assert problems[0].line is not None and problems[0].line > start
    else:
        assert (problems[0].path, problems[0].line) == (f"$.{key}", start)


def test_harmless_run_args_and_the_templates_own_mounts_pass(acme: Workspace) -> None:
    dc = acme.dir / ".devcontainer" / "devcontainer.json"
    edit(dc, '"runArgs": [', '"runArgs": ["--network=host", "--init", "--cap-add=NET_ADMIN",')
    assert check_policy(acme.spec_file).problems == []


def test_compose_service_privileges_are_run_args(acme: Workspace) -> None:
    compose = (
        "services:\n  app:\n    image: ghcr.io/acme/a:1\n    privileged: true\n"
        "    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n"
    )
    _use(acme, {"dockerComposeFile": "c.yml", "service": "app"}, **{"c.yml": compose})
    problems = check_policy(acme.spec_file).problems
    assert [(p.rule, p.line, p.path) for p in problems] == [
        ("policy:privileged", 4, "$.services.app.privileged"),
        ("policy:engine-socket", 6, "$.services.app.volumes[0]"),
    ]


def test_run_args_exception_waives_the_rule(acme: Workspace) -> None:
    dc = acme.dir / ".devcontainer" / "devcontainer.json"
    edit(dc, '"runArgs": [', '"runArgs": ["--privileged",')
    edit(
        acme.dir / ".copier-answers.yml",
        "policy_exceptions: []",
        "policy_exceptions:\n- rule: privileged\n  reason: docker-in-docker CI runner",
    )
    assert check_policy(acme.spec_file).problems == []
    shutil.rmtree(acme.dir)
