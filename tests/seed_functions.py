"""The course's seed-000 exercise function (numpy and math spellings) and its worked example, as a student
writes them: shared by the trace, engine and widget tests (pytest puts tests/ on sys.path for its conftest.py)."""

import math

import numpy as np

SEED_POINT = (1.8, 2.4, 0.7)
WORKED_POINT = (1.8, 2.4)


def seed_function(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8


def worked_example(x0, x1):
    v0 = x0
    v1 = x1
    v2 = v0 / v1
    v3 = v0 * v2
    v4 = np.exp(v2)
    v5 = np.cos(v0)
    v6 = v3 * v5
    v7 = v4 + v6
    return v7


def seed_function_math_style(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = math.sin(v0)
    v4 = math.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8
