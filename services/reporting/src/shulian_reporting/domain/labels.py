"""Chinese labels of the codes reporting shows: industries, levels, kinds.

Producers publish codes; officials read names. These tables are reporting's own copy of the
labels (a service never imports another), kept to the registry's published taxonomy; an unknown
code is shown as itself rather than hidden.
"""

from __future__ import annotations

INDUSTRIES: dict[str, str] = {
    "liquor_food": "白酒(食品轻纺)",
    "energy_chemicals": "能源化工",
    "electronic_information": "电子信息",
    "major_equipment": "重大装备制造",
    "culture_tourism": "文化旅游",
    "advanced_materials": "先进材料",
    "modern_services": "现代服务业",
    "modern_agriculture": "现代农业",
    "lantern_making": "彩灯制作",
    "new_energy": "新能源",
    "new_chemicals": "新型化工",
    "drones_aviation": "无人机及通航",
    "vanadium_titanium": "钒钛",
    "green_aluminium": "绿色铝",
    "silicon_materials": "硅基新材料",
    "autos_parts": "汽车汽配",
    "oil_gas_chemicals": "油气化工",
    "digital_economy": "数字经济",
    "power_batteries": "动力电池",
    "crystalline_pv": "晶硅光伏",
    "lithium_materials": "锂电新材料",
    "sichuan_tibet_railway": "川藏铁路",
}

# The registry's mid-to-high-end (中高端业态) service lines (see services/registry/README.md):
# the revenue of these lines over all revenue is the high-end share of the market.
HIGH_END_SERVICE_LINES = frozenset({"headhunting", "assessment", "consulting", "hr_software"})


def industry_label(code: str) -> str:
    """The Chinese name of an industry code (the code itself when unknown)."""
    return INDUSTRIES.get(code, code)


# The eight major groups (大类) of 《中华人民共和国职业分类大典（2022年版）》, the codes matching's
# orders and talents carry (services/matching/README.md, "Occupation codes").
OCCUPATIONS: dict[str, str] = {
    "1": "党的机关、国家机关、群众团体和社会组织、企事业单位负责人",
    "2": "专业技术人员",
    "3": "办事人员和有关人员",
    "4": "社会生产服务和生活服务人员",
    "5": "农、林、牧、渔业生产及辅助人员",
    "6": "生产制造及有关人员",
    "7": "军人",
    "8": "不便分类的其他从业人员",
}


def occupation_label(code: str | None) -> str:
    """The Chinese name of an occupation code (未注明职业 without one; the code when unknown)."""
    if code is None:
        return "未注明职业"
    return OCCUPATIONS.get(code, code)


# The events service's activity kinds and levels (services/events/asyncapi.json, ActivityKind).
ACTIVITY_KINDS: dict[str, str] = {
    "province_fair": "省级对接协同专场",
    "city_fair": "市(州)对接协同专场",
    "recruitment": "重点产业招聘引才专场",
    "park_tour": "园区行",
    "enterprise_tour": "企业行",
    "campus_tour": "校园行",
    "village_tour": "乡村行",
    "forum": "论坛",
    "exhibition": "展会",
    "study_visit": "考察",
    "hr_training": "人力资源管理人员培训",
}
ACTIVITY_LEVELS: dict[str, str] = {"province": "省级", "city": "市级", "county": "县级"}
