"""One registry helper for every piece a config names (datasets, model presets, encoders,
decoders, losses): registration by decorator or call, lazy provider modules, and one error
message for an unknown name."""
from __future__ import annotations

import importlib
from typing import Generic, Iterator, Sequence, TypeVar

from keras_depth.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind. ``providers`` are modules imported on first lookup, so that
    importing the registry stays cheap and the modules that register entries load only when needed."""

    def __init__(self, kind: str, providers: Sequence[str] = ()):
        self.kind = kind
        self._providers = tuple(providers)
        self._loaded = not self._providers
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T | None = None):
        """``register(name, entry)``, or ``@register(name)`` as a decorator."""
        if entry is not None:
            self._entries[name] = entry
            return entry

        def deco(obj: T) -> T:
            self._entries[name] = obj
            return obj

        return deco

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for mod in self._providers:
            importlib.import_module(mod)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str, what: str | None = None) -> T:
        """The entry, or a one-line UsageError naming ``what`` (e.g. ``model.name``) and the choices."""
        self._load()
        if name not in self._entries:
            label = what or self.kind
            raise UsageError(f"{label} {name!r} is unknown (expected one of: {', '.join(sorted(self._entries))})")
        return self._entries[name]

