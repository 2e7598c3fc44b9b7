"""Outside data: per-location figures from the client's own sources (NPS, satisfaction, …)."""
