"""The demo county 清溪县: mediators and cases in every stage, loaded through the ledger.

Everything goes through :class:`~application.ledger.CaseLedger` commands, exactly as an
integration would send them, so every rule of the domain is applied to the demo data too.
Case steps are brought in by the importer role (their events are marked imported and may
be back-dated); the court posts its own rulings on the confirmation applications of the
last few weeks, as itself and at load time, since only imports may be back-dated.

The county is generated from ``random.Random(seed)`` relative to ``ledger.clock()``: the
same seed gives the same case ids, parties and stories. Loading is idempotent: when the
seed's first case already exists nothing is written.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from uuid import UUID

from application.ledger import Caller, CaseLedger
from domain.calendar import CHINA_TZ
from domain.case import Case, Status
from domain.case_deadlines import case_deadlines, is_overdue
from domain.errors import CaseNotFoundError
from domain.values import Actor, Party, Role

IMPORTER = Actor(user_id="importer-demo", role=Role.IMPORTER, unit="qingxi-center", jurisdiction="qingxi")
COURT = Actor(user_id="court-clerk-demo", role=Role.COURT, unit="qingxi-court", jurisdiction="qingxi")
DEMO_COUNTY = "qingxi"
COURT_UNIT = "qingxi-court"
COUNTY_CENTER_UNIT = "qingxi-center"

# A fictional county code (4311 is a real prefecture, 99 no county of it), so generated
# ID numbers cannot be anyone's.
REGION_CODE = "431199"
COURT_CODE = "湘1199"

# Applications for judicial confirmation older than this are left out: the court, which
# cannot back-date, rules on the recent ones at load time.
CONFIRMATION_WINDOW = timedelta(days=25)
# A mediator who loses the qualification is given no case assigned after this many days ago.
DISQUALIFIED_MEDIATOR_LAST_ASSIGN = timedelta(days=75)

OFFICE_OPENS, OFFICE_CLOSES = 8, 19  # steps are done between 08:00 and 19:00 China time
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
# Calendar days a resolution period roughly spans (30 working days ≈ 42 calendar days).
_RESOLVE_SPAN = {"simple": 5.0, "ordinary": 7.0, "complex": 40.0}

# ---------------------------------------------------------------------- personal data

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MALE_NAMES = _words(
    "建国 志强 伟 军 勇 磊 涛 明 超 辉 国华 德胜 海波 文斌 建华 小龙 春生 永福 宏伟 卫国 长青 金山 志刚 红兵 建平 俊杰 "
    "浩然 子轩 家豪 国庆 满仓 水生 大勇 光明"
)
_FEMALE_NAMES = _words(
    "秀英 桂英 丽 芳 娟 敏 静 霞 玉兰 秀兰 红梅 海燕 婷 小燕 金凤 丽萍 春梅 桂芳 翠花 淑珍 美玲 雪梅 晓红 慧 凤英 冬梅 "
    "欣怡 梓涵 雨桐 玉珍"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 157 158 159 "
    "166 173 175 176 177 180 181 182 183 185 186 187 188 189 191 193 195 "
    "198 199"
)


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of an 18-digit citizen ID number (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("an ID number's body is 17 digits")
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_valid(number: str) -> bool:
    """Whether an 18-character ID number's last character matches its check digit."""
    return len(number) == 18 and number[:17].isdigit() and id_check_digit(number[:17]) == number[17].upper()


# ---------------------------------------------------------------------- the stories

