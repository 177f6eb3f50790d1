"""Units and descriptions of every column of both campaigns' tables: the one place that the
REST API's OpenAPI schema, the file formats (ECSV and VOTable headers, Parquet metadata), the
long-query result files, the client's astropy Tables and plot axes ("psFlux [nJy]") read.

Why one place: fluxes are nJy (zero point 31.4), times MJD (TAI) and angles degrees, and an
analyst's tools (TOPCAT, astropy) should be told so by the data rather than by a wiki page. Two
copies of that knowledge would drift apart.

Where it comes from:
1. the Avro schemas the alerts are streamed with (elasticc/stream/schemas/*.avsc): their ``doc``
   strings describe the alert columns, and name the units ("degrees", "MJD (TAI)", "(nJy)",
   "Uncertainty of psFlux") that ``_unit_of_doc`` recognises;
2. the taxonomy (elasticc/taxonomy.py) for classId and gentype columns;
3. ``DOCUMENTED`` and ``PATTERNS`` below for the columns the Avro schemas do not carry or do not
   document (host-galaxy photometry, truth tables, broker bookkeeping).

Names are matched whatever their spelling: ELAsTiCC's ``diaObjectId`` and ELAsTiCC2's
``diaobject_id`` are one column (``key`` lower-cases and drops underscores). Units are astropy
unit strings that are also valid VOUnits (``deg``, ``d``, ``nJy``, ``mag``, ``arcsec``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from elasticc import taxonomy

SCHEMA_DIR = Path(__file__).parent / "stream" / "schemas"
AVRO_RECORDS = ("diaObject", "diaSource", "diaForcedSource", "alert", "brokerClassification")

FLUX, MJD, DEGREES, MAG, ARCSEC = "nJy", "d", "deg", "mag", "arcsec"
BANDS = "ugrizY"


@dataclass(frozen=True)
class ColumnInfo:
    """What a column means: its unit (an astropy/VOUnit string, None when it has none), a
    sentence of description, and an IVOA UCD where one helps tools (TOPCAT finds positions by
    ``pos.eq.ra``/``pos.eq.dec``)."""

    name: str
    description: str
    unit: str | None = None
    ucd: str | None = None

    def label(self) -> str:
        """An axis label: ``psFlux [nJy]``, or the bare name for a column without a unit."""
        return f"{self.name} [{self.unit}]" if self.unit else self.name

    def help_text(self) -> str:
        """The description with its unit, as the OpenAPI schema shows it."""
        text = self.description.rstrip(".") + "."
        return f"{text} Unit: {self.unit}." if self.unit else text


def key(name: str) -> str:
    """The spelling-free form of a column name: ``diaObjectId`` and ``diaobject_id`` meet."""
    return name.replace("_", "").lower()


def _unit_of_doc(doc: str) -> str | None:
    """The unit an Avro ``doc`` string names, or None."""
    if "(nJy)" in doc:
        return FLUX
    if "MJD" in doc:
        return MJD
    if re.search(r"\bdegrees\b", doc):
        return DEGREES
    return None


@cache
def _avro_columns() -> dict[str, ColumnInfo]:
    """Documented fields of the streamed Avro records, by key, the first record naming a field
    describing it (an object's id is described by diaObject); "Uncertainty of X" takes X's unit."""
    found: dict[str, ColumnInfo] = {}
    for record_name in AVRO_RECORDS:
        for path in sorted(SCHEMA_DIR.glob(f"*.{record_name}.avsc")):
            for field in json.loads(path.read_text()).get("fields", []):
                doc = field.get("doc")
                if not doc or isinstance(field["type"], dict) or key(field["name"]) in found:
                    continue
                unit = _unit_of_doc(doc)
                uncertain = re.match(r"Uncertainty of (\w+)", doc)
                if uncertain and key(uncertain.group(1)) in found:
                    unit = found[key(uncertain.group(1))].unit
                found[key(field["name"])] = ColumnInfo(field["name"], doc, unit)
    return found


# Columns the Avro schemas do not document: (description, unit).
DOCUMENTED: dict[str, tuple[str, str | None]] = {
    "mwebv": ("Milky Way extinction E(B-V)", MAG),
    "mwebv_err": ("Uncertainty of mwebv", MAG),
    "z_final_err": ("Uncertainty of z_final", None),
    "simVersion": ("Provenance of the simulated object", None),
    "isddf": ("Whether the object lies in a deep-drilling field (its alerts have topics of their own)", None),
    "ccdVisitId": ("The CCD visit of the exposure (null unless the SNANA files carry it)", None),
    "parentDiaSourceId": ("The source this one was deblended from (null unless given)", None),
    "nobs": ("Number of observations", None),
    "totFlux": ("Total flux, zero point 31.4 (nJy)", FLUX),
    "totFluxErr": ("Uncertainty of totFlux", FLUX),
    "alertSentTimestamp": ("When the alert was delivered to Kafka (UTC); null until then", None),
    "alertMidPointTai": ("Time of the alert's source, MJD (TAI)", MJD),
    "mjd": ("Time of the observation, MJD (TAI)", MJD),
    "detect": ("Whether the observation is a detection", None),
    "genmag": ("Simulated (true) magnitude of the observation", MAG),
    "libid": ("SNANA cadence library id", None),
    "sim_searcheff_mask": ("SNANA search-efficiency bit mask", None),
    "non1a_index": ("SNANA non-Ia template index", None),
    "sim_template_index": ("SNANA template index (the DUMP's NON1A_INDEX)", None),
    "galnmatch": ("Number of host galaxy candidates", None),
    "zcmb": ("True redshift in the CMB frame", None),
    "zhelio": ("True heliocentric redshift", None),
    "zcmb_smear": ("Redshift in the CMB frame with its simulated error", None),
    "dec": ("Declination, degrees", DEGREES),
    "galid": ("Id of the true host galaxy", None),
    "galzphot": ("Photometric redshift of the true host", None),
    "galzphoterr": ("Uncertainty of galzphot", None),
    "galsnsep": ("Separation between the object and its true host", ARCSEC),
    "galsnddlr": ("Separation from the true host in units of its directional light radius", None),
    "rv": ("Host extinction law parameter R_V", None),
    "av": ("Host extinction A_V", MAG),
    "mu": ("Distance modulus", MAG),
    "lensdmu": ("Weak-lensing change of the distance modulus", MAG),
    "peakmjd": ("Time of peak brightness, MJD (TAI)", MJD),
    "mjd_detect_first": ("Time of the first detection, MJD (TAI)", MJD),
    "mjd_detect_last": ("Time of the last detection, MJD (TAI)", MJD),
    "dtseason_peak": ("Days between the peak and the nearest edge of the observing season", MJD),
    "snrmax": ("Highest signal-to-noise ratio of the light curve", None),
    "snrmax2": ("Second highest signal-to-noise ratio", None),
    "snrmax3": ("Third highest signal-to-noise ratio", None),
    "nobs_saturate": ("Number of saturated observations", None),
    "id": ("Row id", None),
    "description": ("What the class or gentype is", None),
    "exactmatch": ("Whether the gentype is exactly this class", None),
    "categorymatch": ("Whether the gentype falls under this class's category", None),
    "generalmatch": ("Whether the gentype falls under this class's general class", None),
    "broadmatch": ("Whether the gentype falls under this class's broad class", None),
    "classifierId": ("Id of the broker's classifier", None),
    "registeredBy": ("The account that first sent this classifier's classifications", None),
    "modified": ("When the row last changed (UTC)", None),
    "brokerMessageId": ("Id of the broker message", None),
    "streamMessageId": ("Kafka offset of the broker's message (null for REST uploads)", None),
    "topicName": ("Kafka topic the broker's message came from", None),
    "kafkaPartition": ("Kafka partition the broker's message came from", None),
    "msgHdrTimestamp": ("When the broker published its message (UTC)", None),
    "descIngestTimestamp": ("When this site stored the broker's message (UTC)", None),
    "classificationId": ("Id of the classification", None),
    "dist_arcsec": ("Angular distance from the cone's centre", ARCSEC),
    "kind": ("source: a detection (diaSource); forced: forced photometry (diaForcedSource)", None),
}

# Families of columns: (pattern on the lower-cased name, description template, unit). The
# template may use the pattern's groups: host ("" or "2"), band, q (a quantile).
PATTERNS: list[tuple[str, str, str | None]] = [
    (r"hostgal(?P<host>2?)_ellipticity", "Ellipticity of the {host} host galaxy candidate", None),
    (r"hostgal(?P<host>2?)_sqradius", "Squared radius of the {host} host galaxy candidate", "arcsec**2"),
    (r"hostgal(?P<host>2?)_zspec", "Spectroscopic redshift of the {host} host galaxy candidate", None),
    (r"hostgal(?P<host>2?)_zspec_err", "Uncertainty of the {host} host's spectroscopic redshift", None),
    (r"hostgal(?P<host>2?)_zphot", "Photometric redshift of the {host} host galaxy candidate", None),
    (r"hostgal(?P<host>2?)_zphot_err", "Uncertainty of the {host} host's photometric redshift", None),
    (r"hostgal(?P<host>2?)_zphot_q(?P<q>\d{3})", "Quantile {q} % of the {host} host's photometric redshift", None),
    (r"hostgal(?P<host>2?)_zphot_p50", "Median photometric redshift of the {host} host", None),
    (
        r"hostgal(?P<host>2?)_mag_(?P<band>[ugrizy])",
        "Magnitude of the {host} host galaxy candidate in band {band}",
        MAG,
    ),
    (
        r"hostgal(?P<host>2?)_magerr_(?P<band>[ugrizy])",
        "Uncertainty of the {host} host's magnitude in band {band}",
        MAG,
    ),
    (r"hostgal(?P<host>2?)_ra", "Right ascension of the {host} host galaxy candidate", DEGREES),
    (r"hostgal(?P<host>2?)_dec", "Declination of the {host} host galaxy candidate", DEGREES),
    (r"hostgal(?P<host>2?)_snsep", "Separation between the object and the {host} host galaxy candidate", ARCSEC),
    (r"peakmag_(?P<band>[ugrizy])", "Simulated peak magnitude in band {band}", MAG),
]

# IVOA UCDs of the columns tools look for, by key().
UCDS = {
    "ra": "pos.eq.ra;meta.main",
    "decl": "pos.eq.dec;meta.main",
    "dec": "pos.eq.dec",
    "midpointtai": "time.epoch",
    "mjd": "time.epoch",
    "filtername": "instr.bandpass",
    "psflux": "phot.flux",
    "psfluxerr": "stat.error;phot.flux",
    "diaobjectid": "meta.id;src",
    "diasourceid": "meta.id",
    "diaforcedsourceid": "meta.id",
    "distarcsec": "pos.angDistance",
}


def _taxonomy_columns() -> dict[str, ColumnInfo]:
    """classId and gentype, described from the taxonomy."""
    n = len(taxonomy.classes())
    return {
        "classid": ColumnInfo(
            "classId",
            f"A class of the campaign's taxonomy ({n} classes in ELAsTiCC's: /elasticc/classids/ lists them, "
            "/elasticc2/classids ELAsTiCC2's)",
            ucd="src.class",
        ),
        "gentype": ColumnInfo(
            "gentype", "SNANA's model type of the simulated object (the taxonomy maps it to classIds)"
        ),
        "probability": ColumnInfo("probability", "The classifier's probability of the classId, between 0 and 1"),
    }


def _pattern_info(name: str) -> ColumnInfo | None:
    for pattern, template, unit in PATTERNS:
        match = re.fullmatch(pattern, name.lower())
        if match:
            parts = match.groupdict()
            words = {
                "host": "second" if parts.get("host") == "2" else "nearest",
                "band": (parts.get("band") or "").replace("y", "Y"),
                "q": str(int(parts["q"])) if parts.get("q") else "",
            }
            return ColumnInfo(name, template.format(**words), unit)
    return None


def _family_names() -> list[str]:
    """Every name the PATTERNS families cover, in ELAsTiCC's spelling (bands ugrizY)."""
    names = []
    for host in ("", "2"):
        h = f"hostgal{host}"
        names += [f"{h}_{w}" for w in ("ellipticity", "sqradius", "zspec", "zspec_err", "zphot", "zphot_err")]
        names += [f"{h}_zphot_q{q:03d}" for q in range(0, 101, 10)] + [f"{h}_zphot_p50"]
        names += [f"{h}_{kind}_{band}" for kind in ("mag", "magerr") for band in BANDS]
        names += [f"{h}_ra", f"{h}_dec", f"{h}_snsep"]
    return names + [f"peakmag_{band}" for band in BANDS]


@cache
def _by_key() -> dict[str, ColumnInfo]:
    table = dict(_avro_columns())
    for name, (description, unit) in DOCUMENTED.items():
        table.setdefault(key(name), ColumnInfo(name, description, unit))
    table.update(_taxonomy_columns())
    return table


def info(name: str) -> ColumnInfo | None:
    """What the column `name` (either campaign's spelling) means; None for a name we do not know
    (a computed column of an analyst's SQL, say)."""
    found = _by_key().get(key(name)) or _pattern_info(name)
    if found is None:
        return None
    ucd = UCDS.get(key(name), found.ucd)
    return ColumnInfo(name, found.description, found.unit, ucd)


def unit(name: str) -> str | None:
    found = info(name)
    return found.unit if found else None


def label(name: str) -> str:
    """An axis label for the column: ``psFlux [nJy]``, ``midpointtai [d]``, or the name alone."""
    found = info(name)
    return found.label() if found else name


def described(names: list[str]) -> dict[str, dict]:
    """``{name: {"unit", "description", "ucd"}}`` of the known names among `names`."""
    out = {}
    for name in names:
        found = info(name)
        if found is not None:
            out[name] = {"unit": found.unit, "description": found.description, "ucd": found.ucd}
    return out


def catalogue() -> dict[str, dict]:
    """Every column this module knows (one spelling each), for the /elasticc/columns/ endpoint."""
    return described([c.name for c in _by_key().values()] + _family_names())
