"""Light-curve sparklines as inline SVG, drawn on the server: no script (the pages' Content-Security-
Policy allows none inline) and nothing to load. One polyline per band of flux against time over
the window shown, the same band colours as the object page's plot, the zero-flux line dashed."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

BAND_COLOURS = {"u": "#6f42c1", "g": "#198754", "r": "#dc3545", "i": "#fd7e14", "z": "#8b4513", "Y": "#212529"}
WIDTH, HEIGHT, PAD = 160, 40, 2


def sparkline(points: list[tuple[float, str, float]], since: float, until: float, label: str = ""):
    """SVG of (mjd, band, flux) points between MJD `since` and `until` (safe HTML)."""
    if not points:
        return format_html('<span class="text-muted small">{}</span>', "no points")
    fluxes = [flux for _, _, flux in points]
    low, high = min(0.0, min(fluxes)), max(0.0, max(fluxes))
    span_y = (high - low) or 1.0
    span_x = (until - since) or 1.0

    def x(mjd: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * (mjd - since) / span_x

    def y(flux: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (flux - low) / span_y

    bands: dict[str, list[str]] = {}
    for mjd, band, flux in points:
        bands.setdefault(band, []).append(f"{x(mjd):.1f},{y(flux):.1f}")
    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="1.2" points="{}"><title>{}</title></polyline>',
        ((BAND_COLOURS.get(band, "#6c757d"), " ".join(xy), band) for band, xy in sorted(bands.items())),
    )
    title = f"{label}: {len(points)} forced points, MJD {since:.1f} to {until:.1f}, flux (nJy) against time"
    return format_html(
        '<svg class="sparkline" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">'
        '<title>{t}</title><line x1="0" x2="{w}" y1="{zero}" y2="{zero}" stroke="#adb5bd" '
        'stroke-dasharray="2,2"/>{lines}</svg>',
        w=WIDTH,
        h=HEIGHT,
        t=title,
        zero=f"{y(0.0):.1f}",
        lines=lines,
    )
