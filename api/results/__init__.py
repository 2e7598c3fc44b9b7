"""Results: materialised scores of approved visits and the client-facing results API."""
