"""One rule script serves several rules of its stage: it looks its rule up in a registry."""

from __future__ import annotations

from typing import Callable, Mapping, TypeVar

Entry = TypeVar("Entry")


def entry(registry: Mapping[str, Entry], rule: str, script: str) -> Entry:
    """The registered function of `rule`; a rule wired to a script without one fails by name."""
    if rule not in registry:
        raise ValueError(f"{script} has no entry for rule {rule!r}; it serves {sorted(registry)}")
    return registry[rule]


def registrar(registry: dict[str, Entry]) -> Callable[[str], Callable[[Entry], Entry]]:
    """A decorator `@register("rule")` that files a function in `registry` under its rule."""

    def register(rule: str) -> Callable[[Entry], Entry]:
        def add(function: Entry) -> Entry:
            if rule in registry:
                raise ValueError(f"rule {rule!r} is registered twice")
            registry[rule] = function
            return function

        return add

    return register