_CATEGORIES = {
    "neighbour": 22,
    "land": 14,
    "marriage_family": 12,
    "labour_wage": 12,
    "contract_debt": 9,
    "property_management": 8,
    "traffic": 8,
    "consumer": 5,
    "environment": 4,
    "other": 4,
    "medical": 2,
}
_CHANNELS = {
    "grid_patrol": 34,
    "visit": 15,
    "hotline_12345": 15,
    "police_referral": 8,
    "online": 8,
    "petition_referral": 5,
    "department_transfer": 5,
    "court_referral": 5,
    "letter": 5,
}
_SUMMARIES: dict[str, tuple[str, ...]] = {
    "neighbour": (
        "{a}家楼上卫生间漏水，致楼下{b}家天花板及墙面受损，双方就维修和赔偿发生争执",
        "{a}与{b}因公共楼道堆放杂物、占用通行多次发生口角",
        "{a}反映邻居{b}家犬只夜间吠叫扰民，多次沟通未果",
        "{a}与{b}因房屋滴水檐和排水沟走向发生纠纷",
        "{a}与{b}因院墙加高遮挡采光通风发生争执",
    ),
    "land": (
        "{a}与{b}因宅基地界址不清发生争议，双方各执一词",
        "{a}与{b}就承包地边界及土地流转费用发生纠纷",
        "{a}反映{b}在其承包林地内砍伐杉木，双方就山林权属发生争执",
        "{a}与{b}因灌溉水渠改道占用耕地发生争议",
    ),
    "marriage_family": (
        "{a}与{b}因赡养老人费用分担发生家庭矛盾",
        "{a}与{b}婚姻关系紧张，就子女抚养和财产分割发生争执",
        "{a}与{b}兄妹之间因父母遗留房屋继承发生纠纷",
    ),
    "labour_wage": (
        "{a}等{n}名务工人员反映{b}拖欠工资共计{amount}元",
        "{a}反映{b}拖欠其{months}个月工资{amount}元，多次讨要无果",
        "{a}在{b}务工期间受伤，就医疗费和误工费与用工方协商未果",
    ),
    "contract_debt": (
        "{a}称{b}借款{amount}元到期未还，双方就还款期限发生争执",
        "{a}与{b}就房屋装修工程款{amount}元结算发生纠纷",
        "{a}与{b}因农机租赁费用{amount}元发生合同纠纷",
    ),
    "property_management": (
        "{a}反映{b}长期未维修小区电梯，业主拒交物业费引发纠纷",
        "{a}与{b}就小区停车位收费标准发生争议",
        "{a}反映{b}未及时处理地下室渗水，要求减免物业费",
    ),
    "traffic": (
        "{a}驾驶电动车与{b}驾驶的小型轿车在路口发生碰撞，双方就医疗费赔偿协商未果",
        "{a}与{b}因车辆剐蹭事故责任划分及维修费用发生争执",
    ),
    "consumer": (
        "{a}在{b}购买的冰箱存在质量问题，要求退换遭拒",
        "{a}反映在{b}办理的预付卡无法退费",
    ),
    "environment": (
        "{a}等村民反映{b}粪污直排，影响周边水井和农田",
        "{a}反映{b}夜间生产噪音扰民，影响休息",
    ),
    "medical": ("{a}在{b}就诊后病情加重，家属对诊疗过程有异议，要求赔偿",),
    "other": (
        "{a}与{b}因办红白喜事占道搭棚发生口角",
        "{a}与{b}因合伙经营分红发生矛盾",
    ),
}
# Respondents that are organisations, by category.
_ORGANISATIONS: dict[str, tuple[str, ...]] = {
    "labour_wage": (
        "清溪县鑫达建筑劳务有限公司",
        "清溪县宏昌木业加工厂",
        "清溪县顺发物流有限公司",
        "清溪县绿源农业合作社",
    ),
    "property_management": ("清溪县恒通物业服务有限公司", "清溪县安居物业管理有限公司"),
    "consumer": ("清溪县百佳家电商场", "清溪县动力健身会所", "清溪县惠民超市"),
    "environment": ("清溪县兴旺生猪养殖场", "清溪县永丰石材加工厂"),
    "medical": ("清溪县人民医院", "清溪县中医院"),
}
_AMOUNTS = {
    "labour_wage": (3000, 60000),
    "contract_debt": (5000, 120000),
    "traffic": (2000, 30000),
    "neighbour": (800, 6000),
    "medical": (5000, 50000),
    "property_management": (500, 5000),
    "consumer": (1000, 8000),
}
_DEPARTMENTS = {
    "labour_wage": "qingxi-hrss",
    "environment": "qingxi-ecoenv",
    "consumer": "qingxi-market",
    "property_management": "qingxi-housing",
    "land": "qingxi-natres",
    "medical": "qingxi-health",
}
_PROGRESS = (
    "已电话联系双方当事人，了解纠纷基本情况",
    "网格员上门走访核实，现场拍照留存",
    "会同村（社区）干部到现场查看，听取双方诉求",
    "已约双方当事人到村（社区）调解室面谈",
    "已调取相关合同、收据等书面材料",
    "向周边群众了解情况，核实事实经过",
)
_SESSION_NOTES = (
    "首次调解，双方陈述各自意见，分歧较大",
    "背靠背调解，分别做双方思想工作，释法析理",
    "第二次调解，双方就赔偿金额初步达成一致意向",
    "邀请村干部和老党员参与调解，双方态度有所缓和",
)
_RATING_COMMENTS = {
    "satisfied": ("调解员很耐心，处理及时", "问题解决了，感谢", "", ""),
    "neutral": ("结果基本可以接受", "办理时间有点长", ""),
    "dissatisfied": ("对赔偿金额仍有意见", "认为处理不公平", "对方未按约定履行"),
}
_ESCALATION_TO = {
    "joint_meeting": "{township}综治中心矛盾纠纷联席会议",
    "whistle": "县住房和城乡建设局、县自然资源局",
    "mediation_committee": "{township}人民调解委员会集体讨论",
}


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


# ---------------------------------------------------------------------- mediators

# (name, user id, mediation committee, specialties); the committee's jurisdiction is theirs.
_MEDIATORS = (
    ("王桂芳", "med-cg-wangguifang", "chengguan-pmc", "婚姻家庭纠纷、邻里纠纷"),
    ("陈建国", "med-cg-chenjianguo", "chengguan-pmc", "物业纠纷、合同债务纠纷"),
    ("刘志强", "med-hk-liuzhiqiang", "hekou-pmc", "土地山林纠纷、宅基地纠纷"),
    ("赵秀英", "med-hk-zhaoxiuying", "hekou-pmc", "婚姻家庭纠纷、劳动欠薪纠纷"),
    ("孙德明", "med-sy-sundeming", "shanyang-pmc", "土地山林纠纷、邻里纠纷"),
    ("郑卫东", "med-sy-zhengweidong", "shanyang-pmc", "合同债务纠纷、邻里纠纷"),
    ("周丽", "med-traffic-zhouli", "qingxi-traffic-mc", "道路交通事故损害赔偿"),
    ("吴海涛", "med-env-wuhaitao", "qingxi-env-mc", "环境污染纠纷、噪声扰民纠纷"),
    ("黄文斌", "med-sy-huangwenbin", "shanyang-pmc", "婚姻家庭纠纷"),
)
_COMMITTEE_KINDS = {
    "qingxi-traffic-mc": "traffic_mediation_committee",
    "qingxi-env-mc": "environment_mediation_committee",
}
_DISQUALIFIED = "med-sy-zhengweidong"
_AWAITING_EXAMINATION = "med-sy-huangwenbin"


@dataclass
class _Mediator:
    mediator_id: str
    user_id: str
    name: str
    unit: str
    qualified: bool
    cases: list[tuple[UUID, datetime]] = field(default_factory=list)


# ---------------------------------------------------------------------- plans


# A step of handling: a fixed delay in hours (or None: spread over the time left) and the command.
_Step = tuple[float | None, Callable[[datetime], object]]


class _Stop(Exception):
    """The next step would happen after now: the case stays at its current stage."""


@dataclass
class _Plan:
    """What happens to one case; the timeline decides how far it gets by now."""

    age_days: float
    stop: str = ""  # a Status where the case stalls, or "" to run its whole course
    mode: str = "grid"  # grid (grid worker), mediator, department
    category: str = ""
    channel: str = ""
    risk: str = "green"
    difficulty: str = "ordinary"
    late_dispatch: bool = False
    late_accept: bool = False
    late_assign: bool = False
    late_resolve: bool = False
    regrade: bool = False
    returned: bool = False
    transferred: bool = False
    escalate: bool = False
    extend: bool = False
    correct: bool = False
    choose: bool = False
    appraisal: bool = False
    undisputed: bool = False
    proposal: bool = False
    objection: bool = False
    failure: bool = False
    dissatisfied: bool = False
    reopen: bool = False
    rectify: bool = False
    confirmation: str = ""  # confirmed, rejected, pending
    payment_order: bool = False
    performance: str = ""  # performed, partly, not_performed
    follow_up: bool = False


