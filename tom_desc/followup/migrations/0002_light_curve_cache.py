"""followup_lightcurve: each TOM-known ELAsTiCC2 object's forced photometry as arrays, kept by
PostgreSQL (followup/models.py, LightCurve, says why).

Statement-level triggers on the partitioned ``elasticc2_diaforcedsource`` see every row a
statement wrote, whatever partitions it went to (their transition tables), and rebuild those
objects' rows in the same transaction; a TRUNCATE of the table empties the cache. Writes made
straight into one partition (pg_restore does that) fire none of them: the restored cache comes
from the dump itself.

Concurrency: ``followup_rebuild_lightcurves`` first makes and locks the objects' rows in id
order, then rebuilds them in a statement of its own. Under READ COMMITTED that statement takes
a new snapshot, so a transaction that waited for another writer of the same object rebuilds
from what the other committed too; without the lock the later commit could write back a light
curve missing the earlier one's points.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import migrations, models

import elasticc.db

CREATE = """
CREATE FUNCTION followup_rebuild_lightcurves(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO followup_lightcurve (diaobject_id, mjd, band, flux, fluxerr)
    SELECT u, '{}', '{}', '{}', '{}' FROM unnest(ids) AS u ORDER BY u
    ON CONFLICT (diaobject_id) DO NOTHING;
    PERFORM 1 FROM followup_lightcurve WHERE diaobject_id = ANY(ids) ORDER BY diaobject_id FOR UPDATE;
    UPDATE followup_lightcurve l
    SET mjd = coalesce(p.mjd, '{}'), band = coalesce(p.band, '{}'),
        flux = coalesce(p.flux, '{}'), fluxerr = coalesce(p.fluxerr, '{}')
    FROM unnest(ids) AS c(diaobject_id)
    CROSS JOIN LATERAL (
        SELECT array_agg(f.midpointtai ORDER BY f.midpointtai, f.diaforcedsource_id) AS mjd,
               array_agg(f.filtername ORDER BY f.midpointtai, f.diaforcedsource_id) AS band,
               array_agg(f.psflux ORDER BY f.midpointtai, f.diaforcedsource_id) AS flux,
               array_agg(f.psfluxerr ORDER BY f.midpointtai, f.diaforcedsource_id) AS fluxerr
        FROM elasticc2_diaforcedsource f
        WHERE f.diaobject_id = c.diaobject_id
    ) p
    WHERE l.diaobject_id = c.diaobject_id;
    DELETE FROM followup_lightcurve WHERE diaobject_id = ANY(ids) AND cardinality(mjd) = 0;
END;
$$;

CREATE FUNCTION followup_lightcurves_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM followup_rebuild_lightcurves(ARRAY(
            SELECT diaobject_id FROM changed_rows UNION SELECT diaobject_id FROM old_rows ORDER BY 1));
    ELSE
        PERFORM followup_rebuild_lightcurves(ARRAY(SELECT DISTINCT diaobject_id FROM changed_rows ORDER BY 1));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION followup_lightcurves_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE followup_lightcurve;
    RETURN NULL;
EXCEPTION WHEN object_in_use THEN
    -- Truncated in the same statement (Django's flush truncates every table at once).
    DELETE FROM followup_lightcurve;
    RETURN NULL;
END;
$$;

CREATE TRIGGER followup_lightcurve_insert AFTER INSERT ON elasticc2_diaforcedsource
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION followup_lightcurves_changed();
CREATE TRIGGER followup_lightcurve_delete AFTER DELETE ON elasticc2_diaforcedsource
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION followup_lightcurves_changed();
CREATE TRIGGER followup_lightcurve_update AFTER UPDATE ON elasticc2_diaforcedsource
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION followup_lightcurves_changed();
CREATE TRIGGER followup_lightcurve_truncate AFTER TRUNCATE ON elasticc2_diaforcedsource
    FOR EACH STATEMENT EXECUTE FUNCTION followup_lightcurves_truncated();

-- What is already there.
SELECT followup_rebuild_lightcurves(ARRAY(SELECT DISTINCT diaobject_id FROM elasticc2_diaforcedsource ORDER BY 1));
"""

DROP = """
DROP TRIGGER followup_lightcurve_insert ON elasticc2_diaforcedsource;
DROP TRIGGER followup_lightcurve_delete ON elasticc2_diaforcedsource;
DROP TRIGGER followup_lightcurve_update ON elasticc2_diaforcedsource;
DROP TRIGGER followup_lightcurve_truncate ON elasticc2_diaforcedsource;
DROP FUNCTION followup_lightcurves_truncated();
DROP FUNCTION followup_lightcurves_changed();
DROP FUNCTION followup_rebuild_lightcurves(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("followup", "0001_follow_up_tables"),
        ("elasticc2", "0005_classifier_registeredby"),
    ]

    operations = [
        migrations.CreateModel(
            name="LightCurve",
            fields=[
                ("diaobject_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("mjd", ArrayField(base_field=models.FloatField(), default=list, size=None)),
                ("band", ArrayField(base_field=models.TextField(), default=list, size=None)),
                ("flux", ArrayField(base_field=elasticc.db.RealField(), default=list, size=None)),
                ("fluxerr", ArrayField(base_field=elasticc.db.RealField(), default=list, size=None)),
            ],
            options={"db_table": "followup_lightcurve"},
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
