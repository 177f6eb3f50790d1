from __future__ import annotations

from django.apps import AppConfig


class FollowupConfig(AppConfig):
    """Follow-up of ELAsTiCC2 objects: light curves and hot transients for pipelines, the
    spectrum cycle (asked, planned, reported), its pages, and TOM Toolkit Targets made from
    objects. It builds on elasticc2's TOM-known tables; nothing imports it (docs/followup.md)."""

    name = "followup"
    verbose_name = "Follow-up"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        from followup import sections

        sections.register()
