"""The production bus: Apache Kafka (or any Kafka-protocol broker) through aiokafka.

Every client start is bounded by ``connect_timeout`` so that a broker that is down fails fast
(``/readyz`` answers quickly) and raises ``BusError``; a publisher that failed to start simply
tries again on its next ``publish``, which is what the outbox relay's retry loop relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    MessageSizeTooLargeError,
    TopicAuthorizationFailedError,
)
from aiokafka.helpers import create_ssl_context

from shulian_common.bus.base import (
    Bus,
    BusError,
    MissingTopicError,
    OutgoingMessage,
    PermanentPublishError,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
)
from shulian_common.settings import Settings

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True, slots=True)
class KafkaOptions:
    """Connection and group settings shared by every client of one ``KafkaBus``."""

    bootstrap: str
    enable_idempotence: bool
    acks: int | str
    linger_ms: int
    partitions: int
    replication_factor: int
    connect_timeout: float
    request_timeout_ms: int
    session_timeout_ms: int
    heartbeat_interval_ms: int
    rebalance_timeout_ms: int | None
    join_timeout: float
    commit_timeout: float
    fetch_max_wait_ms: int
    # aiokafka's security_protocol, ssl_context and sasl_* (client_security)
    security: Mapping[str, Any] = field(default_factory=dict)


# Refusals that retrying the same record cannot cure: the relay parks the record.
_PERMANENT = (MessageSizeTooLargeError, TopicAuthorizationFailedError, UnicodeError)
_HANDSHAKE = (KeyError, ValueError, AssertionError)


@contextlib.asynccontextmanager
async def _mapped_errors(action: str, seconds: float | None = None) -> AsyncIterator[None]:
    """Turn aiokafka failures, and running past ``seconds``, into ``BusError``."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except _PERMANENT as exc:
        raise PermanentPublishError(f"kafka {action} refused: {exc!r}") from exc
    except (KafkaError, OSError) as exc:
        raise BusError(f"kafka {action} failed: {exc!r}") from exc
    except TimeoutError as exc:
        raise BusError(f"kafka {action} timed out after {seconds} s") from exc
    except _HANDSHAKE as exc:
        if not action.endswith(" start"):
            raise
        # aiokafka's SASL handshake lets a refused login escape as a parsing error (a SCRAM
        # answer without its "v" field raises KeyError): while connecting, that is a refusal.
        raise BusError(f"kafka {action} failed, authentication refused? {exc!r}") from exc


