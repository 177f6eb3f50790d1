"""The original DESC TOM's JSON routes under /elasticc2/ for follow-up (followup/urls.py), and the
REST call that makes a TOM Toolkit Target of an object. Each view reads and checks its keys,
then calls lightcurves.py, spectra.py or targets.py. Answers, defaults and status codes:
docs/followup.md."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from followup import lightcurves, spectra, targets
from followup.jsonapi import Body, PostRoute, ReadRoute, RouteError, UnknownObjects, original_timestamp
from tom_desc.lib.groups import is_admin
from tom_desc.lib.mjd import mjd_now

INT32_MAX = 2**31 - 1
REAL_MAX = 3.4e38  # what a PostgreSQL real holds


def _format(body: Body, error: str) -> int:
    value = body.raw("return_format", 0)
    if isinstance(value, bool) or value not in lightcurves.FORMATS:
        raise RouteError(error.format(value), original=error.startswith("Error"))
    return int(value)


def _known_or_404(object_ids: list[int]) -> None:
    unknown = set(object_ids) - lightcurves.known_objects(object_ids)
    if unknown:
        raise UnknownObjects(unknown)


class LtcvView(ReadRoute):
    """``ltcv``: light curves of objects by id (forced photometry up to ``mjd_now``)."""

    original_name = "LtcvsView"
    keys = frozenset({"objectid", "objectids", "mjd_now", "return_format", "include_hostinfo"})

    def answer(self, body: Body, request):
        if body.has("objectid") and body.has("objectids"):
            raise RouteError("Can't supply both objectid and objectids")
        if not (body.has("objectid") or body.has("objectids")):
            raise RouteError("Must supply either objectid or objectids")
        object_ids = body.integers("objectid" if body.has("objectid") else "objectids")
        shape = lightcurves.Shape(_format(body, "Unknown return_format {}"), body.boolean("include_hostinfo"))
        mjd = body.number("mjd_now")
        _known_or_404(object_ids)
        return lightcurves.wrap(lightcurves.ltcv(object_ids, mjd, shape))


class HotTransientsView(ReadRoute):
    """``gethottransients``: objects detected in a window, with their light curves."""

    original_name = "GetHotSNeView"
    keys = frozenset(
        {
            "detected_since_mjd",
            "detected_in_last_days",
            "mjd_now",
            "return_format",
            "include_hostinfo",
            "cheat_gentypes",
        }
    )
    DEFAULT_DAYS = 30.0

    def answer(self, body: Body, request):
        if body.has("detected_since_mjd") and body.has("detected_in_last_days"):
            raise RouteError("Error, only give one of detected_since_mjd or detected_in_last_days", original=True)
        now = body.number("mjd_now")
        if body.has("detected_since_mjd"):
            since = body.number("detected_since_mjd")
        else:
            since = (mjd_now() if now is None else now) - body.number("detected_in_last_days", self.DEFAULT_DAYS)
        gentypes = None
        if body.has("cheat_gentypes"):
            raw = body.raw("cheat_gentypes")
            if not isinstance(raw, list):
                raise RouteError("Error, cheat_gentypes must be a list", original=True)
            if not is_admin(request.user):
                raise RouteError(
                    "cheat_gentypes selects by the simulation truth, which only members of elasticc_admin may read",
                    status=403,
                )
            gentypes = body.integers("cheat_gentypes")
        shape = lightcurves.Shape(_format(body, "Error, unknown return_format {}"), body.boolean("include_hostinfo"))
        return lightcurves.wrap(lightcurves.hot_transients(since, now, shape, gentypes))


class AskForSpectrumView(PostRoute):
    """``askforspectrum``: want spectra of objects, with priorities 0 (none) to 5 (highest)."""

    original_name = "AskForSpectrumView"
    keys = frozenset({"requester", "objectids", "priorities"})
    MALFORMED = "Mal-formed data for askforspectrum"

    def answer(self, body: Body, request):
        object_ids, priorities = body.raw("objectids"), body.raw("priorities")
        if (
            not body.has("requester")
            or not isinstance(object_ids, list)
            or not isinstance(priorities, list)
            or len(object_ids) != len(priorities)
        ):
            raise RouteError(self.MALFORMED, original=True)
        requester = body.text("requester", nonempty=True)
        object_ids = body.integers("objectids")
        wanted = {}  # an object named twice: its last priority, as a second request would leave it
        for i, (object_id, priority) in enumerate(zip(object_ids, priorities)):
            wanted[object_id] = spectra.clamp_priority(
                body.integer("priorities", value=priority, name=f"priorities[{i}]")
            )
        written = spectra.ask(request.user.id, requester, wanted)
        return {"status": "ok", "message": "wanted spectra created", "num": written}


class WhatSpectraAreWantedView(PostRoute):
    """``spectrawanted``: the requests still open, highest priority first, with each object's
    latest magnitude per band (``mag`` on the original's scale, ``mag_ab`` the AB magnitude)."""

    original_name = "WhatSpectraAreWanted"
    keys = frozenset(
        {
            "requested_since",
            "not_claimed_in_last_days",
            "no_spectra_in_last_days",
            "not_observed_in_last_days",  # what the original actually read for the line above
            "detected_since_mjd",
            "detected_in_last_days",
            "lim_mag",
            "lim_mag_band",
        }
    )

    def answer(self, body: Body, request):
        query = wanted_query(body)
        rows = spectra.wanted(query)
        return {"status": "ok", "wantedspectra": [wanted_json(w) for w in rows]}


def wanted_query(body: Body) -> spectra.WantedQuery:
    """spectrawanted's filters with the original's defaults: requested in the last 14 days, not
    planned in the last 7, no spectrum in the last 7, detected in the last 14 (wall clock)."""
    if body.has("requested_since"):
        requested_since = original_timestamp(body.raw("requested_since"), "requested_since")
    else:
        requested_since = spectra.days_ago(14)
    no_spectra_days = body.number("no_spectra_in_last_days")
    alias = body.number("not_observed_in_last_days")
    if no_spectra_days is not None and alias is not None and alias != no_spectra_days:
        raise RouteError("no_spectra_in_last_days and not_observed_in_last_days differ; give one")
    no_spectra_days = next((d for d in (no_spectra_days, alias) if d is not None), 7.0)
    if body.has("detected_since_mjd"):  # wins over detected_in_last_days, as in the original
        detected_after = body.number("detected_since_mjd")
    else:
        detected_after = mjd_now() - body.number("detected_in_last_days", 14.0)
    lim_mag, band = body.number("lim_mag"), body.text("lim_mag_band")
    if (lim_mag is None) != (band is None):
        raise RouteError("give lim_mag and lim_mag_band together (a magnitude limit is in one band)")
    if band is not None:
        band = "Y" if band == "y" else band
        if band not in spectra.BANDS:
            raise RouteError(f"lim_mag_band must be one of {', '.join(spectra.BANDS)}, not {band!r}")
    return spectra.WantedQuery(
        requested_since=requested_since,
        claimed_since=spectra.days_ago(body.number("not_claimed_in_last_days", 7.0)),
        no_spectra_since=mjd_now() - no_spectra_days,
        detected_after=detected_after,
        lim_mag_ab=None if lim_mag is None else lim_mag + spectra.ORIGINAL_MAG_OFFSET,
        lim_mag_band=band,
    )


def wanted_json(w: spectra.Wanted) -> dict:
    latest = {
        band: {"mjd": mjd, "mag": mag_ab - spectra.ORIGINAL_MAG_OFFSET, "mag_ab": mag_ab}
        for band, (mjd, mag_ab) in w.latest.items()
    }
    return {"oid": w.diaobject_id, "ra": w.ra, "dec": w.dec, "req": w.requester, "prio": w.priority, "latest": latest}


def _object_and_facility(body: Body) -> tuple[int, str]:
    if not (body.has("objectid") and body.has("facility")):
        raise RouteError("Post data must be json with keys objectid and facility", original=True)
    return body.integer("objectid"), body.text("facility", nonempty=True)


class PlanSpectrumView(PostRoute):
    """``planspectrum``: plan a spectrum of an object at a facility (replacing its earlier plan)."""

    original_name = "PlanToDoSpectrum"
    keys = frozenset({"objectid", "facility", "plantime", "comment"})

    def answer(self, body: Body, request):
        object_id, facility = _object_and_facility(body)
        raw = body.raw("plantime")
        failure = f"Failed to parse '{raw}' as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
        plantime = body.timestamp("plantime", failure=failure)
        comment = body.text("comment", "") or ""
        planned = spectra.plan(object_id, facility, plantime, comment)
        return {
            "status": "ok",
            "objectid": planned.diaobject_id,
            "facility": planned.facility,
            "created_at": planned.created_at,
            "plantime": planned.plantime,
            "comment": planned.comment,
        }


class RemoveSpectrumPlanView(PostRoute):
    """``removespectrumplan``: drop a facility's plan for an object."""

    original_name = "RemoveSpectrumPlan"
    keys = frozenset({"objectid", "facility"})

    def answer(self, body: Body, request):
        object_id, facility = _object_and_facility(body)
        _known_or_404([object_id])
        deleted = spectra.remove_plan(object_id, facility)
        return {"status": "ok", "facility": facility, "objectid": object_id, "n_deleted": deleted}


def _optional(body: Body, key: str, read):
    """z and classid: null or "" means not known (stored NULL), as in the original."""
    return None if body.raw(key) in (None, "") else read(key)


class ReportSpectrumInfoView(PostRoute):
    """``reportspectruminfo``: what a spectrum showed; clears the facility's plan and every
    request for the object."""

    original_name = "ReportSpectrumInfo"
    keys = frozenset({"objectid", "facility", "mjd", "z", "classid"})

    def answer(self, body: Body, request):
        missing = sorted(self.keys - set(body.data))
        if missing:
            raise RouteError(f"Incorrect fields. Missing required fields: {missing}.", original=True)
        object_id, facility = _object_and_facility(body)
        mjd = body.number("mjd")
        z = _optional(body, "z", body.number)
        if z is not None and abs(z) > REAL_MAX:
            raise RouteError(f"z must be at most {REAL_MAX:g} in size, not {z!r}")
        classid = _optional(body, "classid", body.integer)
        if classid is not None and abs(classid) > INT32_MAX:
            raise RouteError(f"classid must be a 32-bit integer, not {classid!r}")
        info = spectra.report(object_id, facility, mjd, z, classid)
        return {
            "status": "ok",
            "objectid": info.diaobject_id,
            "facility": info.facility,
            "inserted_at": info.inserted_at,
            "mjd": info.mjd,
            "z": info.z,
            "classid": info.classid,
        }


class GetKnownSpectrumInfoView(PostRoute):
    """``getknownspectruminfo``: the reported spectra, filtered, by MJD."""

    original_name = "GetKnownSpectrumInfo"
    keys = frozenset({"objectid", "facility", "mjd_min", "mjd_max", "classid", "z_min", "z_max", "since"})

    def answer(self, body: Body, request):
        query = spectra.KnownQuery(
            object_ids=body.integers("objectid") if body.has("objectid") else None,
            facility=body.text("facility"),
            mjd_min=body.number("mjd_min"),
            mjd_max=body.number("mjd_max"),
            classid=body.integer("classid"),
            z_min=body.number("z_min"),
            z_max=body.number("z_max"),
            since=body.timestamp("since"),
        )
        return {"status": "ok", "spectra": [known_json(s) for s in spectra.known(query)]}


def known_json(info) -> dict:
    return {
        "objectid": info.diaobject_id,
        "facility": info.facility,
        "mjd": info.mjd,
        "z": info.z,
        "classid": info.classid,
        "report_time": info.inserted_at,
    }


# ---- TOM Toolkit Targets (not in the original) ----------------------------------------------


class MakeTargetRequest(serializers.Serializer):
    objectid = serializers.IntegerField(min_value=-(2**63), max_value=2**63 - 1)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({key: ["Unknown key."] for key in sorted(unknown)})
        return attrs


@extend_schema(exclude=True)  # documented in docs/followup.md
class MakeTargetView(APIView):
    """``POST /elasticc2/maketarget {"objectid": N}``: the object's TOM Toolkit Target, made the
    first time (201) and returned as it is afterwards (200), its photometry brought up to date.
    Errors are the site's JSON errors (docs/api.md): 400, 404 for an object the TOM does not
    know, 409 when another Target already has the name."""

    permission_classes = [IsAuthenticated]

    def post(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        form = MakeTargetRequest(data=request.data)
        form.is_valid(raise_exception=True)
        object_id = form.validated_data["objectid"]
        try:
            made = targets.target_for_object(object_id)
        except targets.NotKnown:
            raise NotFound(f"Unknown objectid {object_id}: no ELAsTiCC2 object the TOM knows has it.") from None
        except targets.NameTaken as exc:
            return Response({"status": 409, "code": "conflict", "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if not made.readable_by(request.user):
            raise PermissionDenied("You may not view this Target.")
        return Response(
            made.as_json(request),
            status=status.HTTP_201_CREATED if made.created else status.HTTP_200_OK,
            headers={"Location": made.url(request)},
        )
