# The follow-up tables under the original DESC TOM's names (followup/models.py).

import django.db.models.deletion
import django.db.models.functions.datetime
import elasticc.db
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('elasticc2', '0001_initial'),  # elasticc2_diaobject
        ('tom_targets', '0031_basetarget_shared_by_basetarget_shared_from'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DiaObjectOfTarget',
            fields=[
                ('id', models.AutoField(primary_key=True, serialize=False)),
                ('diaobject', models.OneToOneField(db_column='diaobject_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elasticc2.diaobject')),
                ('tomtarget', models.ForeignKey(db_column='tomtarget_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tom_targets.basetarget')),
            ],
            options={
                'db_table': 'elasticc2_diaobjectoftarget',
            },
        ),
        migrations.CreateModel(
            name='SpectrumInfo',
            fields=[
                ('specinfo_id', models.AutoField(primary_key=True, serialize=False)),
                ('facility', models.TextField(null=True)),
                ('inserted_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ('mjd', models.FloatField(db_index=True)),
                ('z', elasticc.db.RealField(null=True)),
                ('classid', models.IntegerField(db_index=True, null=True)),
                ('diaobject', models.ForeignKey(db_column='diaobject_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elasticc2.diaobject')),
            ],
            options={
                'db_table': 'elasticc2_spectruminfo',
            },
        ),
        migrations.CreateModel(
            name='WantedSpectra',
            fields=[
                ('wantspec_id', models.TextField(primary_key=True, serialize=False)),
                ('wanttime', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), db_index=True)),
                ('requester', models.TextField(null=True)),
                ('priority', models.IntegerField()),
                ('diaobject', models.ForeignKey(db_column='diaobject_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elasticc2.diaobject')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'elasticc2_wantedspectra',
            },
        ),
        migrations.CreateModel(
            name='PlannedSpectra',
            fields=[
                ('reqspec_id', models.AutoField(primary_key=True, serialize=False)),
                ('facility', models.TextField()),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ('plantime', models.DateTimeField(null=True)),
                ('comment', models.TextField(blank=True, db_default='', default='')),
                ('diaobject', models.ForeignKey(db_column='diaobject_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elasticc2.diaobject')),
            ],
            options={
                'db_table': 'elasticc2_plannedspectra',
                'indexes': [models.Index(fields=['diaobject', 'facility'], name='elasticc2_plannedspec_objfac')],
            },
        ),
    ]
