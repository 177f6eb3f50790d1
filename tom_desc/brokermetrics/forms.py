"""The broker page's query string, read by a small form (elasticc/pages/forms.py: a value that
does not parse counts as absent, and the page says what is wrong instead of answering 400)."""

from __future__ import annotations

from datetime import date

from brokermetrics.queries import Days
from elasticc.pages.forms import Param, QueryForm


class BrokerWindowForm(QueryForm):
    """/elasticc/brokers/<classifierId>/: ?classifier= switches to another classifier; the window
    is ?window=all|YYYY-MM-DD when given, else a range of send-days ?from=YYYY-MM-DD&to=YYYY-MM-DD.
    clean() puts the window in "days": None (all time), a date, or (first, last)."""

    classifier = Param(int)
    window = Param(date.fromisoformat)  # "all", like anything not a date, is all time

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so no class attribute can declare it; both ends are declared here.
        self.fields["from"] = Param(date.fromisoformat)
        self.fields["to"] = Param(date.fromisoformat)

    def clean(self):
        data = super().clean()
        data["days"] = data.get("window")
        if not self.given("window") and (self.given("from") or self.given("to")):
            first, last = data.get("from"), data.get("to")
            if first is None or last is None:
                self.add_error(None, "A range needs a first and a last day (YYYY-MM-DD); showing all time.")
            elif first > last:
                self.add_error(None, f"The range ends ({last}) before it starts ({first}); showing all time.")
            else:
                data["days"] = first if first == last else (first, last)
        return data

    @property
    def days(self) -> Days:
        return self.value("days")
