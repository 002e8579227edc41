"""A partner's Kafka consumer as deploy/README.md shows it: SCRAM over TLS, its own groups."""

from __future__ import annotations

from pathlib import Path

import pytest
from partner.kafka_consumer import consumer_for


async def test_the_partner_consumer_logs_in_with_scram_over_tls() -> None:
    # aiokafka refuses SASL_SSL without an SSL context (it built none before: a ValueError).
    consumer = consumer_for("kafka.example.cn:9094", "chengdu-online-park", password="pw")

    client = consumer._client
    assert (client._security_protocol, client._sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert client._sasl_plain_username == "partner-chengdu-online-park"
    assert client._ssl_context is not None
    assert consumer._group_id == "partner.chengdu-online-park.main"


async def test_the_partner_consumer_trusts_the_ca_file_it_is_given(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        consumer_for("k:9094", "chengdu-online-park", password="pw", cafile=str(tmp_path / "ca"))
