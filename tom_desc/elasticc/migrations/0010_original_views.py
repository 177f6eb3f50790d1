"""The original DESC TOM's analysis views of the elasticc tables, under their names.

Published metric scripts (nth-detection confusion matrices, probability histograms, the
early/late best-probability comparison) query these; the SQL is written afresh with the
original's semantics (docs/sqlviews.md):

- elasticc_view_sourceclassifications (a plain view): one row per classification, with its
  classifier, message, source, alert and the object's true class;
- elasticc_view_prevsourcecounts: per source, the detections up to and including it, the
  first detection time, and the forced points before it once more than half a day has
  passed since the first detection (no 30-day lower bound, as in the original);
- elasticc_view_dedupedclassifications: per (message, classId), the mean, count and
  sample standard deviation of the probabilities, with dt = source time - true peak;
- elasticc_view_classifications_probmetrics: counts per (classifier, classId, true class,
  5-day bin of dt from -30 to +100 = width_bucket 1..26, 0.05 probability bin 1..20);
- elasticc_view_classifications_totprobpersource: per (classifier, source), the summed
  probability over all its messages; elasticc_view_classifiersourcetotprob is the same
  under the name of the original's migration file (clients use both);
- elasticc_maxprob_timebins: a table of 14 dt bins (0: before -20 d, 13: after +100 d);
- elasticc_view_class_max_right_in_bin: per (dt bin, object, classifier, true class), the
  highest mean probability given to the true class;
- elasticc_view_nobjclassified_in_timebin: objects classified at all per (classifier,
  true class, dt bin), the bin's edges both excluded as in the original;
- elasticc_view_class_max_right_hist: histogram of those maxima in 0.05 bins centred on
  0, 0.05, ..., 1 (binmeanmaxprob numeric);
- elasticc_view_maxprobdiff: early (bins 3-5) against late (bins 7-13) maxima per object;
- elasticc_view_maxprobdiff_hist: histogram of late - early in 0.05 bins centred on
  -1 ... +1 (binmeanprobdiff numeric; the original wrote its offset as -0.9999999999999999).

The materialized views are created empty and filled here only on a small database; on a
large one `manage.py refresh_elasticc_views` fills them (hours at the campaign's size).
Each has a unique index so later refreshes run CONCURRENTLY, without blocking readers.
Readable by elasticc_admin_ro (they read the truth), except the two per-source probability
sums, which read only broker tables (sqlquery/roles.py TABLE_RULES).
"""

from django.db import migrations

TIMEBINS = [(0, -999999, -20)] + [(k, -30 + 10 * k, -20 + 10 * k) for k in range(1, 13)] + [(13, 100, 999999)]

