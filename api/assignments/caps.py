"""The project's caps and eligibility rules, checked against a ledger of existing assignments.

Pure: the service loads the ledger inside a transaction that holds the project's lock, so a
candidate checked here cannot be overtaken by a concurrent request. Every refusal names its rule
(the ``ProjectCaps`` field, or ``eligibility.*``), the limit and the count that hit it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.assignments.models import OPEN_STATES, AssignmentStatus
from api.projects.models import CapPeriod, ProjectCaps
from api.shoppers.models import ADULT_AGE, age_on

# Assignments in these states will not become visits, so they count against nothing.
_NOT_BOOKED = frozenset(
    {AssignmentStatus.declined, AssignmentStatus.expired, AssignmentStatus.cancelled}
)


@dataclass(frozen=True)
class Booking:
    """An assignment as far as the caps are concerned."""

    location_id: int
    visit_day: date
    status: AssignmentStatus
    shopper_id: int | None = None
    wave_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class ShopperFacts:
    id: int
    is_active: bool
    qualified: bool
    date_of_birth: date
    region: str
    languages: tuple[str, ...]
    gender: str | None
    rating: float | None
    approved_visits: int


@dataclass(frozen=True)
class Refusal:
    rule: str
    detail: str
    limit: Any = None
    current: Any = None

    def extra(self) -> dict[str, Any]:
        return {
            k: v for k, v in (("limit", self.limit), ("current", self.current)) if v is not None
        }


@dataclass
class PersonaTraits:
    """What the briefing's persona asks of the shopper who plays it."""

    age_min: int | None = None
    age_max: int | None = None
    gender: str | None = None
    languages: tuple[str, ...] = ()
    region: str | None = None


def period_key(caps: ProjectCaps, day: date, wave_id: int | None) -> tuple[Any, ...]:
    if caps.period == CapPeriod.wave and wave_id is not None:
        return ("wave", wave_id)
    if caps.period == CapPeriod.week:
        iso = day.isocalendar()
        return ("week", iso.year, iso.week)
    return ("month", day.year, day.month)


