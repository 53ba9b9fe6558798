"""一事一考评: the score of one concluded case, and why (SPEC §5).

``evaluate`` is a pure function of a case's state, the working-day calendar and a
:class:`ScoringPolicy`: it reads nothing else and changes nothing, so a projection can
rebuild every score from zero and anyone can re-score a case "what if" under another
policy. Every point of a score is explained by a :class:`Contribution` that names the
case versions of the events behind it; a projection maps those versions to ledger
positions so an auditor can open each event.

Policies are data (a policy is adopted by an event), so :func:`policy_to_dict` and
:func:`policy_from_dict` turn one into JSON-safe values and back, refusing anything that
would give a score outside 0–100 or an ambiguous grade.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

from domain.calendar import WorkCalendar
from domain.case import Case, Status
from domain.case_deadlines import CaseDeadline, case_deadlines, status_at
from domain.deadlines import working_days_late
from domain.errors import InvalidCommand
from domain.values import Outcome, Performance, Satisfaction

SATISFACTION: Final = "satisfaction"
TIMELINESS: Final = "timeliness"
EFFECT: Final = "effect"

# The steps whose lateness SPEC §5 penalises; optional windows (judicial confirmation,
# proposal objection) belong to the parties, so letting them pass is no fault of the office.
SCORABLE_STEPS: Final = ("dispatch", "accept", "assign", "resolve")

# T starts from full marks and only loses points (SPEC §5), whatever the policy.
FULL_MARKS: Final = 100

_TENTH: Final = Decimal("0.1")
_HUNDREDTH: Final = Decimal("0.01")
_ZERO: Final = Decimal(0)

_RATING_LABELS: Final = {
    Satisfaction.SATISFIED: "当事人满意",
    Satisfaction.NEUTRAL: "当事人评价一般",
    Satisfaction.DISSATISFIED: "当事人不满意",
}
_LATE_STEP_LABELS: Final = {
    "dispatch": "派单超时",
    "accept": "接单超时",
    "assign": "指派超时",
    "resolve": "办理超时",
}
_REOPEN_LABELS: Final = {
    "dissatisfied": "因当事人不满意重新办理",
    "rectification": "因督促整改重新办理",
}
_FLOOR_LABEL: Final = "扣分以零分为限"


def _v1_satisfaction_points() -> Mapping[str, int]:
    return MappingProxyType(
        {Satisfaction.SATISFIED.value: 100, Satisfaction.NEUTRAL.value: 60, Satisfaction.DISSATISFIED.value: 0}
    )


@dataclass(frozen=True)
class ScoringPolicy:
    """The numbers of one versioned scoring policy; the defaults are SPEC §5's ``v1``.

    Weights are :class:`~decimal.Decimal` so that 0.4 + 0.3 + 0.3 is exactly 1 and a
    score never drifts by a binary rounding error. Points and penalties are whole numbers
    on a 0–100 scale. ``grades`` are ``(threshold, label, code)`` from the highest
    threshold down; a score below all of them gets ``fail_grade``.
    Construction validates everything and raises :class:`~domain.errors.InvalidCommand`.
    """

    name: str
    satisfaction: Decimal = Decimal("0.4")
    timeliness: Decimal = Decimal("0.3")
    effect: Decimal = Decimal("0.3")
    # Left out of the hash because a mapping is unhashable; equality still compares it.
    satisfaction_points: Mapping[str, int] = field(default_factory=_v1_satisfaction_points, hash=False)
    unrated_points: int = 60
    late_step_penalty: int = 10
    late_day_penalty: int = 2
    scored_steps: tuple[str, ...] = SCORABLE_STEPS
    agreement_performed: int = 100
    agreement_pending: int = 80
    agreement_not_performed: int = 60
    resolved_without_agreement: int = 100
    partially_resolved: int = 60
    failed_referred_filed: int = 50
    unresolved_unreferred: int = 0
    reopen_penalty: int = 20
    grades: tuple[tuple[int, str, str], ...] = ((90, "优秀", "excellent"), (75, "良好", "good"), (60, "合格", "pass"))
    fail_grade: tuple[str, str] = ("不合格", "fail")

    def __post_init__(self) -> None:
        _validate(self)
        # A read-only copy, so a caller keeping the dict it passed cannot change the policy.
        object.__setattr__(self, "satisfaction_points", MappingProxyType(dict(self.satisfaction_points)))


_POINT_FIELDS: Final = (
    "unrated_points",
    "agreement_performed",
    "agreement_pending",
    "agreement_not_performed",
    "resolved_without_agreement",
    "partially_resolved",
    "failed_referred_filed",
    "unresolved_unreferred",
    "late_step_penalty",
    "late_day_penalty",
    "reopen_penalty",
)
_WEIGHT_FIELDS: Final = (SATISFACTION, TIMELINESS, EFFECT)
_POLICY_FIELDS: Final = tuple(f.name for f in fields(ScoringPolicy))


def _refuse(key: str, detail: str) -> InvalidCommand:
    return InvalidCommand(f"scoring policy {key}: {detail}", field=f"policy.{key}")


def _is_text(value: object, limit: int = 64) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _is_points(value: object) -> bool:
    # bool is an int subclass; True as "1 point" would be a typo, not a policy.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= FULL_MARKS


def _validate(policy: ScoringPolicy) -> None:
    """Refuse a policy whose score could leave 0–100 or whose grades are ambiguous."""
    if not _is_text(policy.name):
        raise _refuse("name", "must be a non-empty string of at most 64 characters")
    for key in _WEIGHT_FIELDS:
        weight = getattr(policy, key)
        if not isinstance(weight, Decimal) or not weight.is_finite() or not _ZERO <= weight <= 1:
            raise _refuse(key, "a weight must be a decimal between 0 and 1")
    if policy.satisfaction + policy.timeliness + policy.effect != 1:
        raise _refuse("satisfaction", "the weights of satisfaction, timeliness and effect must add up to 1")
    for key in _POINT_FIELDS:
        if not _is_points(getattr(policy, key)):
            raise _refuse(key, f"must be a whole number from 0 to {FULL_MARKS}")
    points = policy.satisfaction_points
    expected = {s.value for s in Satisfaction}
    if not isinstance(points, Mapping) or set(points) != expected:
        raise _refuse("satisfaction_points", f"must give points for exactly: {', '.join(sorted(expected))}")
    if not all(_is_points(value) for value in points.values()):
        raise _refuse("satisfaction_points", f"points must be whole numbers from 0 to {FULL_MARKS}")
    steps = policy.scored_steps
    if (
        not isinstance(steps, tuple)
        or not all(isinstance(step, str) and step in SCORABLE_STEPS for step in steps)
        or len(set(steps)) != len(steps)
    ):
        raise _refuse("scored_steps", f"must name distinct steps among: {', '.join(SCORABLE_STEPS)}")
    _validate_grades(policy)


def _validate_grades(policy: ScoringPolicy) -> None:
    fail = policy.fail_grade
    if not (isinstance(fail, tuple) and len(fail) == 2 and all(_is_text(part) for part in fail)):
        raise _refuse("fail_grade", "must be a (label, code) pair of non-empty strings")
    if not isinstance(policy.grades, tuple):
        raise _refuse("grades", "must be a sequence of (threshold, label, code)")
    codes = [fail[1]]
    previous = FULL_MARKS + 1
    for grade in policy.grades:
        if not (
            isinstance(grade, tuple)
            and len(grade) == 3
            and _is_points(grade[0])
            and _is_text(grade[1])
            and _is_text(grade[2])
        ):
            raise _refuse("grades", f"each grade must be (threshold 0–{FULL_MARKS}, label, code), got {grade!r}")
        # Strictly descending, so exactly one grade applies to every score.
        if grade[0] >= previous:
            raise _refuse("grades", "thresholds must go strictly down from the best grade")
        previous = grade[0]
        codes.append(grade[2])
    if len(set(codes)) != len(codes):
        raise _refuse("grades", "grade codes must be distinct")


POLICY_V1: Final = ScoringPolicy(name="v1")
"""SPEC §5's default policy."""


