"""What the routes share: the service's settings, rendering of grabs and talents."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shulian_common.deps import SettingsDep
from shulian_matching.domain.grabs import REASON_TEXT, Reason
from shulian_matching.domain.talents import PersonalData, shown_to
from shulian_matching.orm import Grab, Talent
from shulian_matching.schemas import GrabRead, TalentRead
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
