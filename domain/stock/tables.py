"""The stock projection: quantity on hand per SKU × location."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel

from domain.area import table_of


class StockLevel(SQLModel, table=True):
    __tablename__ = "stock_levels"

    sku: str = Field(sa_column=Column("sku", String(64), primary_key=True))
    location: str = Field(sa_column=Column("location", String(64), primary_key=True))
    qty: int = Field(sa_column=Column("qty", BigInteger, nullable=False))


stock_levels = table_of(StockLevel)
