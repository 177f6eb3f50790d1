"""The poll engine driven in-process, without the brokerpoll command: the loop stores what is
on the topic (dead-lettering what it cannot), keeps the heartbeat row, and returns when idle
or when its stop flag is set."""

import pytest

from elasticc.models import BrokerDeadLetter, BrokerPollStatus
from elasticc.stream.brokerconfig import BrokerConfig
from elasticc.stream.poller import Poller
from elasticc.stream.pollloop import PollLoop
from elasticc.stream.tests.brokerpoll_helpers import (
    encode_all,
    expected_rows,
    make_records,
    produce,
    stored_rows,
    with_alerts,
)
from tom_desc.lib.stopping import StopFlag

pytestmark = [pytest.mark.kafka, pytest.mark.django_db(transaction=True)]


def engine(bootstrap: str, topic: str, stop: StopFlag) -> tuple[Poller, PollLoop]:
    config = BrokerConfig(name="loop", bootstrap_servers=bootstrap, topics=[topic], group_id=topic, assign=True)
    poller = Poller(config, stop, batch_size=7)
    return poller, PollLoop([poller], stop, poll_timeout=0.2, heartbeat_every=0.5, exit_when_idle=2)


def test_the_loop_stores_the_topic_and_exits_when_idle(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=2)
    records = with_alerts(make_records(30, classifiers=2))
    values = encode_all(records)
    values[11] = b"\x00not avro"
    produce(kafka_broker.bootstrap_servers, unique_name, values)
    good = [r for i, r in enumerate(records) if i != 11]

    poller, loop = engine(kafka_broker.bootstrap_servers, unique_name, StopFlag())
    assert loop.run() == 0

    messages, classifications = stored_rows()
    want_messages, want_classifications = expected_rows(good)
    assert sorted(messages) == sorted(want_messages)
    assert len(classifications) == len(want_classifications) and set(classifications) == want_classifications
    assert BrokerDeadLetter.objects.get().reason.startswith("undecodable")
    assert loop.totals() == {
        "messages": 29,
        "classifications": len(want_classifications),
        "duplicates": 0,
        "dead": 1,
        "stale": 0,
    }
    status = BrokerPollStatus.objects.get(pollerId=poller.poller_id)
    assert (status.state, status.messagesStored, status.deadLettered, status.lag) == ("stopped", 29, 1, 0)
    assert poller.consumer.consumer is None, "the loop closes its consumers"


def test_a_stop_flag_already_set_stops_the_loop_before_it_reads(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=1)
    produce(kafka_broker.bootstrap_servers, unique_name, encode_all(with_alerts(make_records(5))))
    stop = StopFlag()
    stop.set()
    poller, loop = engine(kafka_broker.bootstrap_servers, unique_name, stop)
    assert loop.run() == 0
    assert stored_rows() == ([], [])
    assert BrokerPollStatus.objects.get(pollerId=poller.poller_id).state == "stopped"
