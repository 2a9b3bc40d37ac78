"""Agents by name: the built-ins and any registered by adapters or plugins."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from shoal.agents.base import Agent, UnknownAgentError

_AGENTS: dict[str, type] = {}

A = TypeVar("A", bound=type)


def register(agent_cls: A) -> A:
    """Make ``agent_cls`` available under its ``name``; usable as a class decorator."""
    name = getattr(agent_cls, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{agent_cls.__name__} needs a non-empty string 'name' to be registered")
    existing = _AGENTS.get(name)
    if existing is not None and existing is not agent_cls:
        raise ValueError(f"agent {name!r} is already registered by {existing.__qualname__}")
    _AGENTS[name] = agent_cls
    return agent_cls


def unregister(name: str) -> None:
    """Remove an agent (tests and plugins that replace one)."""
    _AGENTS.pop(name, None)


def known_agents() -> tuple[str, ...]:
    return tuple(sorted(_AGENTS))


def get_agent(name: str, settings: Mapping[str, Any] | None = None) -> Agent:
    """A new agent ``name`` built with ``settings``.

    Raises `UnknownAgentError` (with a did-you-mean and the known names) or the
    agent's own `AgentSetupError` when the settings are wrong.
    """
    cls = _AGENTS.get(name)
    if cls is None:
        known = known_agents()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += f"known agents: {', '.join(known) if known else 'none'}"
        raise UnknownAgentError(f"unknown agent {name!r}", hint=hint)
    return cast(Agent, cls(settings or {}))
