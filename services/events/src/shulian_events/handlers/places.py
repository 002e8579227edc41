"""Places of one occurrence: registration snapshots and the waiting list's promotion."""

from __future__ import annotations

from shulian_common.records import flush_update
from shulian_common.uow import UnitOfWork
from shulian_events import contracts, repository
from shulian_events.domain import participation
from shulian_events.domain.participation import RegistrationStatus
from shulian_events.orm import Activity, Registration


def record_registration(
    uow: UnitOfWork, event: type[contracts.RegistrationSnapshot], row: Registration
) -> None:
    """Queue the registration's state, keyed by its activity (the owner's decision order)."""
    uow.record(event.model_validate(row, from_attributes=True), key=row.activity_id, subject=row.id)


async def promote_waiting(uow: UnitOfWork, activity: Activity, occurrence_key: str) -> int:
    """Give freed places to the waiting list, first come first served; how many moved up."""
    session = uow.session
    waiting = await repository.waiting(session, activity.id, occurrence_key)
    if not waiting:
        return 0
    taken = await repository.places_taken(session, activity.id, occurrence_key)
    chosen = participation.promote(
        [r.id for r in waiting], capacity=activity.capacity, places_taken=taken
    )
    by_id = {r.id: r for r in waiting}
    for registration_id in chosen:
        row = by_id[registration_id]
        row.status = str(RegistrationStatus.CONFIRMED)
        row.reason_code, row.reason = None, None
        await flush_update(session, row)
        record_registration(uow, contracts.RegistrationPromoted, row)
    return len(chosen)
