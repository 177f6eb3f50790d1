"""A consumer group's Kafka offsets kept in the database (elasticc_kafkaoffset), for exactly-once ingest.

brokerpoll never resumes from Kafka's committed offsets: the next offset of each partition
is stored in the same transaction as the messages read before it, so a crash at any moment
loses or repeats nothing. The row lock taken per batch also fences off a consumer whose
partition was handed to another member meanwhile (docs/brokerpoll.md, "Exactly-once design").
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection


class DatabaseOffsets:
    """A consumer group's offsets in elasticc_kafkaoffset (see docs/brokerpoll.md).

    ``read`` serves the consumer's start_offsets. ``claim`` runs inside the caller's
    transaction before storing a batch: it locks the batch's partition rows and says,
    per partition, from which offset the batch is new. A message below that offset
    was already stored by another member that held the partition meanwhile (a consumer
    that stalled past its session timeout), so the caller skips it. ``advance`` then
    moves the rows to the batch's end, still in the same transaction.
    """

    def __init__(self, group_id: str):
        self.group_id = group_id

    def read(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The stored next offsets of these partitions (partitions without a row are left out)."""
        return self._stored('"nextOffset"', partitions)

    def _stored(self, column: str, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], object]:
        """{(topic, partition): column} of this group's rows for these partitions, nulls left out."""
        partitions = list(partitions)
        if not partitions:
            return {}
        with connection.cursor() as cur:
            cur.execute(
                f'SELECT topic, "partition", {column} FROM elasticc_kafkaoffset '
                f'WHERE "groupId" = %s AND {column} IS NOT NULL AND (topic, "partition") IN '
                "(SELECT * FROM unnest(%s::text[], %s::int[]))",
                [self.group_id, [t for t, _ in partitions], [p for _, p in partitions]],
            )
            return {(t, p): value for t, p, value in cur.fetchall()}

    def claim(self, first_offsets: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Lock the rows of these partitions (creating missing ones at the batch's first
        offset) and return each partition's stored next offset."""
        keys = sorted(first_offsets)  # a fixed lock order: two members never deadlock
        with connection.cursor() as cur:
            cur.execute(
                'INSERT INTO elasticc_kafkaoffset ("groupId", topic, "partition", "nextOffset", updated) '
                "SELECT %s, t, p, o, now() FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS k(t, p, o) "
                "ON CONFLICT DO NOTHING",
                [self.group_id, [t for t, _ in keys], [p for _, p in keys], [first_offsets[k] for k in keys]],
            )
            cur.execute(
                'SELECT topic, "partition", "nextOffset" FROM elasticc_kafkaoffset '
                'WHERE "groupId" = %s AND (topic, "partition") IN (SELECT * FROM unnest(%s::text[], %s::int[])) '
                'ORDER BY topic, "partition" FOR UPDATE',
                [self.group_id, [t for t, _ in keys], [p for _, p in keys]],
            )
            return {(t, p): o for t, p, o in cur.fetchall()}

    def forget(self) -> int:
        """Delete every stored offset of the group (brokerpoll --reset): its partitions are then
        read from the beginning, and what was stored already is caught as duplicates by the
        (classifierId, alertId) key. Returns the rows deleted."""
        with connection.cursor() as cur:
            cur.execute('DELETE FROM elasticc_kafkaoffset WHERE "groupId" = %s', [self.group_id])
            return cur.rowcount

    def stored_topic_ids(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The topic ids the stored offsets refer to (partitions without one are left out)."""
        return self._stored('"topicId"', partitions)

    def advance(
        self,
        next_offsets: dict[tuple[str, int], int],
        reset: Iterable[tuple[str, int]] = (),
        topic_ids: dict[str, str | None] | None = None,
    ) -> None:
        """Move the rows to the batch's end; never backwards, except for the `reset` partitions
        (a topic recreated from offset 0).

        `topic_ids` ({topic: id}) fills in the topic id of rows that have none, and replaces it
        on reset rows; an id once stored is otherwise kept, so that a recreated topic is still
        seen as such after messages of it were stored.

        A member whose partition went to another member meanwhile may commit a batch that
        was wholly skipped by ``claim``; its end can lie below what the other member already
        stored, and moving the row back would make the next owner read those messages again.
        """
        keys = sorted(next_offsets)
        reset = set(reset)
        topic_ids = topic_ids or {}
        with connection.cursor() as cur:
            cur.execute(
                'UPDATE elasticc_kafkaoffset o SET "nextOffset" = CASE WHEN k.r THEN k.o '
                'ELSE GREATEST(o."nextOffset", k.o) END, '
                '"topicId" = CASE WHEN k.r THEN k.id ELSE coalesce(o."topicId", k.id) END, updated = now() '
                "FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::boolean[], %s::text[]) AS k(t, p, o, r, id) "
                'WHERE o."groupId" = %s AND o.topic = k.t AND o."partition" = k.p',
                [
                    [t for t, _ in keys],
                    [p for _, p in keys],
                    [next_offsets[k] for k in keys],
                    [k in reset for k in keys],
                    [topic_ids.get(t) for t, _ in keys],
                    self.group_id,
                ],
            )
