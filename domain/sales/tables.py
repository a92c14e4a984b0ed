"""The sales projection: one row per sale, keyed by the node that made it and its id
there, so two nodes that use the same id both keep their sale."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from domain.area import table_of


class Sale(SQLModel, table=True):
    __tablename__ = "sales"
    __table_args__ = (Index("ix_sales_location", "location"),)

    origin: str = Field(sa_column=Column("origin", String(64), primary_key=True))
    sale_id: str = Field(sa_column=Column("sale_id", String(64), primary_key=True))
    seq: int = Field(sa_column=Column("seq", BigInteger, nullable=False))
    location: str = Field(sa_column=Column("location", String(64), nullable=False))
    total_fen: int = Field(sa_column=Column("total_fen", BigInteger, nullable=False))
    lines: str = Field(sa_column=Column("lines", Text, nullable=False))  # canonical JSON
    payment: str = Field(sa_column=Column("payment", String(64), nullable=False))
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))
    actor: str = Field(sa_column=Column("actor", String(64), nullable=False))


sales = table_of(Sale)