# Cases that make sure a small demo still shows every stage and every kind of step.
_PINNED: tuple[_Plan, ...] = (
    _Plan(age_days=0.08, stop=Status.REGISTERED, category="neighbour", channel="hotline_12345"),
    _Plan(age_days=2.2, stop=Status.DISPATCHED, category="land", channel="grid_patrol"),
    _Plan(age_days=3.5, stop=Status.ACCEPTED, mode="mediator", category="marriage_family", channel="visit"),
    _Plan(age_days=5.5, stop=Status.HANDLING, mode="mediator", category="traffic", channel="police_referral"),
    _Plan(age_days=14, stop=Status.CONCLUDED, mode="grid", category="neighbour", difficulty="simple"),
    _Plan(age_days=60, mode="mediator", category="contract_debt", channel="visit", performance="performed"),
    _Plan(age_days=50, mode="grid", category="property_management", rectify=True),
    _Plan(age_days=70, mode="mediator", category="neighbour", dissatisfied=True, reopen=True),
    _Plan(
        age_days=45,
        mode="mediator",
        category="land",
        channel="petition_referral",
        failure=True,
        proposal=True,
        objection=True,
    ),
    _Plan(
        age_days=17, mode="mediator", category="labour_wage", difficulty="simple", confirmation="confirmed", choose=True
    ),
    _Plan(
        age_days=19, mode="mediator", category="traffic", difficulty="simple", confirmation="rejected", appraisal=True
    ),
    _Plan(
        age_days=85,
        mode="mediator",
        category="contract_debt",
        payment_order=True,
        performance="not_performed",
        undisputed=True,
    ),
    _Plan(age_days=40, mode="grid", category="neighbour", transferred=True),
    _Plan(age_days=30, mode="grid", category="other", returned=True, regrade=True),
    _Plan(age_days=75, mode="mediator", category="land", risk="red", difficulty="complex", escalate=True, extend=True),
    _Plan(age_days=35, mode="department", category="labour_wage", correct=True),
    _Plan(age_days=40, mode="grid", category="consumer", late_dispatch=True, late_accept=True, late_resolve=True),
)


def demo_case_ids(seed: int, cases: int) -> list[UUID]:
    """The ids the demo gives its cases for this seed (the first ``cases`` draws)."""
    rng = random.Random(seed)
    return [UUID(int=rng.getrandbits(128), version=4) for _ in range(cases)]


# ---------------------------------------------------------------------- the loader


