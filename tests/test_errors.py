"""One line per validation error, whatever model refused the input (pricing.errors.validation_line)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from pricing.errors import problem_text, validation_line


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    at: datetime
    quantity: int


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    events: list[_Event]


def _refusal(data: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _File.model_validate(data)
    return caught.value


def test_an_event_is_named_by_index_type_and_instant():
    data = {"name": "x", "events": [
        {"type": "start", "at": "2026-01-01T00:00:00Z", "quantity": 1},
        {"type": "add", "at": datetime(2026, 1, 10, 9, 30, tzinfo=timezone(timedelta(hours=1))),
         "quantity": "two"}]}  # YAML reads a timestamp as a datetime
    line = validation_line("seats.yaml", _refusal(data), data)
    # 09:30 at +01:00 is 08:30 UTC
    assert line == ("seats.yaml: events[1] (add at 2026-01-10T08:30:00Z): quantity:"
                    " Input should be a valid integer, unable to parse string as an integer")


def test_further_problems_are_counted_and_words_can_be_replaced():
    data = {"nme": "x", "events": []}
    error = _refusal(data)  # "name" missing and "nme" unknown: two problems
    assert validation_line("f.yaml", error) == "f.yaml: name: Field required (and 1 more problem)"
    worded = validation_line("f.yaml", error,
                             explain=lambda problem: "missing" if problem["type"] == "missing" else None)
    assert worded == "f.yaml: name: missing (and 1 more problem)"
    assert problem_text(error) == "Field required"
