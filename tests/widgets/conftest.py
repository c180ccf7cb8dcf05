"""Graphs the widget tests share: the course's seed-000 function and its worked example, traced for real."""

import pytest
from seed_functions import SEED_POINT, WORKED_POINT, seed_function, worked_example

import autodiff_course as ad


@pytest.fixture
def seed_graph():
    return ad.trace(seed_function, *SEED_POINT)


@pytest.fixture
def worked_graph():
    return ad.trace(worked_example, *WORKED_POINT)