@dataclass
class CapLedger:
    caps: ProjectCaps
    open_by_shopper: Counter[int] = field(default_factory=Counter)
    by_shopper_day: Counter[tuple[int, date]] = field(default_factory=Counter)
    by_shopper_period: Counter[tuple[int, tuple[Any, ...]]] = field(default_factory=Counter)
    by_location_day: Counter[tuple[int, date]] = field(default_factory=Counter)
    shopper_location_days: defaultdict[tuple[int, int], list[date]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def of(cls, caps: ProjectCaps, bookings: Iterable[Booking]) -> CapLedger:
        ledger = cls(caps)
        for booking in bookings:
            ledger.add(booking)
        return ledger

    def add(self, booking: Booking) -> None:
        if booking.status in _NOT_BOOKED:
            return
        self.by_location_day[booking.location_id, booking.visit_day] += 1
        shopper = booking.shopper_id
        if shopper is None:
            return
        if booking.status in OPEN_STATES:
            self.open_by_shopper[shopper] += 1
        self.by_shopper_day[shopper, booking.visit_day] += 1
        self.by_shopper_period[
            shopper, period_key(self.caps, booking.visit_day, booking.wave_id)
        ] += 1
        self.shopper_location_days[shopper, booking.location_id].append(booking.visit_day)

    def check_location(self, *, location_id: int, visit_day: date) -> Refusal | None:
        """Rules about the location alone, for a new assignment with or without a shopper."""
        limit = self.caps.max_visits_per_location_per_day
        current = self.by_location_day[location_id, visit_day]
        if current >= limit:
            return Refusal(
                "max_visits_per_location_per_day",
                f"The location has {current} visit(s) on {visit_day}; the project allows {limit} a day.",
                limit,
                current,
            )
        return None

    def check_shopper(
        self,
        *,
        shopper: ShopperFacts,
        location_id: int,
        location_region: str,
        visit_day: date,
        wave_id: int | None,
        persona: PersonaTraits,
        self_claim: bool,
        today: date,
    ) -> Refusal | None:
        """Eligibility first (it does not depend on counts), then the counting caps."""
        return _eligibility(
            shopper, self.caps, location_region, persona, self_claim, today
        ) or self._counts(shopper.id, location_id, visit_day, wave_id)

    def _counts(
        self, shopper_id: int, location_id: int, visit_day: date, wave_id: int | None
    ) -> Refusal | None:
        caps = self.caps
        lockout = caps.location_lockout_days
        if lockout:
            for day in self.shopper_location_days.get((shopper_id, location_id), ()):
                gap = abs((visit_day - day).days)
                if gap < lockout:
                    return Refusal(
                        "location_lockout_days",
                        f"The shopper has a visit to this location on {day}; {lockout} days must lie "
                        "between two visits of one shopper to the same location.",
                        lockout,
                        gap,
                    )
        current = self.by_shopper_day[shopper_id, visit_day]
        if current >= caps.max_visits_per_shopper_per_day:
            return Refusal(
                "max_visits_per_shopper_per_day",
                f"The shopper has {current} visit(s) on {visit_day}; the project allows "
                f"{caps.max_visits_per_shopper_per_day} a day.",
                caps.max_visits_per_shopper_per_day,
                current,
            )
        key = period_key(caps, visit_day, wave_id)
        current = self.by_shopper_period[shopper_id, key]
        if current >= caps.max_visits_per_shopper_per_period:
            return Refusal(
                "max_visits_per_shopper_per_period",
                f"The shopper has {current} visit(s) in this {key[0]}; the project allows "
                f"{caps.max_visits_per_shopper_per_period}.",
                caps.max_visits_per_shopper_per_period,
                current,
            )
        current = self.open_by_shopper[shopper_id]
        if current >= caps.max_open_per_shopper:
            return Refusal(
                "max_open_per_shopper",
                f"The shopper has {current} open assignment(s); the project allows "
                f"{caps.max_open_per_shopper} at once.",
                caps.max_open_per_shopper,
                current,
            )
        return None


def _eligibility(
    shopper: ShopperFacts,
    caps: ProjectCaps,
    location_region: str,
    persona: PersonaTraits,
    self_claim: bool,
    today: date,
) -> Refusal | None:
    if not shopper.is_active:
        return Refusal("eligibility.active", "The shopper's account is disabled.")
    if not shopper.qualified:
        return Refusal(
            "eligibility.qualified", "The shopper has not passed the qualification test."
        )
    age = age_on(shopper.date_of_birth, today)
    if age < ADULT_AGE:
        return Refusal("eligibility.age", f"Shoppers must be {ADULT_AGE} or older.", ADULT_AGE, age)
    if caps.require_region_match and location_region and shopper.region != location_region:
        return Refusal(
            "eligibility.region",
            f"The location is in region {location_region!r}, the shopper in {shopper.region or 'none'!r}.",
        )
    if persona.region and shopper.region != persona.region:
        return Refusal(
            "eligibility.persona", f"The briefing's persona lives in region {persona.region!r}."
        )
    if persona.age_min is not None and age < persona.age_min:
        return Refusal(
            "eligibility.persona",
            f"The briefing's persona is {persona.age_min} or older.",
            persona.age_min,
            age,
        )
    if persona.age_max is not None and age > persona.age_max:
        return Refusal(
            "eligibility.persona",
            f"The briefing's persona is {persona.age_max} or younger.",
            persona.age_max,
            age,
        )
    if persona.gender and (shopper.gender or "").lower() != persona.gender.lower():
        return Refusal("eligibility.persona", f"The briefing's persona is {persona.gender}.")
    missing = [lang for lang in persona.languages if lang not in shopper.languages]
    if missing:
        return Refusal(
            "eligibility.persona", f"The briefing's persona speaks {', '.join(missing)}."
        )
    if self_claim:
        if (
            caps.min_rating_to_claim is not None
            and (shopper.rating or 0) < caps.min_rating_to_claim
        ):
            return Refusal(
                "min_rating_to_claim",
                f"Claiming from the job board needs a rating of {caps.min_rating_to_claim:g}.",
                caps.min_rating_to_claim,
                shopper.rating,
            )
        if shopper.approved_visits < caps.min_experience_to_claim:
            return Refusal(
                "min_experience_to_claim",
                f"Claiming from the job board needs {caps.min_experience_to_claim} approved visit(s).",
                caps.min_experience_to_claim,
                shopper.approved_visits,
            )
    return None
