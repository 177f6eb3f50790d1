"""The broker page's query string (brokermetrics/forms.py) read without a request."""

from datetime import date

from django.http import QueryDict

from brokermetrics.forms import BrokerWindowForm

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def form(query: str) -> BrokerWindowForm:
    return BrokerWindowForm(QueryDict(query))


def test_window_all_a_day_or_a_range():
    assert form("").days is None
    assert form("window=all").days is None
    assert form("window=bad").days is None
    assert form("window=2026-03-01").days == D1
    assert form("from=2026-03-01&to=2026-03-02").days == (D1, D2)
    assert form("from=2026-03-01&to=2026-03-01").days == D1
    assert form("window=2026-03-01&from=2026-03-01&to=2026-03-02").days == D1  # the explicit window wins
    assert form("window=&from=2026-03-01&to=2026-03-02").days == (D1, D2)
    for query in ("", "window=all", "window=2026-03-01", "from=2026-03-01&to=2026-03-02", "window=all&from=x"):
        assert form(query).problem is None, query


def test_a_bad_range_shows_all_time_and_says_why():
    assert form("from=2026-03-02&to=2026-03-01").problem == (
        "The range ends (2026-03-01) before it starts (2026-03-02); showing all time."
    )
    for query in ("from=2026-03-01", "to=2026-03-01", "from=2026-03-02&to=soon"):
        bad = form(query)
        assert bad.days is None, query
        assert bad.problem == "A range needs a first and a last day (YYYY-MM-DD); showing all time.", query


def test_classifier_is_a_whole_number():
    assert form("classifier=7").value("classifier") == 7
    assert form("classifier=7.0").value("classifier") is None
    assert form("classifier=x").value("classifier") is None
