from django.db import migrations, models


class Migration(migrations.Migration):
    """The Kafka topic id an offset refers to (brokerpoll detects recreated topics with it)."""

    dependencies = [
        ("elasticc", "0007_cone_search_gist"),
    ]

    operations = [
        migrations.AddField(
            model_name="kafkaoffset",
            name="topicId",
            field=models.TextField(null=True),
        ),
    ]
