"""The embedded Kafka-protocol broker starts, carries messages and commits offsets."""

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition


@pytest.mark.kafka
def test_produce_consume_commit(kafka_broker, unique_name):
    kafka_broker.create_topic(unique_name, partitions=2)
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for i in range(10):
        producer.produce(unique_name, value=f"m{i}".encode(), partition=i % 2)
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap_servers,
            "group.id": unique_name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(unique_name, 0, 0), TopicPartition(unique_name, 1, 0)])
    seen = []
    for _ in range(100):
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            seen.append(msg.value().decode())
        if len(seen) == 10:
            break
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(unique_name, 0), TopicPartition(unique_name, 1)], timeout=10)
    consumer.close()
    assert sorted(seen) == sorted(f"m{i}" for i in range(10))
    assert sorted(tp.offset for tp in committed) == [5, 5]
