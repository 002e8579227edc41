"""The trust rule for events from other nodes: only the owner writes, only within its jurisdiction.

A node owns the aggregates of its jurisdiction and is their only writer (DESIGN.md, "Nodes"), so an
event is untrusted when its source node is not the aggregate's ``owner_node``, or when the
aggregate lies in a division that node does not govern: the province node governs everything, a
city node its city and the city's counties, a county node itself. The rule reads the event's raw
data, not a reader model, so it holds whatever fields a consumer chooses to read.

Commands (``shulian_common.commands``) are not about the source's own aggregates: they are requests
from any node about a record another node owns, so ``check_trust`` would dead-letter them. Their
rule is ``check_command_trust``: the source node must be the node the command says is asking.
"""

from __future__ import annotations

from shulian_common.envelope import CloudEvent
from shulian_common.reference import UnknownDivisionError, in_scope

# Fields naming the division an aggregate belongs to, wherever a contract carries them.
DIVISION_FIELDS = ("division_code", "county_code", "city_code")


class UntrustedEventError(ValueError):
    """An event's source node does not own the aggregate or does not govern its division."""


def check_trust(event: CloudEvent) -> None:
    """Raise ``UntrustedEventError`` unless the source node owns and governs what it speaks of."""
    node = event.node
    owner = event.data.get("owner_node")
    if owner is not None and owner != node:
        raise UntrustedEventError(
            f"{event.type} {event.id} from {event.source} is about an aggregate owned by {owner}"
        )
    for field in DIVISION_FIELDS:
        code = event.data.get(field)
        if code is not None and not governs(node, code):
            raise UntrustedEventError(
                f"{event.type} {event.id} from {event.source} is about {field} {code},"
                " outside that node's jurisdiction"
            )


def governs(node: str | None, code: object) -> bool:
    """Whether ``node`` governs the division ``code`` (unknown codes and nodes govern nothing)."""
    if node is None or not isinstance(code, str):
        return False
    try:
        return in_scope(node, code)
    except UnknownDivisionError:
        return False


def check_command_trust(event: CloudEvent) -> None:
    """Raise ``UntrustedEventError`` unless a command comes from the node it names as requester.

    The owner trusts the source node for who is asking (that node's API authorised the caller),
    not for anything about the target record, which the owner re-checks itself.
    """
    requester = event.data.get("requester_node")
    if requester is None or requester != event.node:
        raise UntrustedEventError(
            f"{event.type} {event.id} from {event.source} names requester node {requester}"
        )
