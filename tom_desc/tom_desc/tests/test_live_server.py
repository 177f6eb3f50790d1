"""The site runs under a real gunicorn over HTTP."""

import pytest
import requests


@pytest.mark.django_db(transaction=True)
def test_login_page_served_by_gunicorn(live_server_url):
    response = requests.get(f"{live_server_url}/accounts/login/", timeout=10)
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert 'name="password"' in response.text


@pytest.mark.django_db(transaction=True)
def test_summary_requires_login(live_server_url):
    response = requests.get(f"{live_server_url}/elasticc/summary", timeout=10, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
