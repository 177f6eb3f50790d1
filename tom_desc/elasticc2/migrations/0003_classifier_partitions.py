"""Give each new ELAsTiCC2 classifier its own partition of elasticc2_brokermessage.

An AFTER INSERT trigger on elasticc2_brokerclassifier creates the partition in the same
transaction as the classifier row, so every path that registers a classifier (Kafka
ingest, the REST PUT, hand-written SQL) gets it and nobody runs a repartition step.
Same design as ELAsTiCC's migration 0003.
"""
from django.db import migrations

CREATE = """
CREATE FUNCTION elasticc2_create_classifier_partition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF elasticc2_brokermessage FOR VALUES IN (%s)',
        'elasticc2_brokermessage_c' || NEW.classifier_id, NEW.classifier_id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER elasticc2_brokerclassifier_partition
    AFTER INSERT ON elasticc2_brokerclassifier
    FOR EACH ROW EXECUTE FUNCTION elasticc2_create_classifier_partition();
"""

DROP = """
DROP TRIGGER elasticc2_brokerclassifier_partition ON elasticc2_brokerclassifier;
DROP FUNCTION elasticc2_create_classifier_partition();
"""


class Migration(migrations.Migration):
    dependencies = [("elasticc2", "0002_hash_partitions")]

    operations = [migrations.RunSQL(CREATE, DROP)]
