"""The access tables. A session id or a token secret is never stored, only its SHA-256
(a fast hash is right here: they are 256 random bits, not guessable words)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

metadata = MetaData()

access_sessions = Table(
    "access_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("principal", String(80), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("idle_until_ms", BigInteger, nullable=False),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(64), nullable=False),
    Column("scopes", Text, nullable=False),  # JSON list
    Column("created_by", String(80), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger, nullable=True),
    Column("last_used_ms", BigInteger, nullable=True),
)
