"""brokerpoll takes the original's -g/--grouptag and -r/--reset, and says why it refuses its
broker-selection flags (issue 13, item 7)."""

import io

import pytest
from django.core.management import CommandError, call_command

from elasticc.models import KafkaOffset
from elasticc.stream.tests.brokerpoll_helpers import (
    BrokerPoll,
    encode_all,
    expected_rows,
    make_records,
    produce,
    stored_rows,
    with_alerts,
)


def poll(kafka_broker, topic: str, *flags: str) -> str:
    args = ["--kafka-server", kafka_broker.bootstrap_servers, "--topic", topic, "--assign", "--exit-when-idle", "2"]
    poller = BrokerPoll([*args, *flags], topic)
    try:
        assert poller.wait(60) == 0, poller.log()
    finally:
        poller.ensure_stopped()
    return poller.log()


@pytest.mark.kafka
@pytest.mark.django_db(transaction=True)
def test_grouptag_names_the_group_and_reset_reads_again_from_the_start(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=1)
    records = with_alerts(make_records(6, classifiers=2))
    produce(kafka_broker.bootstrap_servers, unique_name, encode_all(records))

    poll(kafka_broker, unique_name, "-g", "night1")
    group = "tom_desc-brokerpoll-night1"  # the default group id with the tag appended
    assert KafkaOffset.objects.get(groupId=group, topic=unique_name).nextOffset == 6
    assert sorted(stored_rows()[0]) == sorted(expected_rows(records)[0])

    log = poll(kafka_broker, unique_name, "--grouptag", "night1", "-r")
    assert f"forgot 1 stored offsets of group {group}" in log
    assert "0 messages, 0 classifications stored, 6 duplicates" in log  # read again, stored once
    assert KafkaOffset.objects.get(groupId=group, topic=unique_name).nextOffset == 6
    assert len(stored_rows()[0]) == 6


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--do-alerce"], "--do-alerce .* not supported here: list the brokers to poll in --config"),
        (["--fink-topic", "x"], "--fink-topic .* not supported here: give each broker's topics in --config"),
    ],
)
def test_broker_selection_flags_of_the_original_are_clear_errors(flags, message):
    with pytest.raises(CommandError, match=message):
        call_command("brokerpoll", *flags, stdout=io.StringIO())
