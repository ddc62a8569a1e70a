"""The verdict on a small independent cohort (tests/cohort.py); bench/verdict_cohort.py runs 1,000 per course."""
import pytest

from tests.cohort import run

N = 150


@pytest.fixture(scope="module")
def found():
    courses = ("resolving", "stable", "worsening", "short_stable", "sparse_month_stable", "short_worsening")
    return {course: run(course, N) for course in courses}


@pytest.mark.xfail(strict=True, reason="issue 20 item 5 gate not met yet: a few stable children (chance dips on "
                   "4-16 weeks of overdispersed counts) are still called resolving; docs/verdicts.md")
def test_no_false_resolving_on_stable_or_worsening_courses(found):
    for course in ("stable", "worsening", "short_stable", "sparse_month_stable", "short_worsening"):
        assert found[course]["resolving"] == 0, course


def test_worsening_courses_are_never_resolving_and_mostly_worsening(found):
    assert found["worsening"]["worsening"] >= 0.6 * N
    assert found["worsening"]["resolving"] + found["worsening"]["resolved"] == 0


def test_stable_courses_are_mostly_stable(found):
    assert found["stable"]["stable"] >= 0.95 * N


def test_resolving_courses_are_never_worsening(found):
    assert found["resolving"]["worsening"] == 0
    assert found["resolving"]["resolving"] + found["resolving"]["resolved"] >= 0.4 * N
