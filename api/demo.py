"""The demo project that ``fieldwork serve --demo`` loads once.

Besides the project (locations, the published store journey, shoppers, open assignments) it writes
a fieldwork history from ``demo_data/history.yaml``: two past waves of approved visits, a rejected
one, visits waiting for review and one returned to the demo shopper. Every visit goes through the
services a real one goes through (assignment, acceptance, briefing quiz, check-in, step batch,
photos, submission with QC, the reviewer's decision that materialises the results), drawn from a
fixed seed with dates counted back from ``today``.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from PIL import Image, ImageDraw, ImageFilter
from sqlmodel import Session, col, select

from api.accounts.models import Role, User
from api.accounts.security import hash_password
from api.assignments.caps import Booking, CapLedger, PersonaTraits, ShopperFacts
from api.assignments.models import Assignment, AssignmentCreate, AssignmentStatus
from api.assignments.service import accept, create_assignments
from api.clients.models import Client
from api.config import get_settings
from api.journeys.service import load_version
from api.locations.models import Location, LocationKind
from api.locations.service import import_locations
from api.personas.models import Persona
from api.projects.models import CapPeriod, Project, ProjectCaps, ProjectMember, Wave, WaveCreate
from api.projects.service import create_wave
from api.qc.models import QcRun
from api.reviews.models import ReviewRequest
from api.reviews.service import review_visit
from api.shoppers.models import ShopperProfile, ShopperRegister
from api.shoppers.service import register, set_qualified, set_test
from api.visits.media import CleanImage, LocalMediaStore, MediaStore, clean_image
from api.visits.models import BatchOperation, Visit, VisitStart
from api.visits.service import (
    attempt_quiz,
    journey_of,
    parse_operations,
    run_batch,
    start_visit,
    store_media,
)
from briefings import (
    ImplicitProbe,
    JourneyDefinition,
    ProbeKind,
    Question,
    QuestionType,
    Step,
    load_quiz,
)

DEMO_CLIENT = "Demo Retail"
EXAMPLES = Path(__file__).resolve().parent.parent / "briefings" / "examples"
DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
LOCATIONS_CSV = DEMO_DATA / "locations.csv"
HISTORY = DEMO_DATA / "history.yaml"

# Demo accounts; the README lists them. Change or disable them before real use.
DEMO_LOGINS = {
    "admin": ("admin", "demo-admin-pass"),
    "manager": ("manager", "demo-manager-pass"),
    "shopper": ("shopper", "demo-shopper-pass"),
    "client": ("client", "demo-client-pass"),
}


def load_demo(
    session: Session, *, today: date | None = None, media: MediaStore | None = None
) -> bool:
    """Create the demo project and its history unless it exists; True when it was created now.

    Photos go to ``media`` (default: the media store under the settings' data directory).
    """
    if session.exec(select(Client).where(Client.name == DEMO_CLIENT)).first() is not None:
        return False
    today = today or date.today()
    client = Client(
        name=DEMO_CLIENT, contact_name="Demo contact", notes="Created by fieldwork serve --demo"
    )
    session.add(client)
    session.flush()

    def account(role: Role, full_name: str) -> User:
        username, password = DEMO_LOGINS[role.value]
        user = User(
            username=username,
            full_name=full_name,
            role=role,
            password_hash=hash_password(password),
            client_id=client.id if role == Role.client else None,
        )
        session.add(user)
        session.flush()
        return user

    account(Role.admin, "Demo Admin")
    manager = account(Role.manager, "Demo Manager")
    account(Role.client, "Demo Client Viewer")

    set_test(
        session,
        title="Mystery shopper qualification",
        quiz=load_quiz(
            (EXAMPLES / "qualification_test.yaml").read_text(), filename="qualification_test.yaml"
        ),
    )
    shopper, profile = register(
        session,
        data=ShopperRegister(
            username=DEMO_LOGINS["shopper"][0],
            password=DEMO_LOGINS["shopper"][1],
            full_name="Demo Shopper",
            date_of_birth=date(1990, 5, 17),
            region="Noord-Holland",
            languages=["nl", "en"],
            gender="female",
        ),
    )
    set_qualified(session, profile=profile, qualified=True, actor_id=manager.id, reason="demo")
    register(
        session,
        data=ShopperRegister(
            username="newcomer",
            password="demo-newcomer-pass",
            full_name="New Shopper (not yet qualified)",
            date_of_birth=date(2001, 2, 3),
            region="Utrecht",
            languages=["nl"],
        ),
    )

    story = _story()
    project = Project(
        client_id=client.id or 0,
        name="Store visits 2026",
        description="Five-phase store journey incl. a return at the counter.",
        # Caps per wave, and four weeks between two visits of one shopper to the same shop, so
        # a handful of demo shoppers can cover every shop in every wave.
        caps=ProjectCaps(
            max_open_per_shopper=5,
            max_visits_per_shopper_per_day=3,
            period=CapPeriod.wave,
            max_visits_per_shopper_per_period=12,
            location_lockout_days=28,
        ).model_dump(mode="json"),
        targets=story["targets"],
    )
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id or 0, user_id=manager.id or 0))
    wave = Wave(
        project_id=project.id or 0,
        name=story["current_wave"],
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=60),
    )
    session.add(wave)
    import_locations(session, project=project, content=LOCATIONS_CSV.read_bytes())
    store_source = (EXAMPLES / "store_visit.yaml").read_text()
    load_version(
        session,
        project=project,
        source=store_source,
        filename="store_visit.yaml",
        publish=True,
        actor=manager,
    )
    session.flush()

    personas = [
        Persona(
            project_id=project.id or 0,
            name="Busy parent",
            description="Shops with a toddler, short on time, wants quick help.",
            traits={"age": "30-45", "household": "family"},
        ),
        Persona(
            project_id=project.id or 0,
            name="Bargain hunter",
            description="Compares prices and asks for the best deal.",
            traits={"age": "20-35", "price_sensitive": True},
        ),
    ]
    session.add_all(personas)
    session.flush()

    locations = session.exec(
        select(Location)
        .where(Location.project_id == project.id, Location.kind == "physical")
        .order_by(Location.id)
    ).all()
    start = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    items = [
        AssignmentCreate(
            location_id=loc.id or 0,
            shopper_id=shopper.id if i < 2 else None,
            wave_id=wave.id,
            persona_id=personas[i % 2].id,
            window_start=start + timedelta(days=i),
            window_end=start + timedelta(days=i + 7, hours=12),
            notes="Visit between 10:00 and 17:00 on a weekday." if i < 2 else "",
        )
        for i, loc in enumerate(locations[:6])
    ]
    create_assignments(session, project=project, items=items, actor=manager, today=today)
    _History(
        session,
        story=story,
        project=project,
        manager=manager,
        shopper=shopper,
        current_wave=wave,
        today=today,
        media=media or LocalMediaStore(get_settings().data_dir / "media"),
    ).write()
    return True


# ---------------------------------------------------------------- history

S = AssignmentStatus
NA = {"na": True}
# A step of a central service (the call centre) is as good everywhere, whatever the shop.
CENTRAL_QUALITY = 0.8
WINDOW = timedelta(days=7, hours=10)
FEELINGS: dict[int, tuple[str, ...]] = {
    3: ("joy",),
    2: ("joy", "trust"),
    1: ("trust", "relief"),
    0: ("neutral", "surprise", "boredom"),
    -1: ("confusion", "boredom", "irritation"),
    -2: ("irritation", "disappointment", "anxiety"),
    -3: ("anger", "disappointment"),
}


def _story() -> dict[str, Any]:
    story: dict[str, Any] = yaml.safe_load(HISTORY.read_text(encoding="utf-8"))
    return story


def _clamp(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _born(today: date, age: int) -> date:
    return date(today.year - age, 3, 15)


def _zone() -> tzinfo:
    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:  # no time zone database (Windows without tzdata)
        return UTC


Decision = Literal["approve", "reject", "return"]


@dataclass(frozen=True)
class _Plan:
    checkin: datetime
    location: Location
    shopper: User
    wave: Wave
    decision: Decision | None = "approve"  # None: left waiting for the reviewer
    twist: str | None = None
    comment: str = ""


class _History:
    """The story's visits, each written through the services a real visit goes through."""

    def __init__(
        self,
        session: Session,
        *,
        story: dict[str, Any],
        project: Project,
        manager: User,
        shopper: User,
        current_wave: Wave,
        today: date,
        media: MediaStore,
    ) -> None:
        assert project.journey_version_id is not None
        self.session = session
        self.story = story
        self.project = project
        self.manager = manager
        self.today = today
        self.media = media
        self.rng = random.Random(story["seed"])
        self.zone = _zone()
        self.journey: JourneyDefinition = journey_of(session, version_id=project.journey_version_id)
        self.demo_shopper = shopper
        self.shoppers = [shopper, *self._shoppers(shopper)]
        # Each shopper's typical implicit-probe latency (ms): people differ in speed.
        self.speed = {user.id: 540 + 45 * i for i, user in enumerate(self.shoppers)}
        self.waves = {current_wave.name: current_wave, **self._waves()}
        self.locations = {
            location.code: location
            for location in session.exec(
                select(Location)
                .where(Location.project_id == project.id, Location.kind == LocationKind.physical)
                .order_by(col(Location.id))
            )
            if location.code in story["locations"]
        }
        self.photos_seen: set[str] = set()
        self.last_receipt: bytes | None = None

    # ------------------------------------------------------------ people, waves, the plan

    def _shoppers(self, demo: User) -> list[User]:
        """The story's extra shoppers, qualified. They share the demo shopper's password and its
        hash: password hashing is by far the slowest part of loading the demo."""
        users = []
        for spec in self.story["shoppers"]:
            data = ShopperRegister(
                username=spec["username"],
                password=DEMO_LOGINS["shopper"][1],
                full_name=spec["full_name"],
                date_of_birth=_born(self.today, spec["age"]),
                region=spec["region"],
                languages=spec["languages"],
                gender=spec["gender"],
            )
            user = User(
                username=data.username,
                full_name=data.full_name,
                role=Role.shopper,
                password_hash=demo.password_hash,
            )
            self.session.add(user)
            self.session.flush()
            profile = ShopperProfile.model_validate(data, update={"user_id": user.id})
            self.session.add(profile)
            set_qualified(
                self.session,
                profile=profile,
                qualified=True,
                actor_id=self.manager.id,
                reason="demo",
            )
            users.append(user)
        return users

    def _waves(self) -> dict[str, Wave]:
        return {
            spec["name"]: create_wave(
                self.session,
                project=self.project,
                data=WaveCreate(
                    name=spec["name"],
                    starts_on=self.today - timedelta(days=spec["starts"]),
                    ends_on=self.today - timedelta(days=spec["ends"]),
                ),
            )
            for spec in self.story["waves"]
        }

    def _checkin(self, days_ago: int) -> datetime:
        day = self.today - timedelta(days=days_ago)
        return datetime.combine(day, time(9), tzinfo=UTC) + timedelta(
            minutes=self.rng.randrange(0, 360)
        )

    def plan(self) -> list[_Plan]:
        """Who visits which shop when, within the project's caps; in the order they happened."""
        rows = self.session.exec(
            select(
                Assignment.location_id,
                Assignment.visit_day,
                Assignment.status,
                Assignment.shopper_id,
                Assignment.wave_id,
            ).where(Assignment.project_id == self.project.id)
        )
        ledger = CapLedger.of(self.project.cap_rules, (Booking(*row) for row in rows))
        facts = {
            profile.user_id: ShopperFacts(
                id=profile.user_id,
                is_active=True,
                qualified=profile.qualified,
                date_of_birth=profile.date_of_birth,
                region=profile.region,
                languages=tuple(profile.languages),
                gender=profile.gender,
                rating=None,
                approved_visits=0,
            )
            for profile in self.session.exec(select(ShopperProfile))
        }

        def pick(location: Location, checkin: datetime, wave: Wave, only: User | None) -> User:
            day = checkin.date()
            start = self.rng.randrange(len(self.shoppers))
            candidates = [only] if only else self.shoppers[start:] + self.shoppers[:start]
            for user in candidates:
                assert user.id is not None and location.id is not None
                refusal = ledger.check_location(location_id=location.id, visit_day=day)
                refusal = refusal or ledger.check_shopper(
                    shopper=facts[user.id],
                    location_id=location.id,
                    location_region=location.region,
                    visit_day=day,
                    wave_id=wave.id,
                    persona=PersonaTraits(),
                    self_claim=False,
                    today=self.today,
                )
                if refusal is None:
                    ledger.add(Booking(location.id, day, S.submitted, user.id, wave.id))
                    return user
            raise RuntimeError(f"The demo history breaks the caps at {location.code} on {day}.")

        plans = []
        current = self.story["current_wave"]
        # Specific visits first: they name their shopper, the others fit around them.
        for spec in self.story["special"]:
            location = self.locations[spec["location"]]
            wave = self.waves[spec.get("wave", current)]
            checkin = self._checkin(spec["days_ago"])
            only = self.demo_shopper if spec.get("shopper") == "shopper" else None
            plans.append(
                _Plan(
                    checkin=checkin,
                    location=location,
                    shopper=pick(location, checkin, wave, only),
                    wave=wave,
                    decision=None
                    if spec["outcome"] == "pending"
                    else cast(Decision, spec["outcome"]),
                    twist=spec.get("twist"),
                    comment=spec.get("comment", ""),
                )
            )
        for spec in self.story["waves"]:
            wave = self.waves[spec["name"]]
            for location in self.locations.values():
                days = self.rng.sample(
                    range(spec["last_day"], spec["first_day"] + 1), spec["visits_per_location"]
                )
                for days_ago in sorted(days, reverse=True):
                    checkin = self._checkin(days_ago)
                    plans.append(
                        _Plan(
                            checkin=checkin,
                            location=location,
                            shopper=pick(location, checkin, wave, None),
                            wave=wave,
                        )
                    )
        # In date order, so each visit's latency baseline sees the shopper's earlier visits.
        return sorted(plans, key=lambda plan: plan.checkin)

    # ------------------------------------------------------------ one visit

    def write(self) -> None:
        for plan in self.plan():
            self._visit(plan)
        self.session.flush()

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _visit(self, plan: _Plan) -> None:
        session = self.session
        window_start = datetime.combine(plan.checkin.date(), time(7), tzinfo=UTC)
        window_end = window_start + WINDOW
        # New assignments must not have ended (create_assignments and accept refuse them), so a
        # past visit is booked with its window open until tomorrow and closed after the visit.
        booked_end = max(window_end, datetime.now(UTC) + timedelta(days=1))
        created = create_assignments(
            session,
            project=self.project,
            items=[
                AssignmentCreate(
                    location_id=plan.location.id or 0,
                    shopper_id=plan.shopper.id,
                    wave_id=plan.wave.id,
                    window_start=window_start,
                    window_end=booked_end,
                )
            ],
            actor=self.manager,
            today=self.today,
        )
        assignment = session.get(Assignment, created.rows[0].assignment_id)
        assert assignment is not None
        accept(session, assignment=assignment, shopper=plan.shopper)
        if self.journey.briefing is not None:
            attempt_quiz(
                session,
                assignment=assignment,
                shopper=plan.shopper,
                answers={q.key: q.correct for q in self.journey.briefing.quiz.questions},
            )
        latitude, longitude, accuracy = self._position(plan)
        visit, _ = start_visit(
            session,
            assignment=assignment,
            shopper=plan.shopper,
            data=VisitStart(
                client_uuid=uuid.UUID(self._uuid()),
                started_at=plan.checkin,
                latitude=latitude,
                longitude=longitude,
                accuracy_m=accuracy,
                device={"platform": "Android", "app_version": "demo"},
            ),
            now=plan.checkin,
        )
        operations, ended = self._observe(plan, visit, assignment)
        operations.append(
            BatchOperation(
                op="submit", body={"client_uuid": self._uuid(), "ended_at": ended.isoformat()}
            )
        )
        results = run_batch(
            session,
            visit=visit,
            assignment=assignment,
            operations=parse_operations(operations),
            actor=plan.shopper,
        )
        refused = [result["problem"] for result in results if result["status"] != 200]
        if refused:
            raise RuntimeError(f"A demo visit was refused: {refused[0]}")
        # Submission stamps the moment of loading; in the story the visit was submitted when it
        # ended (the review queue shows how long it has waited).
        visit.submitted_at = ended
        session.add(visit)
        if window_end < booked_end:
            assignment.window_end = window_end
            session.add(assignment)
        if plan.decision is not None:
            self._review(plan, plan.decision, visit)

    def _position(self, plan: _Plan) -> tuple[float, float, float]:
        location, rng = plan.location, self.rng
        assert location.latitude is not None and location.longitude is not None
        if plan.twist == "far_checkin":  # about 1.4 km north-east: QC fails the geofence
            return location.latitude + 0.0126, location.longitude + 0.004, 12.0
        return (
            location.latitude + rng.uniform(-0.00025, 0.00025),
            location.longitude + rng.uniform(-0.0004, 0.0004),
            round(rng.uniform(5, 20), 1),
        )

    def _review(self, plan: _Plan, decision: Decision, visit: Visit) -> None:
        """Decide the visit the way the review endpoint does (approval materialises results)."""
        comment, resubmit_by = plan.comment, None
        if decision == "approve":
            flagged = self.session.exec(
                select(QcRun.id).where(
                    QcRun.visit_id == visit.id,
                    col(QcRun.current),
                    (QcRun.warn_count + QcRun.fail_count) > 0,
                )
            ).first()
            comment = self.story["reviews"]["flagged" if flagged else "clean"]
        elif decision == "return":
            resubmit_by = datetime.combine(self.today + timedelta(days=14), time(17), tzinfo=UTC)
        assert visit.id is not None
        review_visit(
            self.session,
            user=self.manager,
            visit_id=visit.id,
            data=ReviewRequest(action=decision, comment=comment, resubmit_by=resubmit_by),
        )

    # ------------------------------------------------------------ what the shopper recorded

    def _observe(
        self, plan: _Plan, visit: Visit, assignment: Assignment
    ) -> tuple[list[BatchOperation], datetime]:
        """Every step's write (photos uploaded on the way) and when the visit ended."""
        rng, story = self.rng, self.story
        place = story["locations"][plan.location.code]
        noise = rng.gauss(0, 0.06)
        steps = [step for _, step in self.journey.steps()]
        seconds = [self._seconds(step, plan.twist) for step in steps]
        # Steps before the first one in the shop (the website research) happen at home before.
        first = next((i for i, s in enumerate(steps) if s.channel == "physical"), 0)
        clock = plan.checkin - timedelta(minutes=40, seconds=sum(seconds[:first]))
        answered: dict[str, Any] = {}
        operations = []
        for index, (step, duration) in enumerate(zip(steps, seconds, strict=True)):
            if index == first:
                clock = plan.checkin
            tilt = story["steps"].get(step.key, {})
            quality = (
                tilt.get("quality", 0.0) + tilt.get("waves", {}).get(plan.wave.name, 0.0) + noise
            )
            started, ended = clock, clock + timedelta(seconds=duration)
            answers, evidence, goodness = {}, {}, []
            for question in step.questions:
                base = (
                    CENTRAL_QUALITY
                    if tilt.get("fixed")
                    else place.get(question.level.value, place["quality"])
                )
                p = _clamp(base + quality + story["questions"].get(question.key, 0.0), 0.03, 0.97)
                answer, good = self._answer(question, p, answered, started)
                if answer is None:
                    continue
                if question.type is QuestionType.photo:
                    answer = [self._photo(plan, visit, assignment, step, question)]
                elif question.evidence_required and answer != NA:
                    evidence[question.key] = [self._photo(plan, visit, assignment, step, question)]
                answers[question.key] = answered[question.key] = answer
                if good is not None and not question.bonus:
                    goodness.append(good)
            fallback = _clamp(place["quality"] + quality, 0, 1)
            mood = 2 * (sum(goodness) / len(goodness) if goodness else fallback) - 1
            body: dict[str, Any] = {
                "client_uuid": self._uuid(),
                "started_at": started.isoformat(),
                "ended_at": ended.isoformat(),
                "answers": answers,
                "evidence": evidence,
                "probes": [
                    self._probe(probe, mood + tilt.get("implicit", 0.0), plan.shopper)
                    for probe in step.emotions.probes
                ],
            }
            if step.emotions.conscious:
                body["conscious"] = self._conscious(mood + tilt.get("conscious", 0.0))
            if index == first and rng.random() < 0.3:
                body["notes"] = rng.choice(story["texts"]["notes"])
            operations.append(BatchOperation(op="step", step_key=step.key, body=body))
            clock = ended + timedelta(seconds=rng.randrange(15, 120))
        return operations, clock

    def _seconds(self, step: Step, twist: str | None) -> int:
        low = step.min_seconds or 20
        if twist == "rushed_advice" and step.key == "advice_conversation":
            return max(1, low // 3)  # implausibly quick: QC warns about the step's duration
        top = min((step.max_seconds or 600) * 0.7, low * 1.2 + 900)
        return int(self.rng.uniform(low * 1.2 + 5, max(top, low * 1.2 + 10)))

    def _forced(self, key: str, answered: dict[str, Any]) -> Any:
        """Answers that follow from earlier ones (N/A where a question does not apply)."""
        if (
            key in ("greeting_friendly", "seconds_until_greeted")
            and answered.get("greeted") == "no"
        ):
            return NA
        if key == "shelf_price" and answered.get("shelf_price_shown") == "no":
            return NA
        queue = answered.get("people_in_queue")
        if key == "extra_till_opened" and isinstance(queue, int) and queue <= 3:
            return NA
        if answered.get("return_accepted") == "no":
            if key == "refund_method":
                return self.rng.choice(["store_credit_only", "none"])
            if key == "refund_email_received":
                return "no"
            if key == "refund_days":
                return NA
        if key == "refund_days" and answered.get("refund_method") in ("store_credit_only", "none"):
            return NA
        return None

    def _answer(
        self, question: Question, p: float, answered: dict[str, Any], started: datetime
    ) -> tuple[Any, float | None]:
        """An answer drawn so that it is good with probability ``p``, and how good it was."""
        rng, kind = self.rng, question.type
        forced = self._forced(question.key, answered)
        if forced is not None:
            return forced, None
        if kind is QuestionType.yes_no:
            good = rng.random() < p
            other = "no" if question.good_answer == "yes" else "yes"
            return (question.good_answer if good else other), float(good)
        if kind is QuestionType.scale:
            assert question.scale is not None
            low, high = question.scale.min, question.scale.max
            position = _clamp(p + rng.gauss(0, 0.18), 0, 1)
            return low + round(position * (high - low)), position
        if kind is QuestionType.single_choice:
            options = sorted(question.options or (), key=lambda option: option.score)
            position = _clamp(p + rng.gauss(0, 0.2), 0, 1)
            score = options[round(position * (len(options) - 1))].score
            chosen = rng.choice([option for option in options if option.score == score])
            return chosen.key, chosen.score
        if kind is QuestionType.multi_choice:
            options = question.options or []
            chosen = [option for option in options if rng.random() < p] or [rng.choice(options)]
            return [option.key for option in chosen], min(1.0, sum(o.score for o in chosen))
        if kind is QuestionType.number:
            good = rng.random() < p
            ranges = self.story["numbers"].get(question.key)
            bounds = question.number
            low = bounds.min if bounds and bounds.min is not None else 0
            high = bounds.max if bounds and bounds.max is not None else low + 20
            if ranges:
                low, high = ranges[0] if good else ranges[1]
            return rng.randint(int(low), int(high)), float(good)
        if kind is QuestionType.text:
            texts = self.story["texts"]
            if question.key == "employee_description":
                return rng.choice(texts["employee_description"]), None
            mood = "memorable_good" if p >= 0.6 else "memorable_bad"
            return rng.choice(texts.get(mood, texts["memorable_good"])), None
        if kind is QuestionType.photo:
            return ([] if question.required or rng.random() < 0.3 else None), None
        if kind is QuestionType.time:
            return started.astimezone(self.zone).strftime("%H:%M"), None
        return None, None

    def _conscious(self, mood: float) -> dict[str, Any]:
        rng = self.rng
        felt = _clamp(0.85 * mood + rng.gauss(0, 0.22))
        valence = int(_clamp(round(3 * felt), -3, 3))
        feeling: dict[str, Any] = {
            "valence": valence,
            "arousal": int(_clamp(round(2 + 2 * abs(felt) + rng.gauss(0, 0.6)), 1, 5)),
        }
        if rng.random() < 0.6:
            feeling["emotion"] = rng.choice(FEELINGS[valence])
            feeling["intensity"] = int(_clamp(round(1 + 3 * abs(felt) + rng.gauss(0, 0.5)), 1, 5))
        return feeling

    def _probe(self, probe: ImplicitProbe, mood: float, shopper: User) -> dict[str, Any]:
        rng = self.rng
        felt = _clamp(0.85 * mood + rng.gauss(0, 0.3))
        choice: int | str | None
        if probe.kind is ProbeKind.face:
            choice = "happy" if felt > 0.35 else "neutral" if felt > -0.15 else "sad"
            if felt <= -0.55:
                choice = "angry"
            elif choice == "neutral" and rng.random() < 0.15:
                choice = "surprised"
        else:
            choice = 1 if felt > 0.3 else 0 if felt > -0.3 else -1
        # Strong feelings come a little faster; a few answers anticipate or time out, as in life.
        latency = self.speed[shopper.id] * math.exp(rng.gauss(0, 0.22)) * (1 - 0.15 * abs(felt))
        latency = min(latency, probe.deadline_ms - 1)
        roll = rng.random()
        if roll < 0.015:
            latency = rng.randrange(80, 140)
        elif roll < 0.025:
            choice, latency = None, probe.deadline_ms + rng.randrange(1, 400)
        return {
            "stimulus": probe.stimulus,
            "kind": str(probe.kind),
            "choice": choice,
            "latency_ms": int(latency),
            "deadline_ms": probe.deadline_ms,
        }

    # ------------------------------------------------------------ photos

    def _photo(
        self, plan: _Plan, visit: Visit, assignment: Assignment, step: Step, question: Question
    ) -> str:
        """Upload a small generated photo for the question; returns its client_uuid."""
        receipt = "receipt" in question.key or question.evidence_required
        if plan.twist == "duplicate_receipt" and question.key == "receipt_photo":
            assert self.last_receipt is not None
            raw = self.last_receipt  # the same photo as another visit's: QC fails it
            image = clean_image(raw)
        else:
            raw, image = self._picture(receipt, blur=plan.twist == "blurry_receipt" and receipt)
            if question.key == "receipt_photo":
                self.last_receipt = raw
        client_uuid = self._uuid()
        store_media(
            self.session,
            visit=visit,
            assignment=assignment,
            client_uuid=client_uuid,
            step_key=step.key,
            question_key=question.key,
            upload_sha256=hashlib.sha256(raw).hexdigest(),
            image=image,
            store=self.media,
        )
        return client_uuid

    def _picture(self, receipt: bool, *, blur: bool) -> tuple[bytes, CleanImage]:
        """A tiny JPEG (a receipt's lines or a shop front), never one made before."""
        rng = self.rng
        while True:
            if receipt:
                image = Image.new("RGB", (48, 80), (250, 250, 244))
                draw = ImageDraw.Draw(image)
                for y in range(6, 76, 6):
                    draw.line((5, y, 5 + rng.randrange(12, 38), y), fill=(80, 80, 80), width=2)
            else:
                sky = (rng.randrange(150, 230), rng.randrange(170, 230), rng.randrange(200, 250))
                image = Image.new("RGB", (80, 60), sky)
                draw = ImageDraw.Draw(image)
                front = (rng.randrange(40, 200), rng.randrange(40, 200), rng.randrange(40, 200))
                draw.rectangle((6, rng.randrange(14, 26), 74, 60), fill=front)
                draw.rectangle((32, 38, 46, 60), fill=(30, 30, 34))
            if blur:
                image = image.filter(ImageFilter.GaussianBlur(3))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=80)
            raw = out.getvalue()
            image = clean_image(raw)
            if image.sha256 not in self.photos_seen:
                self.photos_seen.add(image.sha256)
                return raw, image
