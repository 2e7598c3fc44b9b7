from tests.qc.conftest import field, visits

__all__ = ["field", "visits"]
