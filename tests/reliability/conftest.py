"""The reliability tier: fault injection and bad inputs (RELIABILITY.md)."""

import pytest

# The invariants are plain functions in a helper module: have pytest explain their failures too.
pytest.register_assert_rewrite("tests.reliability.invariants")
