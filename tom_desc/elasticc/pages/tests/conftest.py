"""The page tests' fixtures (support.py, browser.py), shared with brokermetrics/tests/conftest.py."""

from elasticc.pages.tests.browser import browser, site  # noqa: F401
from elasticc.pages.tests.support import admin_client, astronomer, case  # noqa: F401
