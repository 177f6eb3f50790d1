"""The Target page's way back: ``{% elasticc2_target_card target %}`` (tom_desc/templates/
tom_targets/target_detail.html) shows, for a Target made from ELAsTiCC2 objects, a link to each
object's page and the spectra reported for it. Nothing of the simulation truth is shown."""

from __future__ import annotations

from django import template

from followup import targets
from followup.models import SpectrumInfo

register = template.Library()


@register.inclusion_tag("followup/_target_card.html")
def elasticc2_target_card(target):
    object_ids = targets.objects_of(target) if target is not None and target.pk else []
    spectra = SpectrumInfo.objects.filter(diaobject_id__in=object_ids).order_by("mjd", "specinfo_id")
    return {"object_ids": object_ids, "spectra": list(spectra)}
