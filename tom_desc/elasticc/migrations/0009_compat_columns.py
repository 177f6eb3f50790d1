"""The original DESC TOM's columns this site lacked, and no second "midPointTai" on alerts.

- sources: ccdVisitId, parentDiaSourceId, nobs; forced sources: ccdVisitId, totFlux,
  totFluxErr; objects: hostgal_zphot_p50, hostgal2_zphot_p50; object truth:
  sim_template_index (filled here from non1a_index, the same SNANA column), galnmatch;
  peakmag_y renamed peakmag_Y as the original spells it. All nullable: adding them rewrites
  no table, whatever its size.
- broker messages and classifications: modified (default now(), a constant default that
  PostgreSQL stores once instead of rewriting the rows); classifiers: registeredBy.
- elasticc_diaalert."midPointTai" becomes "alertMidPointTai", so the original's SQL joining
  alerts and sources may name "midPointTai" unqualified (models.DiaAlert says why the copy
  exists); its partial index for the sender follows the column.
"""

import django.db.models.functions.datetime
import elasticc.db
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('elasticc', '0008_kafkaoffset_topicid'),
    ]

    operations = [
        migrations.RenameField(
            model_name='diaobjecttruth',
            old_name='peakmag_y',
            new_name='peakmag_Y',
        ),
        migrations.AddField(
            model_name='brokerclassification',
            name='modified',
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddField(
            model_name='brokerclassifier',
            name='registeredBy',
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name='brokermessage',
            name='modified',
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddField(
            model_name='diaforcedsource',
            name='ccdVisitId',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='diaforcedsource',
            name='totFlux',
            field=elasticc.db.RealField(null=True),
        ),
        migrations.AddField(
            model_name='diaforcedsource',
            name='totFluxErr',
            field=elasticc.db.RealField(null=True),
        ),
        migrations.AddField(
            model_name='diaobject',
            name='hostgal2_zphot_p50',
            field=elasticc.db.RealField(null=True),
        ),
        migrations.AddField(
            model_name='diaobject',
            name='hostgal_zphot_p50',
            field=elasticc.db.RealField(null=True),
        ),
        migrations.AddField(
            model_name='diaobjecttruth',
            name='galnmatch',
            field=models.IntegerField(null=True),
        ),
        migrations.AddField(
            model_name='diaobjecttruth',
            name='sim_template_index',
            field=models.IntegerField(null=True),
        ),
        migrations.AddField(
            model_name='diasource',
            name='ccdVisitId',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='diasource',
            name='nobs',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='diasource',
            name='parentDiaSourceId',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AlterField(
            model_name='diaalert',
            name='midPointTai',
            field=models.FloatField(db_column='alertMidPointTai'),
        ),
        migrations.RunSQL(
            'UPDATE elasticc_diaobjecttruth SET sim_template_index = non1a_index WHERE sim_template_index IS NULL',
            migrations.RunSQL.noop,
        ),
    ]