CREATE = f"""
CREATE VIEW elasticc_view_sourceclassifications AS
SELECT cfer."classifierId", cfer."brokerName", cfer."brokerVersion", cfer."classifierName", cfer."classifierParams",
       c."classId", c.probability,
       s."diaSourceId", s."diaObjectId", t.gentype, g."classId" AS "trueClassId",
       a."alertId", m."brokerMessageId", a."alertSentTimestamp",
       m."elasticcPublishTimestamp", m."brokerIngestTimestamp", m."msgHdrTimestamp", m."descIngestTimestamp"
FROM elasticc_brokermessage m
JOIN elasticc_brokerclassification c
  ON c."classifierId" = m."classifierId" AND c."brokerMessageId" = m."brokerMessageId"
JOIN elasticc_brokerclassifier cfer ON cfer."classifierId" = c."classifierId"
JOIN elasticc_diasource s ON s."diaSourceId" = m."diaSourceId"
JOIN elasticc_diaalert a ON a."alertId" = m."alertId"
JOIN elasticc_diaobjecttruth t ON t."diaObjectId" = s."diaObjectId"
JOIN elasticc_gentypeofclassid g ON g.gentype = t.gentype;

-- Detections up to and including each source (a running count over the object's sources in
-- time order, ties counted together as "<=" does) and, once past the first night, the forced
-- points strictly before it (one index range count on elasticc_diaforced_obj_time).
CREATE MATERIALIZED VIEW elasticc_view_prevsourcecounts AS
SELECT s."diaSourceId", s."diaObjectId", s."midPointTai", s.ndetections, s.mint,
       CASE WHEN s."midPointTai" > s.mint + 0.5 THEN (
           SELECT count(*) FROM elasticc_diaforcedsource f
           WHERE f."diaObjectId" = s."diaObjectId" AND f."midPointTai" < s."midPointTai"
       ) ELSE 0 END AS nforced
FROM (
    SELECT "diaSourceId", "diaObjectId", "midPointTai",
           count(*) OVER (PARTITION BY "diaObjectId" ORDER BY "midPointTai"
                          RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ndetections,
           min("midPointTai") OVER (PARTITION BY "diaObjectId") AS mint
    FROM elasticc_diasource
) s
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_prevsourcecounts_key ON elasticc_view_prevsourcecounts ("diaObjectId", "diaSourceId");
CREATE INDEX elasticc_view_prevsourcecounts_source ON elasticc_view_prevsourcecounts ("diaSourceId");

CREATE MATERIALIZED VIEW elasticc_view_dedupedclassifications AS
SELECT c."classifierId", c."brokerMessageId", c."classId", g."classId" AS "trueClassId", m."diaSourceId",
       s."midPointTai" - t.peakmjd AS dt,
       count(c.probability) AS n, avg(c.probability) AS probability, stddev(c.probability) AS sigma
FROM elasticc_brokerclassification c
JOIN elasticc_brokermessage m
  ON m."classifierId" = c."classifierId" AND m."brokerMessageId" = c."brokerMessageId"
JOIN elasticc_diasource s ON s."diaSourceId" = m."diaSourceId"
JOIN elasticc_diaobjecttruth t ON t."diaObjectId" = s."diaObjectId"
JOIN elasticc_gentypeofclassid g ON g.gentype = t.gentype
GROUP BY c."classifierId", c."brokerMessageId", c."classId", g."classId", m."diaSourceId", s."midPointTai", t.peakmjd
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_dedupedcls_key ON elasticc_view_dedupedclassifications
    ("classifierId", "brokerMessageId", "classId", "trueClassId", "diaSourceId", dt);
CREATE INDEX elasticc_view_dedupedcls_cls ON elasticc_view_dedupedclassifications ("classId");
CREATE INDEX elasticc_view_dedupedcls_trcls ON elasticc_view_dedupedclassifications ("trueClassId");

CREATE MATERIALIZED VIEW elasticc_view_classifications_probmetrics AS
SELECT "classifierId", "classId", "trueClassId", tbin, probbin, count(*) AS count
FROM (
    SELECT "classifierId", "classId", "trueClassId",
           width_bucket(dt, -30.0, 100.0, 26) AS tbin,
           width_bucket(probability, 0.0, 1.0, 20) AS probbin
    FROM elasticc_view_dedupedclassifications
) binned
GROUP BY "classifierId", "classId", "trueClassId", tbin, probbin
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_probmetrics_key ON elasticc_view_classifications_probmetrics
    ("classifierId", "classId", "trueClassId", tbin, probbin);
CREATE INDEX elasticc_view_probmetrics_cls ON elasticc_view_classifications_probmetrics ("classId");
CREATE INDEX elasticc_view_probmetrics_trcls ON elasticc_view_classifications_probmetrics ("trueClassId");

CREATE MATERIALIZED VIEW elasticc_view_classifications_totprobpersource AS
SELECT c."classifierId", m."diaSourceId", sum(c.probability::float8) AS totprob
FROM elasticc_brokerclassification c
JOIN elasticc_brokermessage m
  ON m."classifierId" = c."classifierId" AND m."brokerMessageId" = c."brokerMessageId"
GROUP BY c."classifierId", m."diaSourceId"
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_totprob_key ON elasticc_view_classifications_totprobpersource
    ("classifierId", "diaSourceId");
CREATE INDEX elasticc_view_totprob_source ON elasticc_view_classifications_totprobpersource ("diaSourceId");

CREATE VIEW elasticc_view_classifiersourcetotprob AS
SELECT "classifierId", "diaSourceId", totprob FROM elasticc_view_classifications_totprobpersource;

CREATE TABLE elasticc_maxprob_timebins (timebin int, dtmin float8, dtmax float8);
INSERT INTO elasticc_maxprob_timebins VALUES {", ".join(f"({k}, {lo}, {hi})" for k, lo, hi in TIMEBINS)};

CREATE MATERIALIZED VIEW elasticc_view_class_max_right_in_bin AS
SELECT tb.timebin, s."diaObjectId", d."classifierId", d."trueClassId", max(d.probability) AS maxprob
FROM elasticc_view_dedupedclassifications d
JOIN elasticc_maxprob_timebins tb ON d.dt >= tb.dtmin AND d.dt < tb.dtmax
JOIN elasticc_diasource s ON s."diaSourceId" = d."diaSourceId"
WHERE d."classId" = d."trueClassId"
GROUP BY tb.timebin, s."diaObjectId", d."classifierId", d."trueClassId"
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_maxright_key ON elasticc_view_class_max_right_in_bin
    ("classifierId", "trueClassId", "diaObjectId", timebin);
CREATE INDEX elasticc_view_maxright_timebin ON elasticc_view_class_max_right_in_bin (timebin);
CREATE INDEX elasticc_view_maxright_trcls ON elasticc_view_class_max_right_in_bin ("trueClassId");

CREATE MATERIALIZED VIEW elasticc_view_nobjclassified_in_timebin AS
SELECT d."classifierId", d."trueClassId", tb.timebin, count(DISTINCT s."diaObjectId") AS n
FROM elasticc_view_dedupedclassifications d
JOIN elasticc_maxprob_timebins tb ON d.dt > tb.dtmin AND d.dt < tb.dtmax
JOIN elasticc_diasource s ON s."diaSourceId" = d."diaSourceId"
GROUP BY d."classifierId", d."trueClassId", tb.timebin
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_nobjcls_key ON elasticc_view_nobjclassified_in_timebin
    ("classifierId", "trueClassId", timebin);
CREATE INDEX elasticc_view_nobjcls_timebin ON elasticc_view_nobjclassified_in_timebin (timebin);
CREATE INDEX elasticc_view_nobjcls_trcls ON elasticc_view_nobjclassified_in_timebin ("trueClassId");

CREATE MATERIALIZED VIEW elasticc_view_class_max_right_hist AS
SELECT b.timebin, tb.dtmin, tb.dtmax, b.maxprobbin, 0.0 + (b.maxprobbin - 1) * 0.05 AS binmeanmaxprob,
       b."classifierId", b."trueClassId", count(*) AS count
FROM (
    SELECT timebin, "classifierId", "trueClassId", width_bucket(maxprob, -0.025, 1.025, 21) AS maxprobbin
    FROM elasticc_view_class_max_right_in_bin
) b
JOIN elasticc_maxprob_timebins tb ON tb.timebin = b.timebin
GROUP BY b.timebin, tb.dtmin, tb.dtmax, b.maxprobbin, b."classifierId", b."trueClassId"
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_maxrighthist_key ON elasticc_view_class_max_right_hist
    ("classifierId", "trueClassId", timebin, maxprobbin);
CREATE INDEX elasticc_view_maxrighthist_trcls ON elasticc_view_class_max_right_hist ("trueClassId");

CREATE MATERIALIZED VIEW elasticc_view_maxprobdiff AS
SELECT early.timebin AS earlytimebin, late.timebin AS latetimebin,
       early."diaObjectId", early."trueClassId", early."classifierId",
       early.maxprob AS earlymaxprob, late.maxprob AS latemaxprob
FROM elasticc_view_class_max_right_in_bin early
JOIN elasticc_view_class_max_right_in_bin late
  ON late."diaObjectId" = early."diaObjectId" AND late."trueClassId" = early."trueClassId"
 AND late."classifierId" = early."classifierId"
WHERE early.timebin IN (3, 4, 5) AND late.timebin IN (7, 8, 9, 10, 11, 12, 13)
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_maxprobdiff_key ON elasticc_view_maxprobdiff
    ("classifierId", "trueClassId", "diaObjectId", earlytimebin, latetimebin);
CREATE INDEX elasticc_view_maxprobdiff_object ON elasticc_view_maxprobdiff ("diaObjectId");
CREATE INDEX elasticc_view_maxprobdiff_trcls ON elasticc_view_maxprobdiff ("trueClassId");
CREATE INDEX elasticc_view_maxprobdiff_bins ON elasticc_view_maxprobdiff (earlytimebin, latetimebin);
CREATE INDEX elasticc_view_maxprobdiff_probs ON elasticc_view_maxprobdiff (earlymaxprob, latemaxprob);

CREATE MATERIALIZED VIEW elasticc_view_maxprobdiff_hist AS
SELECT "classifierId", "trueClassId", earlytimebin, latetimebin, probdiffbin,
       -1.0 + (probdiffbin - 1) * 0.05 AS binmeanprobdiff, count(*) AS count
FROM (
    SELECT "classifierId", "trueClassId", earlytimebin, latetimebin,
           width_bucket(latemaxprob - earlymaxprob, -1.025, 1.025, 41) AS probdiffbin
    FROM elasticc_view_maxprobdiff
) b
GROUP BY "classifierId", "trueClassId", earlytimebin, latetimebin, probdiffbin
WITH NO DATA;
CREATE UNIQUE INDEX elasticc_view_maxprobdiffhist_key ON elasticc_view_maxprobdiff_hist
    ("classifierId", "trueClassId", earlytimebin, latetimebin, probdiffbin);
CREATE INDEX elasticc_view_maxprobdiffhist_trcls ON elasticc_view_maxprobdiff_hist ("trueClassId");
CREATE INDEX elasticc_view_maxprobdiffhist_bins ON elasticc_view_maxprobdiff_hist (earlytimebin, latetimebin);
"""

