"""Who may do what through the REST API.

- Anonymous: nothing (401, JSON).
- Any logged-in user (session or token): read objects, sources, forced sources,
  sent alerts, classifiers, broker messages and the taxonomy.
- Members of ``elasticc_admin``: also the truth tables and unsent alerts.
- Members of ``elasticc_broker``: also PUT/POST broker messages.
Superusers count as members of both groups.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tom_desc.lib.groups import BROKER_GROUP, in_group, is_admin


class IsElasticcAdmin(BasePermission):
    """Truth tables: members of elasticc_admin only."""

    message = "Only members of the elasticc_admin group may read this."

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class BrokersWrite(BasePermission):
    """Any logged-in user reads; only members of elasticc_broker write."""

    message = "Only members of the elasticc_broker group may send broker messages."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return in_group(request.user, BROKER_GROUP)
