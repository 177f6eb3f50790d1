"""The page sections other apps add (elasticc/pages/sections.py): where they may go, in which
order, and that a page shows them."""

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from elasticc.pages import sections


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test (the apps' own sections are put back afterwards)."""
    monkeypatch.setattr(sections, "_sections", {page: [] for page in sections.PAGES})
    return sections._sections


def pager(url: str) -> sections.Section:
    return sections.Section("elasticc/_pager.html", lambda request: {"next_url": url})


def test_sections_render_in_the_order_added_and_only_once(registry):
    first, second = pager("/first"), pager("/second")
    sections.add(sections.SUMMARY, first)
    sections.add(sections.SUMMARY, second)
    sections.add(sections.SUMMARY, first)
    rendered = sections.render(sections.SUMMARY, RequestFactory().get("/elasticc/summary"))
    assert len(rendered) == 2
    assert 'href="/first"' in rendered[0].html and 'href="/second"' in rendered[1].html
    assert rendered[0].script == ""
    assert sections.render(sections.INDEX, RequestFactory().get("/elasticc/")) == []


def test_only_pages_with_a_slot_take_sections(registry):
    with pytest.raises(ValueError, match="index, summary"):
        sections.add("objects", pager("/x"))


@pytest.mark.django_db
def test_a_page_shows_its_sections_and_their_scripts(registry, client):
    sections.add(
        sections.INDEX,
        sections.Section(
            "elasticc/_pager.html", lambda request: {"next_url": "/added"}, script_template="elasticc/_pager.html"
        ),
    )
    client.force_login(User.objects.create_user("astro", password="x-long-password"))
    html = client.get("/elasticc/").content.decode()
    assert html.count('href="/added"') == 2  # the section, and its "script" at the end of the page
    assert "Judge the brokers" not in html  # brokermetrics' section is not in this registry
