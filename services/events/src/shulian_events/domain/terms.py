"""The calendar's vocabulary: kinds, levels, campaigns and hosts, with their Chinese labels."""

from __future__ import annotations

from enum import StrEnum

TIMEZONE = "Asia/Shanghai"  # every activity in Sichuan is scheduled in China Standard Time


class ActivityKind(StrEnum):
    """What an activity is (the seed's fairs, sessions, tours and trainings)."""

    PROVINCE_FAIR = "province_fair"
    CITY_FAIR = "city_fair"
    RECRUITMENT = "recruitment"
    PARK_TOUR = "park_tour"
    ENTERPRISE_TOUR = "enterprise_tour"
    CAMPUS_TOUR = "campus_tour"
    VILLAGE_TOUR = "village_tour"
    FORUM = "forum"
    EXHIBITION = "exhibition"
    STUDY_VISIT = "study_visit"
    HR_TRAINING = "hr_training"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ActivityKind.PROVINCE_FAIR: "省级对接协同专场活动",
    ActivityKind.CITY_FAIR: "市级对接协同专场活动",
    ActivityKind.RECRUITMENT: "重点产业招聘引才专场",
    ActivityKind.PARK_TOUR: "园区行",
    ActivityKind.ENTERPRISE_TOUR: "企业行",
    ActivityKind.CAMPUS_TOUR: "校园行",
    ActivityKind.VILLAGE_TOUR: "乡村行",
    ActivityKind.FORUM: "论坛",
    ActivityKind.EXHIBITION: "展会",
    ActivityKind.STUDY_VISIT: "考察交流",
    ActivityKind.HR_TRAINING: "重点企业人力资源经理培训",
}


class Level(StrEnum):
    """Who organises: the province, a city (市州) or a county."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return {Level.PROVINCE: "省级", Level.CITY: "市级", Level.COUNTY: "县级"}[self]


class Campaign(StrEnum):
    """The named campaigns an activity may belong to."""

    SPRING_BREEZE = "spring_breeze"
    GOLDEN_AUTUMN = "golden_autumn"
    JOBS_TO_CAMPUS = "jobs_to_campus"
    TALENT_WEEK = "talent_week"
    GRADUATE_WEEK = "graduate_week"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return _CAMPAIGN_LABELS[self]


_CAMPAIGN_LABELS = {
    Campaign.SPRING_BREEZE: "春风行动",
    Campaign.GOLDEN_AUTUMN: "丰硕金秋",
    Campaign.JOBS_TO_CAMPUS: "就业服务进校园",
    Campaign.TALENT_WEEK: "知名高校四川人才活动周",
    Campaign.GRADUATE_WEEK: "高校毕业生服务周",
}


class HostKind(StrEnum):
    """Where a tour or session is hosted; ``host_ref`` names the registry's record if any."""

    PARK = "park"
    ENTERPRISE = "enterprise"
    CAMPUS = "campus"
    VILLAGE = "village"
    MARKET = "market"
    VENUE = "venue"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return {
            HostKind.PARK: "产业园",
            HostKind.ENTERPRISE: "企业",
            HostKind.CAMPUS: "高校",
            HostKind.VILLAGE: "乡村",
            HostKind.MARKET: "人力资源市场",
            HostKind.VENUE: "会场",
        }[self]


class ParticipantKind(StrEnum):
    """Who registers for an activity: HR service suppliers and enterprises (organisations)."""

    SUPPLIER = "supplier"
    ENTERPRISE = "enterprise"