def policy_to_dict(policy: ScoringPolicy) -> dict[str, Any]:
    """The policy as JSON-safe data, to be stored in the event that adopts it.

    Weights are written as decimal strings ("0.4") so reading them back is exact.
    """
    return {
        "name": policy.name,
        **{key: str(getattr(policy, key)) for key in _WEIGHT_FIELDS},
        "satisfaction_points": dict(policy.satisfaction_points),
        **{key: getattr(policy, key) for key in _POINT_FIELDS},
        "scored_steps": list(policy.scored_steps),
        "grades": [[threshold, label, code] for threshold, label, code in policy.grades],
        "fail_grade": list(policy.fail_grade),
    }


def _weight(key: str, value: object) -> Decimal:
    # Accept what JSON gives (a number) as well as the exact string policy_to_dict writes;
    # str() first so 0.4 becomes Decimal("0.4"), not the binary float's long expansion.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _refuse(key, "a weight must be a decimal number or string")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise _refuse(key, f"{value!r} is not a decimal number") from None


def _sequence(key: str, value: object) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _refuse(key, "must be a list")
    return tuple(value)


def policy_from_dict(data: Mapping[str, Any]) -> ScoringPolicy:
    """Read a policy written by :func:`policy_to_dict` (or sent by an operator).

    ``name`` is required. Keys left out take the ``v1`` values, so a policy stored before
    a later field existed still loads with the meaning it had. Unknown keys and bad values
    are refused with :class:`~domain.errors.InvalidCommand` naming the key.
    """
    if not isinstance(data, Mapping):
        raise InvalidCommand("a scoring policy must be an object", field="policy")
    unknown = sorted(str(key) for key in data if key not in _POLICY_FIELDS)
    if unknown:
        raise _refuse(unknown[0], f"unknown keys {', '.join(unknown)}; known: {', '.join(_POLICY_FIELDS)}")
    if "name" not in data:
        raise _refuse("name", "is required")
    values: dict[str, Any] = dict(data)
    for key in _WEIGHT_FIELDS:
        if key in values:
            values[key] = _weight(key, values[key])
    if "satisfaction_points" in values and not isinstance(values["satisfaction_points"], Mapping):
        raise _refuse("satisfaction_points", "must be an object")
    if "scored_steps" in values:
        values["scored_steps"] = _sequence("scored_steps", values["scored_steps"])
    if "grades" in values:
        values["grades"] = tuple(_sequence("grades", grade) for grade in _sequence("grades", values["grades"]))
    if "fail_grade" in values:
        values["fail_grade"] = _sequence("fail_grade", values["fail_grade"])
    return ScoringPolicy(**values)


