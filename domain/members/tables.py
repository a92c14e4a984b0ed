"""The members projection: each member's fields (the winning writes), their first
enrolment, every points fact (earned, redeemed, reversed), every allowance move and
ask, and the points rules the hub set. Balances and allowances are sums over the facts
at read time, so no fold ever depends on the order facts arrive in."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from domain.area import table_of


class MemberField(SQLModel, table=True):
    __tablename__ = "member_fields"

    phone: str = Field(sa_column=Column("phone", String(16), primary_key=True))
    field: str = Field(sa_column=Column("field", String(64), primary_key=True))
    value: str = Field(sa_column=Column("value", Text, nullable=False))  # JSON
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))
    origin: str = Field(sa_column=Column("origin", String(64), nullable=False))


class MemberEnrolment(SQLModel, table=True):
    """The earliest enrolment of a phone (by stamp) this replica holds: when and where."""

    __tablename__ = "member_enrolments"

    phone: str = Field(sa_column=Column("phone", String(16), primary_key=True))
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))
    origin: str = Field(sa_column=Column("origin", String(64), nullable=False))
    location: str = Field(sa_column=Column("location", String(64), nullable=False))


class MemberPointsEntry(SQLModel, table=True):
    """One points fact of its origin: `entry` earned or redeemed (ref: the sale id) or
    reversed (ref: the return id). `delta` is its effect on the origin's allowance (and
    the balance); `earned` and `redeemed` on the sale's earned points (what tiers
    count) and redeemed points; `shortfall`: earned points a return could not take
    back. `fen`: the sale's amount (earned) or the points' value as a tender (redeemed)."""

    __tablename__ = "member_points"
    __table_args__ = (Index("ix_member_points_phone_hlc", "phone", "hlc"),)

    origin: str = Field(sa_column=Column("origin", String(64), primary_key=True))
    entry: str = Field(sa_column=Column("entry", String(16), primary_key=True))
    ref: str = Field(sa_column=Column("ref", String(64), primary_key=True))
    seq: int = Field(sa_column=Column("seq", BigInteger, nullable=False))
    phone: str = Field(sa_column=Column("phone", String(16), nullable=False))
    sale_id: str = Field(sa_column=Column("sale_id", String(64), nullable=False))
    location: str = Field(sa_column=Column("location", String(64), nullable=False))
    delta: int = Field(sa_column=Column("delta", BigInteger, nullable=False))
    earned: int = Field(sa_column=Column("earned", BigInteger, nullable=False))
    redeemed: int = Field(sa_column=Column("redeemed", BigInteger, nullable=False))
    shortfall: int = Field(sa_column=Column("shortfall", BigInteger, nullable=False))
    fen: int = Field(sa_column=Column("fen", BigInteger, nullable=False))  # amount / value
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))


class MemberAllowanceMove(SQLModel, table=True):
    """`origin` gave `points` of its allowance for `phone` to `to_holder`."""

    __tablename__ = "member_allowance_moves"
    __table_args__ = (Index("ix_member_allowance_moves_phone", "phone"),)

    origin: str = Field(sa_column=Column("origin", String(64), primary_key=True))
    seq: int = Field(sa_column=Column("seq", BigInteger, primary_key=True, autoincrement=False))
    phone: str = Field(sa_column=Column("phone", String(16), nullable=False))
    to_holder: str = Field(sa_column=Column("to_holder", String(64), nullable=False))
    points: int = Field(sa_column=Column("points", BigInteger, nullable=False))
    answers_origin: str | None = Field(
        default=None, sa_column=Column("answers_origin", String(64), nullable=True)
    )
    answers_seq: int | None = Field(
        default=None, sa_column=Column("answers_seq", BigInteger, nullable=True)
    )
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))


class MemberAllowanceAsk(SQLModel, table=True):
    """`origin` asked `of_holder` for up to `points` of its allowance for `phone`."""

    __tablename__ = "member_allowance_asks"
    __table_args__ = (Index("ix_member_allowance_asks_of", "of_holder"),)

    origin: str = Field(sa_column=Column("origin", String(64), primary_key=True))
    seq: int = Field(sa_column=Column("seq", BigInteger, primary_key=True, autoincrement=False))
    phone: str = Field(sa_column=Column("phone", String(16), nullable=False))
    of_holder: str = Field(sa_column=Column("of_holder", String(64), nullable=False))
    points: int = Field(sa_column=Column("points", BigInteger, nullable=False))
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))


class MemberRules(SQLModel, table=True):
    """The points rules as the hub last set them (one register: scope "points")."""

    __tablename__ = "member_rules"

    scope: str = Field(sa_column=Column("scope", String(16), primary_key=True))
    field: str = Field(sa_column=Column("field", String(64), primary_key=True))
    value: str = Field(sa_column=Column("value", Text, nullable=False))  # JSON
    hlc: int = Field(sa_column=Column("hlc", BigInteger, nullable=False))
    origin: str = Field(sa_column=Column("origin", String(64), nullable=False))


member_fields = table_of(MemberField)
member_enrolments = table_of(MemberEnrolment)
member_points = table_of(MemberPointsEntry)
member_allowance_moves = table_of(MemberAllowanceMove)
member_allowance_asks = table_of(MemberAllowanceAsk)
member_rules = table_of(MemberRules)
