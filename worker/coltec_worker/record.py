"""Immutable typed records that cost nothing to import.

A `Record` subclass declares its fields as annotations, with defaults, like a frozen
dataclass; mypy reads it as one (PEP 681, `dataclass_transform`). Why not dataclasses
or typing.NamedTuple: both are costly to import for a process that lives for one
check — dataclasses brings inspect, ast and dis (~15 ms), NamedTuple brings typing
(~6 ms) — and `coltec-worker --validate-only` must start in a few times a bare
interpreter (bench/worker.py), while the daemon stays small. This class reads its
fields once per subclass and needs no code generation.

Modules on those paths import typing names for the type checker only:

    TYPE_CHECKING = False   # mypy treats the name as true; at run time it is False
    if TYPE_CHECKING:
        from typing import Any
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Self, dataclass_transform
else:

    def dataclass_transform(**_: object) -> object:
        return lambda cls: cls


@dataclass_transform(frozen_default=True)
class Record:
    """Fields by position or name; immutable, compared and hashed by value."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, object]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(n for n in cls.__annotations__ if not n.startswith("_"))
        cls._fields = names
        cls._defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls, fields = type(self), self._fields
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} fields, got {len(args)}")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in fields or name in values:
                raise TypeError(f"{cls.__name__}(): unexpected or repeated field {name!r}")
            values[name] = value
        for name in fields:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError(f"{cls.__name__}(): missing field {name!r}")
                values[name] = self._defaults[name]
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use _replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._fields)

    def _asdict(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._fields}

    def _replace(self, **changes: Any) -> Self:
        return type(self)(**{**self._asdict(), **changes})

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._astuple() == other._astuple()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._astuple()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({inner})"