def grade_of(score: Decimal, policy: ScoringPolicy = POLICY_V1) -> tuple[str, str]:
    """The (Chinese label, code) of the first grade whose threshold ``score`` reaches."""
    for threshold, label, code in policy.grades:
        if score >= threshold:
            return label, code
    return policy.fail_grade


@dataclass(frozen=True)
class Contribution:
    """One reason for points in one component, and the case versions of its events.

    ``points`` is signed: a base value (a rating's points, the timeliness base, the
    outcome's points) or a penalty. Timeliness and effect contributions add up to their
    component; satisfaction contributions are the parties' ratings, whose mean is S.
    ``versions`` is empty for points no event caused (the timeliness base, an unrated
    case, the floor at zero).
    """

    component: str
    points: Decimal
    code: str
    label: str
    versions: tuple[int, ...]

    def as_dict(self, positions: Mapping[int, int] | None = None) -> dict[str, Any]:
        """JSON-safe data; with ``positions`` (case version → ledger position) also the positions."""
        data: dict[str, Any] = {
            "component": self.component,
            "points": float(self.points),
            "code": self.code,
            "label": self.label,
            "versions": list(self.versions),
        }
        if positions is not None:
            missing = [v for v in self.versions if v not in positions]
            if missing:
                # An explanation pointing nowhere would defeat its purpose; fail loudly.
                raise KeyError(f"no ledger position for case version(s) {missing}")
            data["positions"] = [positions[v] for v in self.versions]
        return data


@dataclass(frozen=True)
class Evaluation:
    """The score of one concluded case under one policy, with its explanation.

    ``score`` is rounded to one decimal (ROUND_HALF_UP); ``satisfaction`` is the mean
    rating rounded to two decimals, and the score is computed from the components as
    shown, so anyone can redo the sum from this record.
    """

    policy: str
    score: Decimal
    grade: str
    grade_code: str
    satisfaction: Decimal
    timeliness: Decimal
    effect: Decimal
    unrated: bool
    contributions: tuple[Contribution, ...]

    def as_dict(self, positions: Mapping[int, int] | None = None) -> dict[str, Any]:
        """JSON-safe data; ``positions`` maps case versions to ledger positions (see Contribution)."""
        return {
            "policy": self.policy,
            "score": float(self.score),
            "grade": self.grade,
            "grade_code": self.grade_code,
            "satisfaction": float(self.satisfaction),
            "timeliness": float(self.timeliness),
            "effect": float(self.effect),
            "unrated": self.unrated,
            "contributions": [c.as_dict(positions) for c in self.contributions],
        }