def client_security(settings: Settings) -> dict[str, Any]:
    """The aiokafka keyword arguments that authenticate and encrypt a client's connections."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    if protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None  # Settings refuses SASL without it
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    return options


def _acks(value: str) -> int | str:
    return "all" if value in ("all", "-1") else int(value)


class KafkaPublisher(Publisher):
    """An ``AIOKafkaProducer``; ``publish`` returns once the broker acknowledged every record.

    Per-key order holds with idempotence off too: aiokafka keeps at most one batch in flight per
    partition and retries it before sending the next, and ``publish`` awaits all deliveries
    before returning, so consecutive calls never overlap.
    """

    def __init__(self, options: KafkaOptions, client_id: str | None = None) -> None:
        self._options = options
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect to the cluster; raise ``BusError`` (and stay retryable) if it cannot."""
        if self._producer is not None:
            return
        o = self._options
        producer = AIOKafkaProducer(
            bootstrap_servers=o.bootstrap,
            client_id=self._client_id,
            acks=o.acks,
            enable_idempotence=o.enable_idempotence,
            linger_ms=o.linger_ms,
            request_timeout_ms=o.request_timeout_ms,
            **o.security,
        )
        try:
            async with _mapped_errors("producer start", o.connect_timeout):
                await producer.start()
        except BusError:
            await _quietly_stop(producer)
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Flush pending records and disconnect."""
        producer, self._producer = self._producer, None
        if producer is not None:
            async with _mapped_errors("producer stop"):
                await producer.stop()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send all, then await every acknowledgement; raise ``BusError`` if any failed."""
        if not messages:
            return
        await self.start()
        producer = self._producer
        assert producer is not None
        deliveries: list[asyncio.Future[Any]] = []
        try:
            async with _mapped_errors("publish"):
                for m in messages:
                    headers = list(m.headers)
                    deliveries.append(
                        await producer.send(m.topic, m.value, key=m.key.encode(), headers=headers)
                    )
        finally:
            # Settle every delivery, even after a failure: a retry must not overtake records
            # still in flight (per-key order), and no failed future may go unobserved.
            results = await asyncio.gather(*deliveries, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if any(isinstance(f, _PERMANENT) for f in failures):
            raise PermanentPublishError(f"kafka publish: {len(messages)} refused") from next(
                f for f in failures if isinstance(f, _PERMANENT)
            )
        if failures:
            raise BusError(f"kafka publish: {len(failures)} of {len(messages)} failed") from (
                failures[0]
            )

    async def ping(self) -> None:
        """Raise ``BusError`` unless the cluster returns its metadata in time."""
        await self.start()
        assert self._producer is not None
        async with _mapped_errors("ping", self._options.connect_timeout):
            await self._producer.client.fetch_all_metadata()


class KafkaSubscriber(Subscriber):
    """An ``AIOKafkaConsumer`` in a group: no auto-commit, earliest offset when none is committed.

    ``commit`` ignores, with a warning, partitions this member no longer owns and a commit the
    broker refuses because the group rebalanced: the new owner resumes from the last commit, so
    those records are redelivered, never lost (the same rule as the local log).
    """

    def __init__(
        self, options: KafkaOptions, *, topics: Sequence[str], group_id: str, client_id: str | None
    ) -> None:
        self._options = options
        self._topics = list(dict.fromkeys(topics))
        self._group = group_id
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connect and wait until the group has assigned this member its partitions."""
        if self._consumer is not None:
            return
        consumer = self._new_consumer()
        try:
            async with _mapped_errors("consumer start", self._options.join_timeout):
                await consumer.start()
        except BusError:
            await _quietly_stop(consumer)
            raise
        self._consumer = consumer

    async def stop(self) -> None:
        """Leave the group without committing."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            async with _mapped_errors("consumer stop"):
                await consumer.stop()

    async def poll(
        self,
        *,
        timeout: float = 1.0,  # noqa: ASYNC109 - the Subscriber contract takes a timeout
        max_records: int = 500,
    ) -> list[Record]:
        """Wait up to ``timeout`` seconds for records, in log order per partition."""
        consumer = self._started()
        async with _mapped_errors("poll"):
            batches = await consumer.getmany(
                timeout_ms=int(timeout * 1000), max_records=max_records
            )
        return [_record(message) for messages in batches.values() for message in messages]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit the next offset to read of partitions still owned; ignore the others."""
        consumer = self._started()
        owned = consumer.assignment()
        mine = {_kafka_tp(tp): offset for tp, offset in offsets.items() if _kafka_tp(tp) in owned}
        if len(mine) < len(offsets):
            lost = [tp for tp in offsets if _kafka_tp(tp) not in owned]
            log.warning("commit ignored for partitions no longer owned: %s", lost)
        if not mine:
            return
        try:
            # aiokafka retries a retriable OffsetCommit error forever, logging each failure:
            # for a deleted topic that is ten errors a second and a runner stuck here for good.
            async with asyncio.timeout(self._options.commit_timeout):
                await consumer.commit(mine)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("commit refused after a rebalance, records will be redelivered: %r", exc)
        except KafkaError as exc:
            raise BusError(f"kafka commit failed: {exc!r}") from exc
        except TimeoutError as exc:
            missing = await self._missing({tp.topic for tp in mine})
            if missing:
                raise MissingTopicError(missing) from exc
            seconds = self._options.commit_timeout
            raise BusError(f"kafka commit timed out after {seconds} s") from exc

    async def seek_to_committed(self, partitions: Sequence[TopicPartition]) -> None:
        """Rewind owned partitions to their committed offsets (or the earliest one)."""
        consumer = self._started()
        owned = consumer.assignment()
        async with _mapped_errors("seek"):
            for tp in map(_kafka_tp, partitions):
                if tp not in owned:
                    continue
                offset = await consumer.committed(tp)
                if offset is None or offset < 0:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, offset)

    async def lag(self) -> dict[TopicPartition, int]:
        """Log end (one ``ListOffsets`` round trip) minus this member's position, per partition.

        Raises ``MissingTopicError`` when a subscribed topic is gone from the broker.
        """
        consumer = self._started()
        # A topic deleted under the group may stay assigned, with a listed end of 0 (Tansu).
        missing = await self._missing(set(self._topics))
        if missing:
            raise MissingTopicError(missing)
        owned = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        if not owned:
            return {}
        async with _mapped_errors("lag", self._options.request_timeout_ms / 1000):
            ends = await consumer.end_offsets(owned)
            # position() is local, unless a partition still awaits its offset after a join.
            positions = {tp: await consumer.position(tp) for tp in owned}
        still_owned = consumer.assignment()  # a rebalance may have run during the awaits
        return {
            TopicPartition(tp.topic, tp.partition): max(
                0, _log_end(consumer, tp, ends[tp]) - positions[tp]
            )
            for tp in owned
            if tp in still_owned
        }

    def assignment(self) -> set[TopicPartition]:
        """The partitions the group coordinator gave this member."""
        if self._consumer is None:
            return set()
        return {TopicPartition(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    async def _missing(self, topics: set[str]) -> list[str]:
        """Which of ``topics`` the broker's metadata no longer lists (fetched, not cached)."""
        consumer = self._started()
        async with _mapped_errors("metadata", self._options.connect_timeout):
            known = await consumer.topics()
        return sorted(topics - set(known))

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        """Stop fetching owned ``partitions`` until resumed (aiokafka keeps their positions)."""
        if self._consumer is not None:
            self._consumer.pause(*self._owned(partitions))

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        """Fetch owned ``partitions`` again."""
        if self._consumer is not None:
            self._consumer.resume(*self._owned(partitions))

    def _owned(self, partitions: Sequence[TopicPartition]) -> list[KafkaTopicPartition]:
        assert self._consumer is not None
        owned = self._consumer.assignment()
        return [tp for tp in map(_kafka_tp, partitions) if tp in owned]

    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise BusError("kafka subscriber is not started")
        return self._consumer

    def _new_consumer(self) -> AIOKafkaConsumer:
        o = self._options
        kwargs: dict[str, Any] = {}
        if o.rebalance_timeout_ms is not None:
            kwargs["rebalance_timeout_ms"] = o.rebalance_timeout_ms
        return AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=o.bootstrap,
            group_id=self._group,
            client_id=self._client_id or f"shulian-{self._group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=o.request_timeout_ms,
            session_timeout_ms=o.session_timeout_ms,
            heartbeat_interval_ms=o.heartbeat_interval_ms,
            fetch_max_wait_ms=o.fetch_max_wait_ms,
            **kwargs,
            **o.security,
        )