class _Loader:
    """The county-wide part of the demo: places, grid workers, mediators, and one ``_CaseRun`` per case."""

    def __init__(self, ledger: CaseLedger, rng: random.Random) -> None:
        self.ledger = ledger
        self.rng = rng
        self.now = ledger.clock().astimezone(CHINA_TZ)
        self.importer = Caller(IMPORTER, request_id="demo-import")
        self.court = Caller(COURT, request_id="demo-court")
        self.mediators: list[_Mediator] = []
        self.grid_workers: dict[str, tuple[str, str]] = {}
        self.rulings = 0
        org = ledger.organisation
        self.townships = [p for p, n in org.nodes.items() if n.level == "township"]
        self.villages = {
            t: [p for p, n in org.nodes.items() if n.level == "village" and p.startswith(t + "/")]
            for t in self.townships
        }
        self.grids = {
            v: [p for p, n in org.nodes.items() if n.level == "grid" and p.startswith(v + "/")]
            for vs in self.villages.values()
            for v in vs
        }
        for grids in self.grids.values():
            for grid in grids:
                worker_id = "gw-" + "-".join(grid.split("/")[1:])
                self.grid_workers[grid] = (worker_id, self.person_name(rng)[0])

    # -------------------------------------------------------------- data

    def person_name(self, rng: random.Random) -> tuple[str, bool]:
        male = rng.random() < 0.55
        given = rng.choice(_MALE_NAMES if male else _FEMALE_NAMES)
        return rng.choice(_SURNAMES) + given, male

    def phone(self, rng: random.Random) -> str:
        return rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"

    def id_number(self, rng: random.Random, male: bool) -> str:
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)  # odd for men, even for women
        body = f"{REGION_CODE}{born:%Y%m%d}{sequence:03d}"
        return body + id_check_digit(body)

    def place_name(self, path: str) -> str:
        return "".join(self.ledger.organisation.place_names(path)[1:3])

    def person(self, rng: random.Random, party_id: str, kind: str, village: str) -> Party:
        name, male = self.person_name(rng)
        number = rng.randrange(1, 12)
        address = f"清溪县{self.place_name(village)}{number}组{rng.randrange(1, 80)}号"
        return Party(party_id, name, kind, phone=self.phone(rng), id_number=self.id_number(rng, male), address=address)

    def organisation_party(self, rng: random.Random, party_id: str, name: str) -> Party:
        return Party(party_id, name, "respondent", phone=self.phone(rng), address="清溪县城关镇")

    def when(self, rng: random.Random, age_days: float) -> datetime:
        """A registration time ``age_days`` ago, in office hours when that is not in the future."""
        day = (self.now - timedelta(days=age_days)).date()
        at = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ) + timedelta(hours=rng.uniform(8.0, 18.5))
        just_now = self.now - timedelta(hours=rng.uniform(0.3, 2.0))  # drawn either way: the story stays the same
        return just_now if at > self.now else at

    # -------------------------------------------------------------- mediators

    def load_mediators(self) -> None:
        base = self.now - timedelta(days=400)
        for i, (name, user_id, unit, specialties) in enumerate(_MEDIATORS):
            waiting = user_id == _AWAITING_EXAMINATION
            registered = self.now - timedelta(days=12, hours=3) if waiting else base + timedelta(days=i, hours=2)
            committee = self.ledger.organisation.units[unit]
            result = self.ledger.register_mediator(
                self.importer,
                name=name,
                user_id=user_id,
                organisation=committee.name,
                organisation_kind=_COMMITTEE_KINDS.get(unit, "people_mediation_committee"),
                specialties=specialties.split("、"),
                jurisdiction=committee.jurisdiction,
                occurred_at=registered,
            )
            if not waiting:
                qualified = registered + timedelta(days=30)
                self.ledger.qualify_mediator(
                    UUID(result.id),
                    self.importer,
                    examination=f"{qualified.year}年度人民调解员联合考核（县司法局、县综治中心）",
                    certificate_no=f"QXTJ-{qualified.year}-{i + 1:03d}",
                    occurred_at=qualified,
                )
            self.mediators.append(_Mediator(result.id, user_id, name, unit, not waiting))

    def pick_mediator(self, rng: random.Random, unit: str, at: datetime) -> _Mediator:
        usable = [
            m
            for m in self.mediators
            if m.qualified and not (m.user_id == _DISQUALIFIED and at > self.now - DISQUALIFIED_MEDIATOR_LAST_ASSIGN)
        ]
        same_unit = [m for m in usable if m.unit == unit]
        return rng.choice(same_unit or usable)

    def load_complaints(self) -> None:
        """Three valid complaints within twelve months end one mediator's qualification."""
        grounds = (
            ("partiality", "当事人反映调解员与对方当事人系亲戚关系，未主动回避", "经核实，调解员未依法回避，投诉成立"),
            ("insult", "当事人反映调解过程中调解员言语粗暴", "经调取调解录音核实，投诉成立"),
            ("other", "当事人反映调解员无故拖延，两个月未组织调解", "经核实，调解员未按规定期限组织调解，投诉成立"),
        )
        for mediator in self.mediators:
            if mediator.user_id == _DISQUALIFIED:
                for n, (ground, description, finding) in enumerate(grounds):
                    lodged = self.now - timedelta(days=100 - 21 * n, hours=5)
                    earlier = [cid for cid, assigned in mediator.cases if assigned < lodged]
                    case_ref = str(earlier[n % len(earlier)]) if earlier else ""
                    self.complaint(mediator, lodged, ground, description, finding, valid=True, case_id=case_ref)
            elif mediator.user_id == "med-cg-chenjianguo":
                lodged = self.now - timedelta(days=30, hours=2)
                self.complaint(
                    mediator,
                    lodged,
                    "partiality",
                    "当事人认为调解方案偏向物业公司",
                    "经核实，调解方案依据合同约定提出，程序合法，投诉不成立",
                    valid=False,
                )

    def complaint(
        self,
        mediator: _Mediator,
        lodged: datetime,
        ground: str,
        description: str,
        finding: str,
        *,
        valid: bool,
        case_id: str = "",
    ) -> None:
        mediator_id = UUID(mediator.mediator_id)
        result = self.ledger.lodge_complaint(
            mediator_id, self.importer, ground=ground, description=description, case_id=case_id, occurred_at=lodged
        )
        self.ledger.find_complaint(
            mediator_id,
            self.importer,
            complaint_id=str(result.extra["complaint_id"]),
            valid=valid,
            finding=finding,
            occurred_at=lodged + timedelta(days=8),
        )

    # -------------------------------------------------------------- plans

    def random_plan(self, rng: random.Random) -> _Plan:
        category = _weighted(rng, _CATEGORIES)
        risk = rng.choices(("green", "yellow", "red"), weights=(65, 27, 8))[0]
        difficulty = rng.choices(("simple", "ordinary", "complex"), weights=(30, 55, 15))[0]
        if category in ("traffic", "environment", "medical") or rng.random() < 0.45:
            mode = "mediator"
        elif category in _DEPARTMENTS and rng.random() < 0.3:
            mode = "department"
        else:
            mode = "grid"
        stop = rng.choices(
            ("", Status.HANDLING, Status.CONCLUDED, Status.ACCEPTED, Status.DISPATCHED, Status.REGISTERED),
            weights=(84, 7, 3, 2, 2, 2),
        )[0]
        dissatisfied = rng.random() < 0.08
        agreement = mode == "mediator"
        proposal = agreement and rng.random() < 0.25
        return _Plan(
            age_days=rng.uniform(0.05, 120.0),
            stop=stop,
            mode=mode,
            category=category,
            channel=_weighted(rng, _CHANNELS),
            risk=risk,
            difficulty=difficulty,
            late_dispatch=rng.random() < 0.3,
            late_accept=rng.random() < 0.2,
            late_assign=rng.random() < 0.15,
            late_resolve=rng.random() < 0.22,
            regrade=rng.random() < 0.12,
            returned=rng.random() < 0.05,
            transferred=mode == "grid" and rng.random() < 0.06,
            escalate=rng.random() < (0.6 if risk == "red" else 0.05),
            extend=rng.random() < (0.3 if difficulty == "complex" else 0.04),
            correct=rng.random() < 0.04,
            choose=agreement and rng.random() < 0.25,
            appraisal=agreement and rng.random() < (0.6 if category in ("traffic", "medical") else 0.05),
            undisputed=agreement and rng.random() < 0.3,
            proposal=proposal,
            objection=proposal and rng.random() < 0.3,
            failure=agreement and rng.random() < 0.18,
            dissatisfied=dissatisfied,
            reopen=dissatisfied and rng.random() < 0.75,
            rectify=rng.random() < 0.04,
            confirmation=rng.choices(("", "confirmed", "rejected", "pending"), weights=(65, 27, 4, 4))[0],
            payment_order=rng.random() < 0.5,
            performance=rng.choices(("performed", "partly", "not_performed"), weights=(75, 12, 13))[0],
            follow_up=rng.random() < 0.25,
        )

    def pinned_plan(self, rng: random.Random, plan: _Plan) -> _Plan:
        """A pinned case keeps its story; what it leaves open is drawn like any other."""
        drawn = self.random_plan(rng)
        return replace(
            plan,
            channel=plan.channel or drawn.channel,
            category=plan.category or drawn.category,
            performance=plan.performance or "performed",
        )

    # -------------------------------------------------------------- one case

    def load_case(self, case_id: UUID, n: int, rng: random.Random) -> None:
        plan = self.pinned_plan(rng, _PINNED[n]) if n < len(_PINNED) else self.random_plan(rng)
        run = _CaseRun(self, case_id, plan, rng)
        with contextlib.suppress(_Stop):
            run.run()
        run.rule_if_due()


