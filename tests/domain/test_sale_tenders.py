"""The store counter's checkout at a node (`edge.services.checkout`): a cart priced from
the node's catalog with promotions and the cashier's discounts, paid by one tender or
several, recorded as one `sale.completed` op that old readers still read; its retries;
and its receipt, read back from the ESC/POS bytes the lane printer would get."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices.printer import render_receipt
from devices.printer.escpos_decode import EscPosDecoder
from domain.errors import Conflict
from domain.pricing.discounts import ManualDiscount
from domain.pricing.errors import IncompletePayment, NeedsAuthorisation
from domain.pricing.promotions import BuyNGetM, PromotionSet
from domain.pricing.tenders import Cash, Tender, WeChat
from domain.registry import REGISTRY
from domain.sales.checkout import CheckoutLine, authorisation_fields
from domain.sales.kinds import SaleCompleted
from domain.sales.queries import recorded_sale
from edge.services.checkout import CheckedOut, check_out, receipt_of
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import stock_of

NOW = datetime(2026, 12, 3, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
CATALOG: dict[str, dict[str, Any]] = {
    "WATER": {"name": "矿泉水", "price_fen": 200},
    "COLA": {"name": "可乐", "price_fen": 350},
    "CANDY": {"name": "水果糖", "price_fen": 144},
    # sold by weight, priced per kg; its scale labels name it by PLU 00123
    "PORK": {"name": "猪肉", "price_fen": 3880, "unit": "kg", "barcode": "00123"},
}
THREE_FOR_TWO = PromotionSet(
    promotions=(BuyNGetM(id="cola-3for2", name="可乐买二送一", skus=("COLA",), buy=2, get=1),)
)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ReplicaStore]:
    """A store node whose catalog came from the hub (CATALOG)."""
    hub_key = NodeKey.generate()
    ledger = ReplicaStore(
        f"sqlite:///{tmp_path}/ledger.db",
        origin="store-1",
        key=NodeKey.generate(),
        registry=REGISTRY,
    )
    ledger.enroll("cloud", hub_key.public_b64)
    ledger.apply(
        [
            hub_key.sign(
                Op("cloud", i, i, "catalog.item_set", 1, "hq", {"sku": sku, "fields": fields})
            )
            for i, (sku, fields) in enumerate(CATALOG.items(), start=1)
        ]
    )
    yield ledger
    ledger.close()


def sell(
    ledger: ReplicaStore,
    lines: Sequence[CheckoutLine],
    tenders: Sequence[Tender],
    **options: Any,
) -> CheckedOut:
    options.setdefault("cashier", "C001")
    options.setdefault("now", NOW)
    return check_out(ledger, "store-1", lines, tenders, **options)


def body_of(ledger: ReplicaStore, sale: CheckedOut) -> dict[str, Any]:
    [op] = ledger.ops_range("store-1", sale.op_seq, sale.op_seq)
    assert op.kind == "sale.completed"
    return op.body


def test_split_cash_and_wechat_take_wechat_first_and_give_change_from_the_cash(
    node: ReplicaStore,
) -> None:
    sale = sell(
        node,
        [CheckoutLine(sku="WATER", qty=2), CheckoutLine(sku="COLA")],
        [Cash(tendered_fen=500), WeChat(amount_fen=500, reference="wx4200001234")],
    )
    assert (sale.total_fen, sale.change_fen, sale.paid_fen) == (750, 250, 750)
    assert [(t["type"], t["amount_fen"]) for t in body_of(node, sale)["tenders"]] == [
        ("wechat", 500),
        ("cash", 500),
    ]


def test_old_readers_see_the_first_tender_as_the_payment(node: ReplicaStore) -> None:
    sale = sell(
        node,
        [CheckoutLine(sku="COLA")],
        [Cash(tendered_fen=100), WeChat(amount_fen=250, reference="wx4200001235")],
    )
    with node.read() as conn:
        recorded = recorded_sale(conn, "store-1", sale.sale_id)
    assert recorded is not None
    assert (recorded.payment, recorded.total_fen) == ("wechat", 350)
    assert recorded.lines[0]["amount_fen"] == 350


def test_cash_rounding_to_the_jiao_is_its_own_line_of_the_sale(node: ReplicaStore) -> None:
    # ¥3.44 in cash at a store that rounds: the customer pays ¥3.40
    sale = sell(
        node,
        [CheckoutLine(sku="WATER"), CheckoutLine(sku="CANDY")],
        [Cash(tendered_fen=500)],
        cash_rounding=True,
    )
    body = body_of(node, sale)
    assert (body["total_fen"], body["rounding_fen"], body["paid_fen"]) == (344, -4, 340)
    assert sale.change_fen == 160


def test_buy_two_get_one_free_takes_the_third_cola_off(node: ReplicaStore) -> None:
    sale = sell(
        node, [CheckoutLine(sku="COLA", qty=3)], [Cash(tendered_fen=700)], promotions=THREE_FOR_TWO
    )
    [line] = sale.lines
    assert (line.amount_fen, line.discount_fen, line.net_fen) == (1050, 350, 700)
    assert line.promotion_id == "cola-3for2"
    assert (sale.subtotal_fen, sale.discount_fen, sale.total_fen) == (1050, 350, 700)


def test_a_discount_over_the_cashiers_limit_needs_a_supervisor_and_passes_with_one(
    node: ReplicaStore,
) -> None:
    # 20 % off ¥20.00 of water: a cashier may give 10 %, a supervisor 30 %
    lines = [CheckoutLine(sku="WATER", qty=10, discount=ManualDiscount(percent=20, reason="临期"))]
    before = node.count_ops()
    with pytest.raises(NeedsAuthorisation) as refused:
        sell(node, lines, [Cash(tendered_fen=1600)])
    assert (refused.value.action, refused.value.role) == ("discount_over_limit", "cashier")
    assert authorisation_fields(refused.value) == ["lines[0].discount"]
    assert node.count_ops() == before

    sale = sell(node, lines, [Cash(tendered_fen=1600)], authorised_by=("S001", "supervisor"))
    assert sale.total_fen == 1600
    [granted] = body_of(node, sale)["authorised"]
    assert (granted["by"], granted["role"], granted["fen"], granted["line"]) == (
        "S001",
        "supervisor",
        400,
        0,
    )
    trail = [op for op in node.all_ops() if op.kind == "staff.action_authorised"]
    assert [(op.actor, op.body["by"]) for op in trail] == [("C001", "S001")]


def test_a_price_embedded_label_is_sold_at_the_price_on_it(node: ReplicaStore) -> None:
    # the scale weighed and priced this pack of pork at ¥19.87: PLU 00123
    sale = sell(node, [CheckoutLine(code="2000123019871")], [Cash(tendered_fen=2000)])
    [line] = sale.lines
    assert (line.sku, line.name, line.amount_fen, line.code) == (
        "PORK",
        "猪肉",
        1987,
        "2000123019871",
    )


def test_a_weight_label_is_priced_per_kg_by_the_catalog(node: ReplicaStore) -> None:
    # 512 g of pork at ¥38.80/kg is ¥19.87 (1986.56 fen, half up)
    sale = sell(node, [CheckoutLine(code="2100123005123")], [Cash(tendered_fen=2000)])
    [line] = sale.lines
    assert (line.weight_g, line.unit_price_fen, line.amount_fen) == (512, 3880, 1987)


def test_a_retry_answers_the_recorded_sale_and_writes_nothing(node: ReplicaStore) -> None:
    lines = [CheckoutLine(sku="COLA", qty=3)]
    tenders = [Cash(tendered_fen=1000)]
    first = sell(node, lines, tenders, sale_id="till-1-0042", promotions=THREE_FOR_TWO)
    ops = node.count_ops()
    again = sell(node, lines, tenders, sale_id="till-1-0042", promotions=THREE_FOR_TWO)
    assert again.replayed and not first.replayed
    assert again == CheckedOut(**{**vars(first), "replayed": True})
    assert node.count_ops() == ops


def test_a_retry_with_other_tenders_is_a_conflict(node: ReplicaStore) -> None:
    lines = [CheckoutLine(sku="COLA")]
    sell(node, lines, [Cash(tendered_fen=500)], sale_id="till-1-0043")
    with pytest.raises(Conflict):
        sell(node, lines, [WeChat(amount_fen=350, reference="wx1")], sale_id="till-1-0043")


def test_the_sale_takes_its_stock_line_by_line(node: ReplicaStore) -> None:
    sell(
        node,
        [CheckoutLine(sku="WATER", qty=2), CheckoutLine(code="2000123019871")],
        [Cash(tendered_fen=5000)],
    )
    assert stock_of(node) == {("WATER", "store-1"): -2, ("PORK", "store-1"): -1}


def test_a_short_payment_records_nothing(node: ReplicaStore) -> None:
    before = node.count_ops()
    with pytest.raises(IncompletePayment):
        sell(node, [CheckoutLine(sku="COLA")], [Cash(tendered_fen=300)])
    assert node.count_ops() == before


def test_the_body_keeps_to_the_sale_kind(node: ReplicaStore) -> None:
    sale = sell(
        node,
        [CheckoutLine(sku="COLA", qty=3), CheckoutLine(sku="PORK", weight_g=530, tare_g=18)],
        [Cash(tendered_fen=5000)],
        promotions=THREE_FOR_TWO,
        discount=ManualDiscount(amount_fen=100),
    )
    body = SaleCompleted.model_validate(body_of(node, sale))
    assert body.lines[1].weight_g == 512 and body.lines[1].tare_g == 18
    assert sum(ln.net_fen or 0 for ln in body.lines) == body.total_fen == 700 + 1987 - 100


def test_the_receipt_reads_back_in_chinese_with_the_sale_id_as_a_qr_code(
    node: ReplicaStore,
) -> None:
    sale = sell(
        node,
        [CheckoutLine(sku="COLA", qty=3), CheckoutLine(sku="CANDY")],
        [WeChat(amount_fen=500, reference="wx4200001236"), Cash(tendered_fen=500)],
        promotions=THREE_FOR_TWO,
        cash_rounding=True,
    )
    receipt = receipt_of(
        sale, store_name="鲜果超市 人民路店", cashier_name="王芳", member="138****8000"
    )
    decoder = EscPosDecoder()
    decoder.feed(render_receipt(receipt))
    [paper] = decoder.documents
    text = paper.text()
    for shown in ("鲜果超市 人民路店", "收银员：王芳", "会员：138****8000", "可乐", "水果糖"):
        assert shown in text
    for label in ("优惠", "可乐买二送一", "合计", "抹零", "微信支付", "现金", "实收", "找零"):
        assert label in text, label
    assert "￥8.44" in text  # 合计: 3 colas for 2 (¥7.00) and ¥1.44 of sweets
    assert "-￥0.04" in text  # 抹零: the ¥3.44 left for cash is ¥3.40
    assert [q.payload for q in paper.qr_codes] == [sale.sale_id]
