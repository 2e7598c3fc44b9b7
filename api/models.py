"""Every table, imported in one place so that SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from api.accounts.models import User
from api.apikeys.models import ApiKey
from api.appeals.models import Appeal
from api.assignments.models import Assignment
from api.audit.models import AuditEntry
from api.clients.models import Client
from api.cxmap.models import ActionPlan, DesiredJourney
from api.journeys.models import Journey, JourneyVersion
from api.locations.models import Location
from api.outside_data.models import OutsideFigure, OutsideImport
from api.personas.models import Persona
from api.projects.models import Project, ProjectMember, Wave
from api.qc.models import QcFlag, QcRun
from api.results.models import PhaseResult, StepResult, VisitResult
from api.reviews.models import Review
from api.shoppers.models import QualificationAttempt, QualificationTest, ShopperProfile
from api.visits.models import BriefingAttempt, Media, StepObservation, Visit
from api.webhooks.models import Webhook, WebhookDelivery

metadata = SQLModel.metadata

__all__ = [
    "ActionPlan",
    "ApiKey",
    "Appeal",
    "Assignment",
    "AuditEntry",
    "BriefingAttempt",
    "Client",
    "DesiredJourney",
    "Journey",
    "JourneyVersion",
    "Location",
    "Media",
    "OutsideFigure",
    "OutsideImport",
    "Persona",
    "PhaseResult",
    "Project",
    "ProjectMember",
    "QcFlag",
    "QcRun",
    "QualificationAttempt",
    "QualificationTest",
    "Review",
    "ShopperProfile",
    "StepObservation",
    "StepResult",
    "User",
    "Visit",
    "VisitResult",
    "Wave",
    "Webhook",
    "WebhookDelivery",
    "metadata",
]