class _CaseRun:
    """One case's timeline: each step a little after the previous, never after now."""

    def __init__(self, loader: _Loader, case_id: UUID, plan: _Plan, rng: random.Random) -> None:
        self.loader = loader
        self.ledger = loader.ledger
        self.rng = rng
        self.caller = loader.importer
        self.id = case_id
        self.plan = plan
        self.t = loader.when(rng, plan.age_days)
        self.township = self.rng.choice(loader.townships)
        self.village = self.rng.choice(loader.villages[self.township])
        self.grid = self.rng.choice(loader.grids[self.village])
        self.tcode = self.township.split("/")[1]
        self.vcode = self.village.split("/")[2]
        self.township_name = loader.place_name(self.township)
        lo, hi = _AMOUNTS.get(plan.category, (0, 0))
        self.amount = self.rng.randrange(lo, hi + 1) // 100 * 100 if hi else 0
        self.parties: list[Party] = []
        self.unit = ""
        self.accepted_at = self.t
        self.agreed_at: datetime | None = None
        self.agreement_amount = 0
        self.confirmation_id = ""
        self.applied_at: datetime | None = None
        self.performance_due: date | None = None

    # -------------------------------------------------------------- timing

    def after(self, hours: float) -> datetime:
        when = self.office_hours(self.t + timedelta(hours=max(hours, 0.05)))
        if when > self.loader.now:
            raise _Stop
        self.t = when
        return when

    def office_hours(self, when: datetime) -> datetime:
        """Steps done at night are moved to the next morning."""
        local = when.astimezone(CHINA_TZ)
        if OFFICE_OPENS <= local.hour < OFFICE_CLOSES:
            return local
        day = local.date() + (_DAY if local.hour >= OFFICE_CLOSES else timedelta(0))
        morning = datetime(day.year, day.month, day.day, OFFICE_OPENS, tzinfo=CHINA_TZ)
        return morning + timedelta(minutes=self.rng.uniform(0, 90))

    def hours(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi)

    def late_or_prompt(self, late: bool) -> float:
        """Hours to a 1-working-day step: usually within the day, otherwise 2–4 days."""
        return self.hours(48, 100) if late else self.hours(0.3, 6)

    # -------------------------------------------------------------- the course

    def run(self) -> None:
        plan = self.plan
        self.register()
        if plan.regrade:
            self.regrade()
        if plan.stop == Status.REGISTERED:
            raise _Stop
        self.dispatch()
        if plan.stop == Status.DISPATCHED:
            raise _Stop
        self.accept()
        if plan.stop == Status.ACCEPTED:
            raise _Stop
        if plan.correct:
            self.correct()
        self.handle(round_=1)
        self.after_conclusion()

    def register(self) -> None:
        plan, rng = self.plan, self.rng
        village = self.village
        applicant = self.loader.person(rng, "p1", "applicant", village)
        organisations = _ORGANISATIONS.get(plan.category, ())
        if organisations and rng.random() < 0.8:
            respondent = self.loader.organisation_party(rng, "p2", rng.choice(organisations))
        else:
            respondent = self.loader.person(rng, "p2", "respondent", village)
        self.parties = [applicant, respondent]
        if plan.category == "marriage_family" and rng.random() < 0.3:
            self.parties.append(self.loader.person(rng, "p3", "third_party", village))
        summary = rng.choice(_SUMMARIES[plan.category]).format(
            a=applicant.name,
            b=respondent.name,
            n=rng.randrange(3, 16),
            months=rng.randrange(2, 8),
            amount=self.amount,
        )
        external_ref = ""
        if plan.channel == "hotline_12345":
            external_ref = f"12345-{self.t:%Y%m%d}{rng.randrange(10000):04d}"
        elif plan.channel == "court_referral":
            external_ref = f"({self.t.year}){COURT_CODE}民诉前调{rng.randrange(1, 900)}号"
        elif plan.channel == "petition_referral":
            external_ref = f"清信转〔{self.t.year}〕{rng.randrange(1, 300)}号"
        self.ledger.register_case(
            self.caller,
            case_id=self.id,
            channel=plan.channel,
            category="other" if plan.correct else plan.category,
            summary=summary,
            jurisdiction=self.grid,
            parties=self.parties,
            risk_color=plan.risk,
            difficulty=plan.difficulty,
            external_ref=external_ref,
            occurred_at=self.t,
        )

    def regrade(self) -> None:
        plan = self.plan
        risk = {"green": "yellow", "yellow": "red", "red": "red"}[plan.risk]
        self.ledger.grade(
            self.id,
            self.caller,
            risk_color=risk,
            difficulty=plan.difficulty,
            reason="研判认为当事人情绪激动，有激化风险，提升风险等级",
            occurred_at=self.after(self.hours(0.2, 3)),
        )
        self.plan = replace(plan, risk=risk)

    def target_unit(self) -> str:
        plan = self.plan
        if plan.mode == "mediator":
            if plan.category == "traffic":
                return "qingxi-traffic-mc"
            if plan.category == "environment":
                return "qingxi-env-mc"
            return f"{self.tcode}-pmc"
        if plan.mode == "department":
            return _DEPARTMENTS.get(plan.category, f"{self.tcode}-{self.vcode}")
        return f"{self.tcode}-{self.vcode}"

    def dispatch(self) -> None:
        plan = self.plan
        target = self.target_unit()
        if plan.returned:
            wrong = self.rng.choice([u for u in ("qingxi-housing", "qingxi-natres", "qingxi-market") if u != target])
            self.ledger.dispatch(
                self.id,
                self.caller,
                unit=wrong,
                note="请依职责办理",
                occurred_at=self.after(self.late_or_prompt(False)),
            )
            self.ledger.return_case(
                self.id,
                self.caller,
                reason="经核实不属于本单位职责范围，退回重新派单",
                occurred_at=self.after(self.hours(2, 20)),
            )
        note = "红色风险，已同步报县综治中心" if plan.risk == "red" else ""
        self.ledger.dispatch(
            self.id,
            self.caller,
            unit=target,
            note=note,
            occurred_at=self.after(self.late_or_prompt(plan.late_dispatch)),
        )
        self.unit = target

    def accept(self) -> None:
        hours = self.hours(48, 96) if self.plan.late_accept else self.hours(0.5, 20)
        self.ledger.accept(self.id, self.caller, occurred_at=self.after(hours))
        self.accepted_at = self.t

    def correct(self) -> None:
        self.ledger.correct(
            self.id,
            self.caller,
            position=1,
            corrected={"category": self.plan.category},
            reason="纠纷类别登记错误，经核实更正",
            occurred_at=self.after(self.hours(0.5, 4)),
        )

    def assign(self) -> None:
        plan = self.plan
        hours = self.hours(40, 84) if plan.late_assign else self.hours(0.2, 6)
        if plan.mode == "mediator":
            when = self.t + timedelta(hours=hours)
            mediator = self.loader.pick_mediator(self.rng, self.unit, when)
            if plan.choose:
                self.ledger.choose_mediator(
                    self.id,
                    self.caller,
                    mediator_id=mediator.mediator_id,
                    method=self.rng.choice(("written", "on_site", "online")),
                    chosen_by=[p.party_id for p in self.parties],
                    occurred_at=self.after(hours / 2),
                )
                hours /= 2
            self.ledger.assign(
                self.id,
                self.caller,
                handler_kind="mediator",
                mediator_id=mediator.mediator_id,
                occurred_at=self.after(hours),
            )
            mediator.cases.append((self.id, self.t))
        elif plan.mode == "department":
            name = self.loader.person_name(self.rng)[0]
            self.ledger.assign(
                self.id,
                self.caller,
                handler_kind="unit",
                handler_id=f"{self.unit}-staff-{self.rng.randrange(1, 6)}",
                handler_name=name,
                occurred_at=self.after(hours),
            )
        else:
            worker_id, worker_name = self.loader.grid_workers[self.grid]
            self.ledger.assign(
                self.id,
                self.caller,
                handler_kind="grid_worker",
                handler_id=worker_id,
                handler_name=worker_name,
                occurred_at=self.after(hours),
            )

    # -------------------------------------------------------------- 做单

    def resolve_by(self) -> datetime:
        plan = self.plan
        span = _RESOLVE_SPAN[plan.difficulty]
        if plan.channel == "hotline_12345" and plan.difficulty == "simple":
            span = _RESOLVE_SPAN["ordinary"]
        days = span + self.hours(1.5, 8) if plan.late_resolve else span * self.hours(0.35, 0.9)
        return max(self.accepted_at + timedelta(days=days), self.t + timedelta(hours=6))

    def handle(self, round_: int) -> None:
        plan = self.plan
        steps: list[_Step] = []
        if round_ == 1:
            self.assign()
            target = self.resolve_by()
            if plan.transferred:
                steps.append((None, self.progress))
                steps.append((None, self.transfer))
                steps.append((self.hours(2, 20), lambda at: self.ledger.accept(self.id, self.caller, occurred_at=at)))
                steps.append((self.hours(0.5, 6), self.assign_after_transfer))
            if plan.escalate:
                steps.append((None, self.escalate))
            if plan.mode == "mediator" or plan.transferred:
                steps.extend(self.mediation_steps())
            else:
                steps.extend((None, self.progress) for _ in range(self.rng.randrange(1, 4)))
            if plan.extend:
                steps.insert(max(len(steps) - 1, 0), (None, self.extend))
        else:
            target = self.t + timedelta(days=self.hours(2, 6))
            steps.append((self.hours(12, 48), self.progress))
            if self.agreed_at is not None:
                steps.append((self.hours(12, 48), self.session))
        if plan.stop == Status.HANDLING:
            steps = steps[: self.rng.randrange(0, len(steps) + 1)]
        self.run_steps(steps, target)
        if plan.stop == Status.HANDLING:
            raise _Stop
        self.conclude(target)

    def run_steps(self, steps: list[_Step], target: datetime) -> None:
        fixed = sum(delay for delay, _ in steps if delay is not None)
        spread = sum(1 for delay, _ in steps if delay is None)
        room = (target - self.t) / _HOUR - fixed
        each = max(room / (spread + 1), 1.0)
        for delay, step in steps:
            hours = delay if delay is not None else each * self.hours(0.6, 1.3)
            step(self.after(hours))

    def progress(self, at: datetime) -> None:
        self.ledger.record_progress(self.id, self.caller, note=self.rng.choice(_PROGRESS), occurred_at=at)

    def transfer(self, at: datetime) -> None:
        to_unit = f"{self.tcode}-pmc"
        self.ledger.transfer(
            self.id, self.caller, to_unit=to_unit, reason="村级调处未果，转镇人民调解委员会调解", occurred_at=at
        )
        self.unit = to_unit
        self.plan = replace(self.plan, mode="mediator")

    def assign_after_transfer(self, at: datetime) -> None:
        mediator = self.loader.pick_mediator(self.rng, self.unit, at)
        self.ledger.assign(
            self.id, self.caller, handler_kind="mediator", mediator_id=mediator.mediator_id, occurred_at=at
        )
        mediator.cases.append((self.id, at))

    def escalate(self, at: datetime) -> None:
        plan = self.plan
        if plan.risk == "red":
            kind = "joint_meeting"
        elif plan.mode == "mediator":
            kind = "mediation_committee"
        else:
            kind = "whistle"
        self.ledger.escalate(
            self.id,
            self.caller,
            kind=kind,
            to=_ESCALATION_TO[kind].format(township=self.township_name),
            reason="纠纷涉及多个部门职责，当事人情绪激烈，需协调会商",
            occurred_at=at,
        )

    def extend(self, at: datetime) -> None:
        self.ledger.extend_deadline(
            self.id,
            self.caller,
            extra_days=self.rng.randrange(5, 16),
            reason="需等待技术鉴定结论和相关部门核查，经镇综治中心批准延长办理期限",
            occurred_at=at,
        )

    def party_ids(self) -> list[str]:
        return [p.party_id for p in self.parties]

    def mediation_steps(self) -> list[_Step]:
        plan = self.plan
        steps: list[_Step] = [(None, self.notify_rights)]
        if plan.appraisal:
            steps.append((None, self.request_appraisal))
        steps.append((None, self.session))
        if plan.appraisal:
            steps.append((None, self.complete_appraisal))
        if plan.undisputed:
            steps.append((None, self.record_undisputed_facts))
        if self.rng.random() < 0.5:
            steps.append((None, self.session))
        if plan.proposal:
            steps.append((None, self.issue_proposal))
            for n, party_id in enumerate(self.party_ids()):
                objects = plan.objection and n == len(self.parties) - 1
                steps.append((self.hours(4, 72), partial(self.respond_to_proposal, party_id, objects)))
        steps.append((None, self.fail if plan.failure else self.agree))
        return steps

    def notify_rights(self, at: datetime) -> None:
        self.ledger.notify_rights(
            self.id,
            self.caller,
            party_ids=self.party_ids(),
            notes="已书面告知当事人人民调解的性质、原则和效力及其权利义务",
            occurred_at=at,
        )

    def request_appraisal(self, at: datetime) -> None:
        medical = self.plan.category in ("traffic", "medical")
        self.ledger.request_appraisal(
            self.id,
            self.caller,
            appraisal_id="a1",
            matter="伤残等级及损失鉴定" if medical else "财产损失价值评估",
            institution="湘南司法鉴定中心" if medical else "清溪县价格认证中心",
            occurred_at=at,
        )

    def complete_appraisal(self, at: datetime) -> None:
        self.ledger.complete_appraisal(
            self.id, self.caller, appraisal_id="a1", conclusion="鉴定意见已出具，双方均无异议", occurred_at=at
        )

    def record_undisputed_facts(self, at: datetime) -> None:
        self.ledger.record_undisputed_facts(
            self.id,
            self.caller,
            facts="双方对纠纷发生的时间、经过及损失金额均无异议",
            consenting_party_ids=self.party_ids(),
            occurred_at=at,
        )

    def issue_proposal(self, at: datetime) -> None:
        self.ledger.issue_proposal(
            self.id, self.caller, proposal_id="pr1", terms=self.agreement_terms(), occurred_at=at
        )

    def respond_to_proposal(self, party_id: str, objects: bool, at: datetime) -> None:
        self.ledger.respond_to_proposal(
            self.id,
            self.caller,
            proposal_id="pr1",
            party_id=party_id,
            response="objected" if objects else "accepted",
            reason="对赔偿金额有异议" if objects else "",
            occurred_at=at,
        )

    def session(self, at: datetime) -> None:
        self.ledger.hold_session(
            self.id,
            self.caller,
            on_site=self.rng.random() < 0.7,
            attendees=[p.name for p in self.parties],
            notes=self.rng.choice(_SESSION_NOTES),
            occurred_at=at,
        )

    def agreement_terms(self) -> str:
        a, b = self.parties[0].name, self.parties[1].name
        if self.amount:
            self.agreement_amount = self.amount * self.rng.randrange(6, 11) // 10 // 100 * 100 or self.amount
            return f"{b}于约定期限内向{a}支付{self.agreement_amount}元，双方就此纠纷再无其他争议"
        return f"{a}与{b}互谅互让，按村规民约和现场勘定的界线处理，双方今后和睦相处"

    def agree(self, at: datetime) -> None:
        terms = self.agreement_terms()
        amount = f"{self.agreement_amount}.00" if self.amount else "0"
        due = (at + timedelta(days=self.rng.randrange(10, 40))).date()
        self.ledger.reach_agreement(
            self.id,
            self.caller,
            terms=terms,
            amount=amount,
            debtor_party_id="p2" if self.amount else "",
            creditor_party_id="p1" if self.amount else "",
            performance_due=due.isoformat() if self.amount else "",
            effective_on=at.isoformat(),
            occurred_at=at,
        )
        self.agreed_at = at
        self.performance_due = due

    def fail(self, at: datetime) -> None:
        plan = self.plan
        advice = {"labour_wage": ["arbitration"], "land": ["administrative", "litigation"]}.get(
            plan.category, ["litigation"]
        )
        self.ledger.fail_mediation(
            self.id,
            self.caller,
            advice=advice,
            filed_with=COUNTY_CENTER_UNIT,
            note="双方分歧较大，经多次调解未能达成协议，已告知当事人依法通过其他途径解决",
            occurred_at=at,
        )

    # -------------------------------------------------------------- 办结 评单 考单

    def conclude(self, target: datetime) -> None:
        hours = max((target - self.t) / _HOUR, 0.5) if target > self.t else self.hours(0.5, 6)
        when = self.after(hours)
        if self.plan.failure and self.plan.mode == "mediator" and self.agreed_at is None:
            referral = {
                "labour_wage": "县劳动人事争议仲裁委员会",
                "land": "县自然资源局",
            }.get(self.plan.category, "清溪县人民法院")
            self.ledger.conclude(
                self.id, self.caller, outcome="unresolved_referred", referred_to=referral, occurred_at=when
            )
            return
        outcome = "partially_resolved" if self.rng.random() < 0.1 else "resolved"
        self.ledger.conclude(self.id, self.caller, outcome=outcome, note="矛盾纠纷已化解，报请复核", occurred_at=when)

    def rate(self, round_: int) -> bool:
        """Collect the parties' ratings; whether anyone was dissatisfied."""
        unhappy = False
        for n, party in enumerate(self.parties):
            if n > 0 and self.rng.random() < 0.2:
                continue  # not reached
            if round_ == 1 and self.plan.dissatisfied and n == 0:
                satisfaction = "dissatisfied"
            elif round_ > 1:
                satisfaction = self.rng.choices(("satisfied", "neutral"), weights=(80, 20))[0]
            else:
                satisfaction = self.rng.choices(("satisfied", "neutral", "dissatisfied"), weights=(78, 18, 4))[0]
            unhappy = unhappy or satisfaction == "dissatisfied"
            self.ledger.rate(
                self.id,
                self.caller,
                party_id=party.party_id,
                satisfaction=satisfaction,
                method=self.rng.choices(("phone", "visit", "online"), weights=(60, 30, 10))[0],
                comment=self.rng.choice(_RATING_COMMENTS[satisfaction]),
                occurred_at=self.after(self.hours(6, 72) if n == 0 else self.hours(0.2, 8)),
            )
        return unhappy

    def review(self, result: str = "verified") -> None:
        note = "经复核，办理规范，当事人无异议，予以销项"
        if result != "verified":
            note = "办理记录不完整，未附当事人签字确认材料，责令补充完善后重新办结"
        self.ledger.complete_review(
            self.id, self.caller, result=result, note=note, occurred_at=self.after(self.hours(24, 120))
        )

    def after_conclusion(self) -> None:
        plan = self.plan
        if self.agreed_at is not None and plan.confirmation:
            self.apply_for_confirmation()
        unhappy = self.rate(1)
        if plan.stop == Status.CONCLUDED:
            raise _Stop
        if unhappy and plan.reopen:
            self.ledger.reopen(
                self.id,
                self.caller,
                reason="当事人回访不满意，重新办理",
                occurred_at=self.after(self.hours(4, 48)),
            )
            self.handle(round_=2)
            self.rate(2)
        elif plan.rectify:
            self.review("rectification")
            self.handle(round_=2)
            self.rate(2)
        self.review()
        if plan.follow_up:
            self.ledger.follow_up(
                self.id,
                self.caller,
                method=self.rng.choice(("phone", "visit")),
                note="回访当事人，纠纷未反弹，关系和睦",
                occurred_at=self.after(self.hours(48, 240)),
            )
        if self.agreed_at is not None and self.agreement_amount:
            self.perform()

    def perform(self) -> None:
        plan = self.plan
        assert self.performance_due is not None
        due = datetime(self.performance_due.year, self.performance_due.month, self.performance_due.day, tzinfo=CHINA_TZ)
        hours = max((due - self.t) / _HOUR, 0) + self.hours(24, 120)
        notes = {
            "performed": "已按协议足额履行",
            "partly": "已履行部分款项，余款承诺延期支付",
            "not_performed": "履行期限届满，义务人未履行",
        }
        self.ledger.record_performance(
            self.id,
            self.caller,
            performance=plan.performance,
            note=notes[plan.performance],
            occurred_at=self.after(hours),
        )
        if plan.payment_order and plan.performance != "performed":
            self.ledger.apply_for_payment_order(
                self.id,
                self.caller,
                court=COURT_UNIT,
                creditor_party_id="p1",
                occurred_at=self.after(self.hours(24, 240)),
            )

    def apply_for_confirmation(self) -> None:
        assert self.agreed_at is not None
        when = self.office_hours(self.t + timedelta(hours=self.hours(12, 96)))
        too_old = self.loader.now - when > CONFIRMATION_WINDOW
        if too_old or when > self.loader.now or when > self.agreed_at + timedelta(days=28):
            return  # the parties did not apply (or not yet)
        result = self.ledger.apply_for_confirmation(
            self.id, self.caller, court=COURT_UNIT, applicant_party_ids=self.party_ids(), occurred_at=when
        )
        self.t = when
        self.confirmation_id = str(result.extra["confirmation_id"])
        self.applied_at = when

    def rule_if_due(self) -> None:
        """The court rules, as itself and now, on applications at least two days old."""
        ruling = self.plan.confirmation
        if not self.confirmation_id or ruling not in ("confirmed", "rejected") or self.applied_at is None:
            return
        if self.loader.now - self.applied_at < timedelta(days=2):
            return
        self.loader.rulings += 1
        self.ledger.rule_on_confirmation(
            self.confirmation_id,
            self.loader.court,
            ruling=ruling,
            ruling_number=f"({self.loader.now.year}){COURT_CODE}民特{self.loader.rulings:03d}号",
            note="调解协议合法有效，予以确认" if ruling == "confirmed" else "协议内容涉及案外人权益，不予确认",
        )


