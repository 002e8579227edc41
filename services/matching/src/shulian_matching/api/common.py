"""What the routes share: the service's settings, rendering of grabs and talents."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shulian_common.deps import SettingsDep
from shulian_matching.domain.grabs import REASON_TEXT, Reason
from shulian_matching.domain.talents import ApplicationStatus, PersonalData, shown_to
from shulian_matching.orm import Application, Grab, Talent
from shulian_matching.schemas import ApplicationRead, GrabRead, TalentRead
from shulian_matching.settings import MatchingSettings, matching_settings


async def get_matching_settings(settings: SettingsDep) -> MatchingSettings:
    """The app's settings as matching's."""
    if isinstance(settings, MatchingSettings):
        return settings
    return matching_settings(settings)


MatchingSettingsDep = Annotated[MatchingSettings, Depends(get_matching_settings)]


def grab_read(grab: Grab) -> GrabRead:
    """A grab with its reason in Chinese."""
    read = GrabRead.model_validate(grab)
    if grab.reason:
        read.reason_text = REASON_TEXT[Reason(grab.reason)]
    return read


def talent_read(talent: Talent, *, to_talent: bool) -> TalentRead:
    """A talent's profile, personal data masked unless the viewer is the talent."""
    data = shown_to(
        PersonalData(talent.name, talent.phone, talent.id_number), viewer_is_talent=to_talent
    )
    return TalentRead(
        id=talent.id,
        owner_node=talent.owner_node,
        version=talent.version,
        name=data.name,
        phone=data.phone,
        id_number=data.id_number,
        occupation_code=talent.occupation_code,
        skills=list(talent.skills),
        county_code=talent.county_code,
        masked=not to_talent,
    )


def application_read(app: Application) -> ApplicationRead:
    """An application, without the talent's profile."""
    return ApplicationRead(
        id=app.id,
        order_id=app.order_id,
        owner_node=app.owner_node,
        talent_id=app.talent_id,
        talent_node=app.talent_node,
        occupation_code=app.occupation_code,
        skills=list(app.skills or []),
        county_code=app.county_code,
        status=ApplicationStatus(app.status),
        reason=app.reason,
        terms_version=app.terms_version,
        version=app.version,
    )