class KafkaBus(Bus):
    """Publishers, group members and topic administration for one Kafka cluster.

    ``enable_idempotence`` must be off for brokers without ``InitProducerId`` (Tansu); the inbox
    makes the duplicates that a retried non-idempotent send may cause harmless.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        enable_idempotence: bool,
        acks: str,
        linger_ms: int,
        partitions: int = 3,
        replication_factor: int = 1,
        connect_timeout: float = 5.0,
        request_timeout_ms: int = 10_000,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        rebalance_timeout_ms: int | None = None,
        join_timeout: float = 60.0,
        commit_timeout: float = 5.0,
        fetch_max_wait_ms: int = 20,
        security: Mapping[str, Any] | None = None,
    ) -> None:
        self.options = KafkaOptions(
            bootstrap=bootstrap,
            enable_idempotence=enable_idempotence,
            acks=_acks(acks),
            linger_ms=linger_ms,
            partitions=partitions,
            replication_factor=replication_factor,
            connect_timeout=connect_timeout,
            request_timeout_ms=request_timeout_ms,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            join_timeout=join_timeout,
            commit_timeout=commit_timeout,
            fetch_max_wait_ms=fetch_max_wait_ms,
            security=dict(security or {}),
        )

    def publisher(self) -> KafkaPublisher:
        """A new producer (connected on ``start`` or on its first ``publish``)."""
        return KafkaPublisher(self.options)

    def subscriber(
        self, *, topics: Sequence[str], group_id: str, client_id: str | None = None
    ) -> KafkaSubscriber:
        """A new consumer in ``group_id`` subscribed to ``topics``."""
        return KafkaSubscriber(self.options, topics=topics, group_id=group_id, client_id=client_id)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the missing topics; existing ones are left as they are."""
        o = self.options
        admin = AIOKafkaAdminClient(
            bootstrap_servers=o.bootstrap, request_timeout_ms=o.request_timeout_ms, **o.security
        )
        try:
            async with _mapped_errors("admin start", o.connect_timeout):
                await admin.start()
            async with _mapped_errors("create topics", o.request_timeout_ms / 1000):
                response = await admin.create_topics(
                    [NewTopic(t, o.partitions, o.replication_factor) for t in dict.fromkeys(topics)]
                )
        finally:
            await _quietly_stop(admin)
        failed = [e for e in response.topic_errors if e[1] not in (0, _TOPIC_ALREADY_EXISTS)]
        if failed:
            raise BusError(f"kafka create topics failed: {failed}")


def _kafka_tp(tp: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(tp.topic, tp.partition)


def _log_end(consumer: AIOKafkaConsumer, tp: KafkaTopicPartition, listed: int) -> int:
    """The further of the listed end offset and the high watermark of the last fetch.

    Both are lower bounds of the log end. Tansu answers ``ListOffsets(latest)`` with the base
    offset of the partition's last batch plus one, while its fetch responses carry the true
    high watermark; Kafka's listed offset is never behind, so the max changes nothing there.
    """
    highwater = consumer.highwater(tp)
    return listed if highwater is None else max(listed, int(highwater))


def _record(message: Any) -> Record:
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=list(message.headers),
        timestamp_ms=message.timestamp,
    )


async def _quietly_stop(client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient) -> None:
    """Release a client whose start failed; its own errors add nothing to the first one."""
    with contextlib.suppress(Exception):
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()
