"""What HQ may set on an item is checked strictly, whether typed in the console or
sent by a script."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.api import CatalogItemIn
from cloud.services.catalog import item_fields
from domain.errors import BusinessRuleError


@pytest.mark.parametrize(
    "fields",
    [
        {"price_fen": True},
        {"price_fen": "12"},
        {"price_fen": 1.5},
        {"price_fen": -1},
        {"price_fen": 10**30},
        {"colour": "red"},
        {"name": "x" * 201},
    ],
)
def test_a_bad_field_sent_to_the_api_is_refused_naming_it(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as refused:
        CatalogItemIn.model_validate({"sku": "A", "fields": fields})
    assert [e["loc"][:2] for e in refused.value.errors()] == [("fields", next(iter(fields)))]


@pytest.mark.parametrize("fields", [{"price_fen": "12"}, {"colour": "red"}, {"price_fen": -1}])
def test_a_bad_field_typed_in_the_console_is_refused_naming_it(fields: dict[str, object]) -> None:
    with pytest.raises(BusinessRuleError) as refused:
        item_fields(fields)
    assert next(iter(fields)) in refused.value.message
    assert refused.value.message_zh.startswith("商品字段无效")


def test_good_fields_pass_and_unset_ones_are_left_out() -> None:
    body = CatalogItemIn.model_validate({"sku": "A", "fields": {"name": "水", "price_fen": 200}})
    assert body.fields.changes() == {"name": "水", "price_fen": 200}
    assert item_fields({"name": "水"}).changes() == {"name": "水"}
