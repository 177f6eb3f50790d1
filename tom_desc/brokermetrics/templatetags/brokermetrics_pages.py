"""Template filters of the broker pages."""

from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """A delay in seconds as a short human string: 0.4 s, 45 s, 12 min, 3.2 h, 4.7 d."""
    if seconds is None:
        return "–"
    s = float(seconds)
    sign, s = ("-" if s < 0 else ""), abs(s)
    if s < 10:
        return f"{sign}{s:.1f} s"
    if s < 120:
        return f"{sign}{s:.0f} s"
    if s < 7200:
        return f"{sign}{s / 60:.1f} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} d"
