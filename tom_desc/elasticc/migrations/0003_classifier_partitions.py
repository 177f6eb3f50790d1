"""Give each new classifier its own partitions, in the database itself.

An AFTER INSERT trigger on elasticc_brokerclassifier creates the classifier's
partitions of elasticc_brokermessage and elasticc_brokerclassification in the
same transaction as the classifier row. Every path that registers a classifier
(Kafka ingest, the REST PUT, raw SQL) therefore gets them, and no operator ever
runs a repartition step.
"""
from django.db import migrations

CREATE = """
CREATE FUNCTION elasticc_create_classifier_partitions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF elasticc_brokermessage FOR VALUES IN (%s)',
        'elasticc_brokermessage_c' || NEW."classifierId", NEW."classifierId");
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF elasticc_brokerclassification FOR VALUES IN (%s)',
        'elasticc_brokerclassification_c' || NEW."classifierId", NEW."classifierId");
    RETURN NEW;
END;
$$;

CREATE TRIGGER elasticc_brokerclassifier_partitions
    AFTER INSERT ON elasticc_brokerclassifier
    FOR EACH ROW EXECUTE FUNCTION elasticc_create_classifier_partitions();
"""

DROP = """
DROP TRIGGER elasticc_brokerclassifier_partitions ON elasticc_brokerclassifier;
DROP FUNCTION elasticc_create_classifier_partitions();
"""


class Migration(migrations.Migration):
    dependencies = [("elasticc", "0002_hash_partitions")]

    operations = [migrations.RunSQL(CREATE, DROP)]
