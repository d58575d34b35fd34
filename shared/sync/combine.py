"""Changes of one mailbox that invocations are applying at the same moment, applied together.

The Functions host runs several queue messages at once in one worker process (``batchSize``),
and messages of one mailbox often arrive together (an organizer's edits, an invitation's copies).
Every storage and Graph request costs far more CPU than the work it carries (a transaction of
20 operations costs little more than one of 2), so applying each message on its own multiplies
that cost. A combiner is group commit on the consumer side: the first invocation for a mailbox
applies its changes together with those of every invocation that joins while it is reading
(one index query, one ``$batch`` of GETs, shared transactions); a lone message is applied at once,
with no added wait. Each invocation gets back what is left of its own changes for the
one-at-a-time path, or the error the group met (then every message retries, as each would have).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.sync.changes import Batch
from shared.sync.messages import ChangeRef

Apply = Callable[[Sequence[ChangeRef]], Batch]


@dataclass
class _Ticket:
    changes: list[ChangeRef]
    done: bool = False
    batch: Batch = field(default_factory=Batch)
    error: BaseException | None = None


class Combiner:
    """Per mailbox, at most one group being applied; tickets that arrive meanwhile form the next group."""

    def __init__(self, apply: Apply) -> None:
        self._apply = apply
        self._changed = threading.Condition()
        self._waiting: dict[tuple[str, str], list[_Ticket]] = {}
        self._busy: set[tuple[str, str]] = set()
        self.groups = 0

    def apply(self, changes: Sequence[ChangeRef]) -> Batch:
        """Apply ``changes`` (all of one mailbox) with whatever else is being applied for the mailbox; the
        outcomes of this caller's changes that were applied, and the ones left to apply one at a time."""
        if not changes:
            return Batch()
        key, ticket = changes[0].mailbox, _Ticket(list(changes))
        with self._changed:
            self._waiting.setdefault(key, []).append(ticket)
            while not ticket.done and key in self._busy:
                self._changed.wait()
            leader = not ticket.done
            if leader:
                self._busy.add(key)
                group = self._waiting.pop(key)
        if leader:
            self._lead(key, group)
        if ticket.error is not None:
            raise ticket.error
        return ticket.batch

    def _lead(self, key: tuple[str, str], group: list[_Ticket]) -> None:
        try:
            together = self._apply([change for ticket in group for change in ticket.changes])
            left = {id(change) for change in together.left}
            for ticket in group:
                applied = together.applied
                ticket.batch = Batch(
                    {id(c): applied[id(c)] for c in ticket.changes if id(c) in applied},
                    [change for change in ticket.changes if id(change) in left],
                )
            self.groups += 1
        except BaseException as error:  # every member meets the group's failure: each message retries
            for ticket in group:
                ticket.error = error
        finally:
            with self._changed:
                for ticket in group:
                    ticket.done = True
                self._busy.discard(key)
                self._changed.notify_all()
