"""A record's states, the moves allowed between them, and the one check every change of state goes through.

Each product declares its tables next to its records (``ess/states.py``, ``eci/states.py``). Refusing what the
caller may not do is the product's job (``IncorrectInstanceStatus``, ``IncorrectStatus``); a move the table does
not allow is a bug in localcloud, so it raises, and the dispatch answers it as InternalError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class IllegalTransition(Exception):
    """localcloud tried to move a record from one state to another its lifecycle does not allow."""


@dataclass(frozen=True)
class Lifecycle:
    kind: str  # what moves through it, for messages: "ESS instance"
    state_field: str  # the record's attribute holding its state
    id_field: str  # the record's attribute naming it, for messages
    moves: dict[str, tuple[str, ...]]  # every state -> the states it may move to

    def __post_init__(self) -> None:
        undeclared = {target for targets in self.moves.values() for target in targets} - set(self.moves)
        if undeclared:
            raise ValueError(f"the {self.kind} lifecycle moves to undeclared states {sorted(undeclared)}")

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.moves)

    def move(self, record: Any, target: str) -> None:
        """Put ``record`` in state ``target``; raises ``IllegalTransition`` for a move the table does not allow."""
        current = getattr(record, self.state_field)
        if target not in self.moves.get(current, ()):
            allowed = ", ".join(self.moves.get(current, ())) or "nothing"
            raise IllegalTransition(
                f"{self.kind} {getattr(record, self.id_field)} cannot move from {current} to {target} "
                f"(from {current} it may move to {allowed})"
            )
        setattr(record, self.state_field, target)
