"""The results tests' project: a hand-scorable journey with visits approved as the review does."""

from tests.results.conftest import results

__all__ = ["results"]
