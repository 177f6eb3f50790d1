"""The page tests' fixtures, shared with elasticc's page tests (elasticc/pages/tests/support.py, browser.py)."""

from elasticc.pages.tests.browser import browser, site  # noqa: F401
from elasticc.pages.tests.support import admin_client, astronomer, case  # noqa: F401
from elasticc2.pages.tests.support import e2site  # noqa: F401 (ELAsTiCC2's case on the live server)
