"""The object page's downloads in headless Chromium (browser.py): the light curve as CSV and ECSV
from the links under the plot, and the plot itself as a PNG from Plotly's camera button; the
files are what a scientist would open (astropy reads the ECSV back with its units)."""

from __future__ import annotations

from pathlib import Path

from astropy.table import Table

from elasticc.models import DiaForcedSource, DiaSource
from elasticc.pages.tests.browser import MARKS, logged_in

pytestmark = MARKS
OBJECT = 4  # handbuilt.py: forced points in six bands and two detections


def download(page, selector: str):
    with page.expect_download() as info:
        page.click(selector)
    return info.value


def test_light_curve_download_and_png_export(browser, site):
    url, _, _ = site
    points = (
        DiaSource.objects.filter(diaObjectId=OBJECT).count()
        + DiaForcedSource.objects.filter(diaObjectId=OBJECT).count()
    )
    with logged_in(browser, url, "astro") as s:
        page = s.open(f"/elasticc/objects/{OBJECT}/")
        page.wait_for_selector("#lightcurve .main-svg")
        # the axes say their units, so an exported PNG does too
        assert page.text_content("#lightcurve .g-ytitle") == "psFlux [nJy]"
        assert page.text_content("#lightcurve .g-xtitle") == "midPointTai [d] (MJD, TAI)"

        csv_file = download(page, "#lightcurve-csv")
        assert csv_file.suggested_filename == f"lightcurve-{OBJECT}.csv"
        lines = Path(csv_file.path()).read_text().splitlines()
        assert lines[0].startswith("kind,diaSourceId,diaForcedSourceId,diaObjectId,midPointTai,filterName,psFlux")
        assert len(lines) == 1 + points

        ecsv_file = download(page, "#lightcurve-ecsv")
        assert ecsv_file.suggested_filename == f"lightcurve-{OBJECT}.ecsv"
        table = Table.read(Path(ecsv_file.path()).read_text(), format="ascii.ecsv")
        assert len(table) == points and sorted(set(table["kind"])) == ["forced", "source"]
        assert str(table["psFlux"].unit) == "nJy" and str(table["midPointTai"].unit) == "d"

        page.hover("#lightcurve")
        png = download(page, "#lightcurve .modebar-btn[data-title='Download plot as a PNG']")
        assert png.suggested_filename == f"lightcurve-{OBJECT}.png"
        assert Path(png.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        s.shot("object-downloads")