def evaluate(
    case: Case,
    calendar: WorkCalendar,
    policy: ScoringPolicy = POLICY_V1,
    *,
    deadlines: Sequence[CaseDeadline] | None = None,
) -> Evaluation | None:
    """Score a concluded case (SPEC §5); ``None`` unless it is concluded or closed now.

    A reopened case is not scored until it is concluded again. Deadlines are judged as
    of the latest conclusion, so a finished case's score never moves with the clock; it
    changes only with new events (a rating, a performance record, a correction).
    ``deadlines`` are the case's own under ``calendar`` as of any moment, if the caller
    has them already: only their standing depends on the moment, and it is judged here.
    """
    if case.status not in (Status.CONCLUDED, Status.CLOSED) or case.conclusion is None:
        return None
    satisfaction, unrated, rated = _satisfaction(case, policy)
    timeliness, timely = _timeliness(case, calendar, policy, deadlines)
    effect, effective = _effect(case, policy)
    exact = policy.satisfaction * satisfaction + policy.timeliness * timeliness + policy.effect * effect
    score = exact.quantize(_TENTH, rounding=ROUND_HALF_UP)
    grade, grade_code = grade_of(score, policy)
    return Evaluation(
        policy=policy.name,
        score=score,
        grade=grade,
        grade_code=grade_code,
        satisfaction=satisfaction,
        timeliness=timeliness,
        effect=effect,
        unrated=unrated,
        contributions=(*rated, *timely, *effective),
    )


def _satisfaction(case: Case, policy: ScoringPolicy) -> tuple[Decimal, bool, list[Contribution]]:
    """S: the mean of each party's latest rating; no rating at all counts as neutral, flagged."""
    latest: dict[str, dict[str, Any]] = {}
    for rating in case.ratings:  # in version order, so a later round's rating replaces an earlier one
        latest[rating["party_id"]] = rating
    if not latest:
        points = Decimal(policy.unrated_points)
        return points, True, [Contribution(SATISFACTION, points, "unrated", "未评价（按一般计）", ())]
    parts = [
        Contribution(
            SATISFACTION,
            Decimal(policy.satisfaction_points[rating["satisfaction"]]),
            f"rating_{rating['satisfaction']}",
            _RATING_LABELS[Satisfaction(rating["satisfaction"])],
            (rating["version"],),
        )
        for rating in sorted(latest.values(), key=lambda r: int(r["version"]))
    ]
    # Two decimals: exact for two parties, and a figure people can redo the weighted sum from.
    mean = sum((part.points for part in parts), _ZERO) / len(parts)
    return mean.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP), False, parts


def _timeliness(
    case: Case, calendar: WorkCalendar, policy: ScoringPolicy, deadlines: Sequence[CaseDeadline] | None
) -> tuple[Decimal, list[Contribution]]:
    """T: full marks less each late step instance and each working day the resolution was late."""
    assert case.conclusion is not None
    concluded_at = case.times[case.conclusion["version"]]
    parts = [Contribution(TIMELINESS, Decimal(FULL_MARKS), "timeliness_base", "时效基础分", ())]
    for deadline in case_deadlines(case, calendar, now=concluded_at) if deadlines is None else deadlines:
        # "missed" covers both a step done after its deadline and one still undone when the
        # case was concluded; every instance counts (returns, transfers, reopenings).
        if deadline.kind not in policy.scored_steps:
            continue
        if status_at(deadline.kind, deadline.due_at, deadline.done_at, concluded_at) != "missed":
            continue
        done = deadline.done_position
        parts.append(
            Contribution(
                TIMELINESS,
                Decimal(-policy.late_step_penalty),
                f"late_step_{deadline.kind}",
                _LATE_STEP_LABELS[deadline.kind],
                (done if done is not None else deadline.started_position,),
            )
        )
        if deadline.kind == "resolve" and done is not None and deadline.done_at is not None:
            days = working_days_late(calendar, deadline.due_at, deadline.done_at)
            if days:
                parts.append(
                    Contribution(
                        TIMELINESS,
                        Decimal(-policy.late_day_penalty * days),
                        "resolution_late_days",
                        f"办理超期{days}个工作日",
                        (done,),
                    )
                )
    return _floored(TIMELINESS, parts)


