"""Alembic environment and the dated revisions of Fieldwork's schema."""
