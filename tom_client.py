"""A small client for the DESC TOM's web API, compatible with the original DESC TOM's tom_client.py.

Scripts written for the original keep working unchanged::

    from tom_client import TomClient
    tom = TomClient("https://desc-tom.lbl.gov", username="me", passwordfile="~/secrets/tom_password")
    res = tom.post("db/runsqlquery/", json={"query": "SELECT COUNT(*) FROM elasticc_diaobject"})
    res.raise_for_status()
    print(res.json())

The constructor, ``connect()``, ``request()``, ``get()``, ``post()`` and ``put()`` behave as the
original's: the client logs in through the site's login page (GET it for the CSRF cookie, POST
``username``, ``password`` and ``csrfmiddlewaretoken``), then sends the ``X-CSRFToken`` header
with every request, and each request method returns the ``requests.Response`` untouched (no
retries, no status checks). A login that fails raises RuntimeError: a wrong user name or
password, a locked-out account (the site answers 429 after too many failures), or any answer
that leaves no session.

Added beside the original: ``token=`` (an API token from your profile page or
/accounts/api-token/) instead of a password. The client then sends
``Authorization: Token <key>`` and never visits the login page: the way to go for an account
with two-factor authentication, and for scripts run unattended.

Needs only ``requests``. The file is standalone: copy it next to your scripts.
"""

from __future__ import annotations

from pathlib import Path

import requests

# Django's message for a wrong user name or password, which the site shows (and the original's
# client looked for).
FAILED_LOGIN_TEXT = "Please enter a correct"


class TomClient:
    """Send requests to the DESC TOM as a logged-in user.

    url: the site, without a trailing slash (pages are joined as ``f"{url}/{page}"``).
    username, password: your TOM account; or passwordfile, a file whose first line is the
      password. Not needed with token.
    connect: log in now (otherwise call connect() yourself before the first request).
    token: an API token, used instead of logging in with a password.
    """

    def __init__(
        self,
        url="https://desc-tom.lbl.gov",
        username=None,
        password=None,
        passwordfile=None,
        connect=True,
        token=None,
    ):
        self._url = url
        self._username = username
        self._password = password
        self._token = token
        self._rqs = None
        if self._token is None and self._password is None:
            if passwordfile is None:
                raise RuntimeError("Give a password, a passwordfile or a token.")
            with open(Path(passwordfile).expanduser()) as ifp:
                self._password = ifp.readline().strip()
        if connect:
            self.connect()

    def connect(self):
        """Start a new session: log in with the password, or set up the token header."""
        self._rqs = requests.session()
        if self._token is not None:
            self._rqs.headers.update({"Authorization": f"Token {self._token}"})
            return
        login_url = f"{self._url}/accounts/login/"
        res = self._rqs.get(login_url)
        if res.status_code != 200:
            raise RuntimeError(f"Got status {res.status_code} from first attempt to connect to {self._url}")
        res = self._rqs.post(
            login_url,
            data={
                "username": self._username,
                "password": self._password,
                "csrfmiddlewaretoken": self._rqs.cookies["csrftoken"],
            },
        )
        if res.status_code == 429:
            raise RuntimeError(
                f"Failed to log in as {self._username}: too many failed attempts, the site refuses logins "
                "for a while (http status 429). Wait, then check the password."
            )
        if res.status_code != 200:
            raise RuntimeError(f"Failed to log in; http status: {res.status_code}")
        if FAILED_LOGIN_TEXT in res.text:
            raise RuntimeError(f"Failed to log in as {self._username}: wrong user name or password.")
        if "sessionid" not in self._rqs.cookies:
            raise RuntimeError(
                f"Failed to log in as {self._username}: the site did not open a session (ended at {res.url})."
            )
        # The site gives a new CSRF token at login; every later request carries it.
        self._rqs.headers.update({"X-CSRFToken": self._rqs.cookies["csrftoken"]})

    def request(self, method="GET", page=None, **kwargs):
        """Send a request to the TOM and return the requests.Response.

        method: the HTTP method ("GET", "POST", ...).
        page: the URL without the site's address, e.g. "elasticc/diaobject/" or "db/runsqlquery/".
        kwargs: passed on to requests (json=..., data=..., params=..., timeout=...).
        """
        return self._rqs.request(method=method, url=f"{self._url}/{page}", **kwargs)

    def post(self, page=None, **kwargs):
        """Shorthand for request("POST", ...)."""
        return self.request("POST", page, **kwargs)

    def get(self, page=None, **kwargs):
        """Shorthand for request("GET", ...)."""
        return self.request("GET", page, **kwargs)

    def put(self, page=None, **kwargs):
        """Shorthand for request("PUT", ...)."""
        return self.request("PUT", page, **kwargs)
