"""The staff projection: each account's fields (the hub's winning writes), each wrong
PIN (to count those after the latest reset), and each account's latest reset."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from domain.area import table_of


class StaffField(SQLModel, table=True):
    __tablename__ = "staff_fields"

    staff_id: str = Field(sa_column=Column("staff_id", String(32), primary_key=True))
    field: str = Field(sa_column=Column("field", String(64), primary_key=True))
    value: str = Field(sa_column=Column("value", Text, nullable=False))  # JSON
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))
    origin: str = Field(sa_column=Column("origin", String(64), nullable=False))


class StaffPinFailure(SQLModel, table=True):
    __tablename__ = "staff_pin_failures"
    __table_args__ = (Index("ix_staff_pin_failures_staff_hlc", "staff_id", "hlc"),)

    origin: str = Field(sa_column=Column("origin", String(64), primary_key=True))
    seq: int = Field(sa_column=Column("seq", BigInteger, primary_key=True, autoincrement=False))
    staff_id: str = Field(sa_column=Column("staff_id", String(32), nullable=False))
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))


class StaffReset(SQLModel, table=True):
    __tablename__ = "staff_resets"

    staff_id: str = Field(sa_column=Column("staff_id", String(32), primary_key=True))
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))


staff_fields = table_of(StaffField)
staff_pin_failures = table_of(StaffPinFailure)
staff_resets = table_of(StaffReset)
