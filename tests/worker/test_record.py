"""record.Record: the frozen-dataclass stand-in of the worker's lean import path."""

from __future__ import annotations

import subprocess
import sys

import pytest
from coltec_worker.record import Record


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_fields_by_position_and_name_with_defaults() -> None:
    assert Point._fields == ("x", "y", "tags")
    assert Point(1)._asdict() == {"x": 1, "y": 0, "tags": ()}
    assert Point(1, 2) == Point(x=1, y=2) == Point(y=2, x=1)
    assert Point(1) != Point(2) and Point(1) != (1, 0, ())
    assert repr(Point(1, tags=("a",))) == "Point(x=1, y=0, tags=('a',))"
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_immutable_and_replace_makes_a_copy() -> None:
    p = Point(1)
    with pytest.raises(AttributeError, match="immutable"):
        p.x = 3  # type: ignore[misc]
    q = p._replace(y=5)
    assert (p.y, q.y, q.x) == (0, 5, 1)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing field 'x'"),
        ((1, 2, (), 4), {}, "takes 3 fields"),
        ((1,), {"x": 2}, "repeated field 'x'"),
        ((1,), {"z": 2}, "unexpected"),
    ],
)
def test_wrong_arguments_are_a_type_error(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)


def test_the_validate_path_imports_neither_typing_nor_dataclasses() -> None:
    """What record.py is for: --validate-only's modules load without typing/dataclasses."""
    code = (
        "import sys, coltec_worker.cli.main, coltec_worker.cli.validate_cmd\n"
        "print(sorted(m for m in ('typing', 'dataclasses', 'pathlib', 'inspect')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
