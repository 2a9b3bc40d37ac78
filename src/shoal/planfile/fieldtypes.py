"""Field types of the plan models: what each accepts on input, and how it reads it.

Every converter raises ``ValueError`` (which pydantic turns into a validation
error) with a message that says what is accepted.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic.json_schema import JsonDict

from shoal.model import Isolation, RiskTier, parse_duration


def _one_item(value: Any) -> Any:
    """A single string where a list is expected is a one-item list; null is empty."""
    if isinstance(value, str):
        return [value]
    if value is None:
        return []
    return value


def _task_ref(value: Any) -> Any:
    """Task ids may be written as whole numbers (``id: 7``); they are text inside."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _task_refs(value: Any) -> Any:
    value = _one_item(_task_ref(value))
    return [_task_ref(item) for item in value] if isinstance(value, list) else value


def _duration(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        # pydantic reports ValueError (not TypeError) as a validation error
        raise ValueError("expected a duration such as 90s, 15m or 1h")  # noqa: TRY004
    seconds = parse_duration(value)
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite duration, got {value!r}")
    return seconds


def _timeout(value: Any) -> Any:
    seconds = _duration(value)
    if seconds is not None and seconds <= 0:
        raise ValueError(f"a time limit must be more than zero, got {value!r}")
    return seconds


def _enum(kind: type[Enum]) -> Any:
    def parse(value: Any) -> Any:
        if isinstance(value, str):
            if kind is RiskTier:
                return RiskTier.parse(value)
            try:
                return kind(value.strip().lower())
            except ValueError:
                choices = ", ".join(m.value for m in kind)
                raise ValueError(
                    f"unknown value {value!r}; use one of {choices}"
                ) from None
        return value

    return parse


# lists default to a fresh empty list; the schema still shows the default
EMPTY_LIST: JsonDict = {"default": []}

StrList = Annotated[
    list[str], BeforeValidator(_one_item, json_schema_input_type=str | list[str])
]
TaskRef = Annotated[str, BeforeValidator(_task_ref, json_schema_input_type=str | int)]
TaskRefs = Annotated[
    list[str],
    BeforeValidator(_task_refs, json_schema_input_type=str | int | list[str | int]),
]
Duration = Annotated[
    float, BeforeValidator(_duration, json_schema_input_type=str | float)
]
Timeout = Annotated[
    float, BeforeValidator(_timeout, json_schema_input_type=str | float)
]
Risk = Annotated[
    RiskTier, BeforeValidator(_enum(RiskTier), json_schema_input_type=RiskTier)
]
IsolationMode = Annotated[
    Isolation, BeforeValidator(_enum(Isolation), json_schema_input_type=Isolation)
]
