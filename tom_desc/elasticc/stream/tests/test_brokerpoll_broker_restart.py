"""brokerpoll survives its Kafka broker dying and coming back empty (its own tansu, not the session's)."""

import itertools

import pytest

from devstack.kafka import EmbeddedKafka
from devstack.postgres import free_port
from elasticc.stream.tests.brokerpoll_helpers import (
    FAST_GROUP,
    LOG_DIR,
    BrokerPoll,
    count,
    encode_all,
    expected_rows,
    make_records,
    produce,
    stored_rows,
    wait_for,
    with_alerts,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


# Fewer messages after the restart than before: the new topic's offsets lie below the stored
# ones. More: the new topic is longer than the stored offsets, and only its changed topic id
# tells that the stored offsets belong to a topic that no longer exists.
@pytest.mark.parametrize("n_before,n_after", [(400, 150), (60, 400)], ids=["shorter", "longer"])
def test_broker_killed_and_restarted_brokerpoll_recovers(unique_name, n_before, n_after):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedKafka(free_port(), LOG_DIR / f"{unique_name}-tansu.log")
    broker.start()
    poller = None
    try:
        broker.create_topic(unique_name, partitions=2)
        before = with_alerts(make_records(n_before, classifiers=2, first_alert=1))
        after = with_alerts(make_records(n_after, classifiers=2, first_alert=10_000, seed=1))
        produce(broker.bootstrap_servers, unique_name, encode_all(before))
        poller = BrokerPoll(
            [
                "--kafka-server",
                broker.bootstrap_servers,
                "--topic",
                unique_name,
                "--group",
                unique_name,
                "--poll-timeout",
                "0.3",
                *FAST_GROUP,
            ],
            unique_name,
        )
        wait_for(lambda: count("elasticc_brokermessage") == len(before), 60, 0.1, "first messages")

        broker.kill()  # everything it held is gone: topics, messages, the consumer group
        wait_for(lambda: "unavailable" in poller.log(), 30, 0.2, "brokerpoll to notice")
        assert poller.process.poll() is None, poller.log()

        broker.start()  # same address, empty
        broker.create_topic(unique_name, partitions=2)
        produce(broker.bootstrap_servers, unique_name, encode_all(after))
        wait_for(
            lambda: count("elasticc_brokermessage") == len(before) + len(after),
            90,
            0.2,
            "messages published after the restart",
        )
        assert poller.process.poll() is None, "brokerpoll must not exit"
        code = poller.terminate(30)
    finally:
        if poller is not None:
            poller.ensure_stopped()
        broker.stop()
    log = poller.log()
    assert code == 0, log
    messages, classifications = stored_rows()
    want_messages, want_classifications = expected_rows(before + after)
    assert sorted(messages) == sorted(want_messages)
    assert sorted(classifications) == sorted(want_classifications)
    # Availability is logged once per change, not once per failed request: going away and
    # coming back alternate (a coordinator hiccup right after the restart is a change of its
    # own), and the outage of several seconds, with many failed requests, gives a handful of lines.
    lines = [line for line in log.splitlines() if "elasticc.brokerpoll" in line]
    changes = [
        ("down" if "unavailable:" in line else "up")
        for line in lines
        if "Kafka broker" in line and ("unavailable:" in line or "available again" in line)
    ]
    assert changes and changes[0] == "down" and changes[-1] == "up", changes
    assert all(a != b for a, b in itertools.pairwise(changes)), changes
    assert len(changes) <= 4, changes
    assert not [line for line in lines if " ERROR " in line], "connection failures are not errors"
    assert any("available again" in line for line in lines), lines[-20:]
    assert any("topic was recreated" in line for line in lines), lines[-20:]
