"""What follow-up adds to ELAsTiCC's pages through their section slots (elasticc/pages/sections.py;
elasticc imports nothing of this app): on an ELAsTiCC2 object page, the object's spectrum
requests, plans and reported spectra with the forms to ask, plan and report, and its TOM Toolkit
Target (or the button that makes it); on the /elasticc/ landing page, links to the follow-up
pages."""

from __future__ import annotations

from django.http import HttpRequest

from elasticc.pages import sections
from elasticc2.models import DiaObject
from followup import forms, spectra, targets

CAMPAIGN = "elasticc2"  # the object pages this section belongs on (ELAsTiCC's have no follow-up tables)


def object_section(request: HttpRequest) -> dict:
    """The section's context for /elasticc2/objects/<id>/ (an empty one on other object pages)."""
    match = request.resolver_match
    if match is None or match.namespace != CAMPAIGN or "object_id" not in match.kwargs:
        return {"followup": None}
    object_id = match.kwargs["object_id"]
    known = DiaObject.objects.filter(pk=object_id).exists()
    context = {"object_id": object_id, "known": known, "next": request.get_full_path()}
    if known:
        context.update(
            spectra.of_object(object_id),
            target=targets.target_of(object_id),
            requester=request.user.get_username(),  # asking under one's own name by default
            class_choices=forms.class_choices(),
        )
    return {"followup": context}


def landing_section(request: HttpRequest) -> dict:
    return {}


def register() -> None:
    sections.add(sections.OBJECT, sections.Section("followup/_object_section.html", object_section))
    sections.add(sections.INDEX, sections.Section("followup/_landing.html", landing_section))
