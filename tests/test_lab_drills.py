"""Each drill of tests/lab_drills.py as a test: short lab stories for the rarer rules."""

import pytest

pytest.register_assert_rewrite("lab_drills")

import lab_drills  # noqa: E402


@pytest.mark.parametrize("drill", lab_drills.DRILLS, ids=lambda d: d.__name__)
def test_drill(drill):
    rows = drill()
    assert rows, "a drill must apply at least one row of the transition table"
