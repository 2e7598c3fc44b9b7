"""Every table, imported in one place so that SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from api.accounts.models import User
from api.assignments.models import Assignment
from api.audit.models import AuditEntry
from api.clients.models import Client
from api.journeys.models import Journey, JourneyVersion
from api.locations.models import Location
from api.projects.models import Project, ProjectMember, Wave
from api.shoppers.models import QualificationAttempt, QualificationTest, ShopperProfile
from api.visits.models import BriefingAttempt, Media, StepObservation, Visit

metadata = SQLModel.metadata

__all__ = [
    "Assignment",
    "AuditEntry",
    "BriefingAttempt",
    "Client",
    "Journey",
    "JourneyVersion",
    "Location",
    "Media",
    "Project",
    "ProjectMember",
    "QualificationAttempt",
    "QualificationTest",
    "ShopperProfile",
    "StepObservation",
    "User",
    "Visit",
    "Wave",
    "metadata",
]
