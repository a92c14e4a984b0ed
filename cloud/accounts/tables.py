"""The HQ users table. A password is stored only as its Argon2id hash. (Sessions and
API tokens are `domain.access`'s, alike on hub and node.)"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

hub_users = Table(
    "hub_users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("password_changed_ms", BigInteger, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("retry_at_ms", BigInteger, nullable=True),
)
