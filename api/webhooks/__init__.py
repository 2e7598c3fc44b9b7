"""Webhooks: signed POSTs of a project's approvals and revocations, from a transactional outbox."""
