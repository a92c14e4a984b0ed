"""The catalog projection: one row per (SKU, field), holding the winning write."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Text
from sqlmodel import Field, SQLModel

from domain.area import table_of


class CatalogField(SQLModel, table=True):
    __tablename__ = "catalog_fields"

    sku: str = Field(sa_column=Column("sku", String(64), primary_key=True))
    field: str = Field(sa_column=Column("field", String(64), primary_key=True))
    value: str = Field(sa_column=Column("value", Text, nullable=False))  # JSON
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))
    origin: str = Field(sa_column=Column("origin", String(64), nullable=False))


catalog_fields = table_of(CatalogField)
