"""Sections other apps add to the ELAsTiCC pages, so that elasticc shows them without importing
those apps (imports run one way: brokermetrics → elasticc, never back).

An app registers a Section for a page in its AppConfig.ready(); brokermetrics adds the freshness
of its metrics to the landing page and the alerts sent per simulated day to the summary. The
page's view renders each section (its context comes from the section, per request) and the
page's template puts the HTML in its slot and the scripts at the end of the page. elasticc
names the pages that have a slot; it knows nothing of what fills them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

INDEX = "index"  # /elasticc/: below the search, beside "More"
SUMMARY = "summary"  # /elasticc/summary: below the tables and brokerpoll's status
OBJECT = "object"  # an object page (both campaigns'): between the classifications and the alerts
PAGES = (INDEX, SUMMARY, OBJECT)


@dataclass(frozen=True)
class Section:
    template: str  # the HTML in the page's slot
    context: Callable[[HttpRequest], dict]  # what both templates see, computed per request
    script_template: str | None = None  # the page's scripts for it (its extra_javascript block)


@dataclass(frozen=True)
class RenderedSection:
    html: str
    script: str


_sections: dict[str, list[Section]] = {page: [] for page in PAGES}


def add(page: str, section: Section) -> None:
    """Show `section` on `page`, after the sections added before it. Adding it again changes nothing."""
    if page not in _sections:
        raise ValueError(f"No ELAsTiCC page {page!r} takes sections; these do: {', '.join(PAGES)}")
    if section not in _sections[page]:
        _sections[page].append(section)


def render(page: str, request: HttpRequest) -> list[RenderedSection]:
    """The page's sections, in the order they were added, rendered for this request."""
    out = []
    for section in _sections[page]:
        context = section.context(request)
        script = render_to_string(section.script_template, context, request) if section.script_template else ""
        out.append(RenderedSection(render_to_string(section.template, context, request), script))
    return out
