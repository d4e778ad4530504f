"""The worker's hand-written flag parser agrees with its argparse parser, or defers to it."""

from __future__ import annotations

import pytest
from coltec_worker.cli.args import build_parser, parse, parse_fast

AGREE = [
    [],
    ["--once"],
    ["--config", "/w/spec.yaml", "--once", "--only", "a", "--only=b"],
    ["--dry-run", "--state-dir", "/s", "--log-file=/l"],
    ["--validate-only", "--json", "--config=/x.yaml"],
    ["--start-delay", "0", "--rclone-timeout", "90.5"],
    ["--start-delay=12", "--rclone-timeout=604800"],
]
DEFER = [
    ["--help"],
    ["--version"],
    ["--rclone-timeout", "inf"],
    ["--rclone-timeout", "-5"],
    ["--rclone-timeout", "nan"],
    ["--rclone-timeout", "0"],
    ["--start-delay", "1e9"],
    ["--only"],
    ["--bogus"],
    ["positional"],
]


@pytest.mark.parametrize("argv", AGREE, ids=" ".join)
def test_the_fast_parser_reads_what_argparse_reads(argv: list[str]) -> None:
    fast = parse_fast(argv)
    assert fast is not None
    assert vars(fast) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", DEFER, ids=" ".join)
def test_everything_else_is_argparse_s(argv: list[str]) -> None:
    assert parse_fast(argv) is None
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    assert exit_.value.code == (0 if argv[0] in ("--help", "--version") else 2)


def test_abbreviations_are_read_by_argparse() -> None:
    assert parse_fast(["--conf", "/x"]) is None
    assert parse(["--conf", "/x"]).config == "/x"
