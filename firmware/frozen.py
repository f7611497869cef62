"""An immutable, hashable mapping for the phone state (which must stay frozen all the way down).

Updates return a new map (copy-on-write): a dict copy runs at C speed, ~15 us for 5,000 entries,
which keeps `step()` pure without a persistent-data-structure library. Iteration order is the
insertion order, like dict's; `moved_to_end` lets a map double as a recency list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

_UNHASHED = -1


class FrozenMap(Mapping[K, V]):
    __slots__ = ("_data", "_hash")

    _data: dict[K, V]
    _hash: int

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._data = dict(items)
        self._hash = _UNHASHED

    @classmethod
    def _own(cls, data: dict[K, V]) -> FrozenMap[K, V]:
        """Wrap a dict nobody else holds (no copy)."""
        new: FrozenMap[K, V] = cls.__new__(cls)
        new._data = data
        new._hash = _UNHASHED
        return new

    # --- Mapping --------------------------------------------------------------------------

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...
    def get(self, key: K, default: Any = None, /) -> Any:
        return self._data.get(key, default)

    def __reversed__(self) -> Iterator[K]:
        return reversed(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash == _UNHASHED:
            value = hash(frozenset(self._data.items()))
            self._hash = _UNHASHED - 1 if value == _UNHASHED else value
        return self._hash

    def __repr__(self) -> str:
        if len(self._data) > 8:
            return f"FrozenMap(<{len(self._data)} entries>)"
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._data,))

    # --- copy-on-write updates ----------------------------------------------------------

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        data = dict(self._data)
        data[key] = value
        return FrozenMap._own(data)

    def moved_to_end(self, key: K, value: V) -> FrozenMap[K, V]:
        """`key` set to `value` and made the last in iteration order."""
        data = dict(self._data)
        data.pop(key, None)
        data[key] = value
        return FrozenMap._own(data)

    def without(self, *keys: K) -> FrozenMap[K, V]:
        if not any(k in self._data for k in keys):
            return self
        data = dict(self._data)
        for k in keys:
            data.pop(k, None)
        return FrozenMap._own(data)

    def copy_dict(self) -> dict[K, V]:
        """A mutable copy, to build the next map from (then wrap it with `FrozenMap.of_dict`)."""
        return dict(self._data)

    @classmethod
    def of_dict(cls, data: dict[K, V]) -> FrozenMap[K, V]:
        """Take over `data` without copying it: the caller must not touch it afterwards."""
        return cls._own(data)
