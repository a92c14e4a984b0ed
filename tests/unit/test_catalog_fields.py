"""What HQ may set on an item is checked strictly, whether typed in the console or
sent by a script."""

from __future__ import annotations

import pytest

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
    body = CatalogItemIn.model_validate({"sku": "A", "fields": fields})
    with pytest.raises(BusinessRuleError) as refused:
        item_fields(body.fields)
    assert next(iter(fields)) in refused.value.message
    assert refused.value.message_zh.startswith("商品字段无效")


def test_good_fields_pass_and_unset_ones_are_left_out() -> None:
    body = CatalogItemIn.model_validate({"sku": "A", "fields": {"name": "水", "price_fen": 200}})
    assert item_fields(body.fields).changes() == {"name": "水", "price_fen": 200}
