"""Small database pieces the models share."""

from django.db import models


class RealField(models.FloatField):
    """A 4-byte float (PostgreSQL ``real``): the Avro ``float`` of the alert schema.

    Half the size of ``double precision`` matters on a billion forced sources.
    """

    def db_type(self, connection):
        return "real"


class NextVal(models.Func):
    """``nextval('sequence')`` as a column default, for ids inside composite primary keys.

    Django only allows an AutoField as a whole primary key; partitioned tables need the
    partition key in theirs, so their serial ids come from a named sequence instead.
    """

    function = "nextval"
    output_field = models.BigIntegerField()

    def __init__(self, sequence: str):
        super().__init__(models.Value(sequence))