# ---------------------------------------------------------------------- entry point


def _exists(ledger: CaseLedger, case_id: UUID) -> bool:
    try:
        ledger.get_case(case_id)
    except CaseNotFoundError:
        return False
    return True


def load_demo(ledger: CaseLedger, *, cases: int = 300, seed: int = 2026) -> dict[str, int | str]:
    """Load the demo county through the ledger's commands; do nothing if this seed is loaded."""
    started = time.perf_counter()
    if DEMO_COUNTY not in ledger.organisation.nodes:
        raise ValueError(
            f"the demo loads into the bundled demo county '{DEMO_COUNTY}' (清溪县); unset CASELEDGER_ORG_FILE"
        )
    case_ids = demo_case_ids(seed, cases)
    if not case_ids:
        return {"status": "nothing to load", "seed": seed, "cases": 0}
    if _exists(ledger, case_ids[0]):
        return {"status": "already loaded", "seed": seed, "first case": str(case_ids[0])}
    before = ledger.recorder.max_notification_id() or 0
    rng = random.Random(seed)
    for _ in case_ids:
        rng.getrandbits(128)  # the ids were the first draws
    # Each case draws from its own generator, so how far one case got by now cannot change the next one's story.
    case_seeds = [rng.getrandbits(64) for _ in case_ids]
    loader = _Loader(ledger, rng)
    loader.load_mediators()
    for n, (case_id, case_seed) in enumerate(zip(case_ids, case_seeds, strict=True)):
        loader.load_case(case_id, n, random.Random(case_seed))
    loader.load_complaints()
    return summarise(ledger, case_ids, loader, seed, before, time.perf_counter() - started)


