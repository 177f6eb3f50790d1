"""The object search's query string (elasticc/pages/forms.py) read without a request: values
parse as Python parses them, and what is wrong is said in the page's words, never as a 400."""

import math

from django.http import QueryDict

from elasticc.pages.forms import ObjectSearchForm


def form(query: str) -> ObjectSearchForm:
    return ObjectSearchForm(QueryDict(query))


def test_mode_defaults_to_browse_and_a_bare_id_searches_by_id():
    assert form("").mode == "browse"
    assert form("id=3").mode == "id"
    assert form("mode=cone&id=3").mode == "cone"
    assert form("mode=other").mode == "other"  # shown as no tab; the page browses


def test_values_parse_as_python_does():
    assert form("id=3").value("id") == 3
    assert form("id=+3+").value("id") == 3
    assert form("id=3.0").value("id") is None  # int("3.0") fails: not a whole number
    assert form("id=abc").value("id") is None
    assert form("after=").value("after") is None
    assert math.isinf(form("ra=inf").value("ra"))  # out of range for the cone search, not "missing"
    assert math.isnan(form("minprob=nan").value("minprob"))
    assert form("radius=1e1").value("radius") == 10.0
    assert form("ra=x").value("ra") is None


def test_problems_in_the_pages_words():
    assert form("mode=id&id=abc").problem == "A diaObjectId is a whole number."
    assert form("mode=id&id=99").problem is None  # whether it exists is the view's question
    assert form("mode=cone").problem is None  # the empty form
    assert form("mode=cone&radius=5").problem is None
    assert form("mode=cone&ra=1").problem == "A cone search needs RA, Dec (degrees) and a radius (arcsec)."
    assert form("mode=cone&ra=1&dec=x&radius=3").problem == form("mode=cone&ra=1").problem
    assert form("mode=cone&ra=inf&dec=1&radius=3").problem is None
    assert form("mode=classification").problem is None
    assert form("mode=classification&classifier=1").problem == "Choose a classifier and a class."
    assert form("mode=classification&classifier=x&classid=121").problem == "Choose a classifier and a class."
    assert form("mode=classification&classifier=1&classid=121&minprob=x").problem is None
    assert form("id=abc&mode=browse").problem is None
