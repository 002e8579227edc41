"""Root pytest configuration: the shared backend fixtures (PostgreSQL, Kafka-protocol broker)."""

pytest_plugins = [
    "shulian_common.testing.postgres",
    "shulian_common.testing.kafka",
]
