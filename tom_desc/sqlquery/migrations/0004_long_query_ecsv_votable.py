# Long-query results in ECSV and VOTable (the choices only; no column changes).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sqlquery", "0003_long_query_pandas_format"),
    ]

    operations = [
        migrations.AlterField(
            model_name="longquery",
            name="format",
            field=models.CharField(
                choices=[
                    ("csv", "csv"),
                    ("pandas", "pandas"),
                    ("parquet", "parquet"),
                    ("json", "json"),
                    ("ecsv", "ecsv"),
                    ("votable", "votable"),
                ],
                default="csv",
                max_length=8,
            ),
        ),
    ]