DROP = """
DROP MATERIALIZED VIEW elasticc_view_maxprobdiff_hist;
DROP MATERIALIZED VIEW elasticc_view_maxprobdiff;
DROP MATERIALIZED VIEW elasticc_view_class_max_right_hist;
DROP MATERIALIZED VIEW elasticc_view_nobjclassified_in_timebin;
DROP MATERIALIZED VIEW elasticc_view_class_max_right_in_bin;
DROP TABLE elasticc_maxprob_timebins;
DROP VIEW elasticc_view_classifiersourcetotprob;
DROP MATERIALIZED VIEW elasticc_view_classifications_totprobpersource;
DROP MATERIALIZED VIEW elasticc_view_classifications_probmetrics;
DROP MATERIALIZED VIEW elasticc_view_dedupedclassifications;
DROP MATERIALIZED VIEW elasticc_view_prevsourcecounts;
DROP VIEW elasticc_view_sourceclassifications;
"""

# Fill the new views in the migration only while the tables are small: the estimated rows
# of the biggest inputs (statistics, no scan). Above it, the operator runs the refresh.
FILL_BELOW_ROWS = 1_000_000
ESTIMATE_SQL = """
SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent IN ('elasticc_brokerclassification'::regclass, 'elasticc_diaforcedsource'::regclass)
"""
IN_ORDER = [
    "elasticc_view_prevsourcecounts",
    "elasticc_view_dedupedclassifications",
    "elasticc_view_classifications_probmetrics",
    "elasticc_view_classifications_totprobpersource",
    "elasticc_view_class_max_right_in_bin",
    "elasticc_view_nobjclassified_in_timebin",
    "elasticc_view_class_max_right_hist",
    "elasticc_view_maxprobdiff",
    "elasticc_view_maxprobdiff_hist",
]


def fill_if_small(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute(ESTIMATE_SQL)
        if cur.fetchone()[0] >= FILL_BELOW_ROWS:
            print(
                "\n  elasticc views created empty (big tables): run `manage.py refresh_elasticc_views` to fill them"
            )
            return
        for name in IN_ORDER:
            cur.execute(f"REFRESH MATERIALIZED VIEW {name}")


class Migration(migrations.Migration):
    dependencies = [("elasticc", "0009_compat_columns")]

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.RunPython(fill_if_small, migrations.RunPython.noop),
    ]