def summarise(
    ledger: CaseLedger, case_ids: list[UUID], loader: _Loader, seed: int, before: int, seconds: float
) -> dict[str, int | str]:
    calendar = ledger.calendar()
    now = ledger.clock()
    statuses = dict.fromkeys(Status.LABELS, 0)
    met = missed = overdue = 0
    for case_id in case_ids:
        case: Case = ledger.get_case(case_id)
        statuses[case.status] += 1
        deadlines = case_deadlines(case, calendar, now)
        met += sum(d.status == "met" for d in deadlines)
        missed += sum(d.status == "missed" for d in deadlines)
        overdue += is_overdue(deadlines)
    after = ledger.recorder.max_notification_id() or 0
    summary: dict[str, int | str] = {
        "status": "loaded",
        "seed": seed,
        "cases": len(case_ids),
        "events": after - before,
        "mediators": len(loader.mediators),
        "qualified mediators": sum(ledger.get_mediator(UUID(m.mediator_id)).qualified for m in loader.mediators),
    }
    for code, count in statuses.items():
        summary[f"{code} {Status.LABELS[code]}"] = count
    summary["deadlines met"] = met
    summary["deadlines missed"] = missed
    summary["overdue cases"] = overdue
    summary["court rulings"] = loader.rulings
    summary["seconds"] = f"{seconds:.1f}"
    return summary