def _effect(case: Case, policy: ScoringPolicy) -> tuple[Decimal, list[Contribution]]:
    """E: the outcome of the latest conclusion, less the reopening penalty."""
    parts = [_outcome(case, policy)]
    if case.reopenings:
        # One penalty however often it was reopened: SPEC §5 says "minus 20 if reopened".
        labels = dict.fromkeys(_REOPEN_LABELS.get(r["reason"], "重新办理") for r in case.reopenings)
        parts.append(
            Contribution(
                EFFECT,
                Decimal(-policy.reopen_penalty),
                "reopened",
                "；".join(labels),
                tuple(sorted(int(r["version"]) for r in case.reopenings)),
            )
        )
    return _floored(EFFECT, parts)


def _outcome(case: Case, policy: ScoringPolicy) -> Contribution:
    conclusion = case.conclusion
    assert conclusion is not None
    concluded: int = conclusion["version"]
    agreement = case.agreement
    failure = case.mediation_failure
    # The latest mediation result decides: an agreement superseded by a later failed
    # mediation (a later round) no longer describes how the case ended.
    if agreement is not None and (failure is None or failure["version"] < agreement["version"]):
        return _agreement(case, policy, agreement["version"], concluded)
    outcome = conclusion["outcome"]
    if outcome == Outcome.RESOLVED:
        return _part(policy.resolved_without_agreement, "resolved_without_agreement", "已化解", concluded)
    if outcome == Outcome.PARTIALLY_RESOLVED:
        return _part(policy.partially_resolved, "partially_resolved", "部分化解", concluded)
    if outcome == Outcome.UNRESOLVED_REFERRED and str(conclusion["referred_to"]).strip():
        if failure is not None and failure["advice"] and str(failure["filed_with"]).strip():
            return _part(
                policy.failed_referred_filed,
                "failed_referred_filed",
                "调解不成，已告知救济途径并备案移交",
                failure["version"],
                concluded,
            )
        # Referred without a mediation having failed is still a proper referral (SPEC §2
        # 办结 "unresolved-referred, with where it was referred"), so it earns the same.
        return _part(policy.failed_referred_filed, "unresolved_referred", "未化解，已移交处理", concluded)
    return _part(policy.unresolved_unreferred, "unresolved_unreferred", "未化解且未移交", concluded)


def _agreement(case: Case, policy: ScoringPolicy, agreed: int, concluded: int) -> Contribution:
    # Only a performance record made after this agreement speaks about it; one about an
    # earlier round's agreement would otherwise be carried over.
    recorded = max(
        (v for v, name in enumerate(case.event_names) if name == "PerformanceRecorded" and v > agreed), default=None
    )
    if recorded is None or case.performance is None:
        return _part(policy.agreement_pending, "agreement_pending", "达成调解协议，待履行", agreed, concluded)
    if case.performance == Performance.PERFORMED:
        return _part(
            policy.agreement_performed, "agreement_performed", "达成调解协议并已履行", agreed, concluded, recorded
        )
    if case.performance == Performance.PARTLY:
        return _part(
            policy.agreement_pending, "agreement_partly_performed", "调解协议部分履行", agreed, concluded, recorded
        )
    return _part(
        policy.agreement_not_performed, "agreement_not_performed", "调解协议未履行", agreed, concluded, recorded
    )


def _part(points: int, code: str, label: str, *versions: int) -> Contribution:
    return Contribution(EFFECT, Decimal(points), code, label, tuple(sorted(set(versions))))


def _floored(component: str, parts: list[Contribution]) -> tuple[Decimal, list[Contribution]]:
    """Sum the parts, adding an explicit contribution that lifts a negative total to 0.

    The lift is listed rather than applied silently so the contributions of a component
    always add up to the component an auditor sees.
    """
    total = sum((part.points for part in parts), _ZERO)
    if total < 0:
        parts.append(Contribution(component, -total, f"{component}_floor", _FLOOR_LABEL, ()))
        total = _ZERO
    return total, parts
