"""The store counter's pricing rules: pure functions and strict models, values in and
values out, no I/O (the till's services open the transaction, call these, write the
ops). Money is integer fen, weight integer grams; every division rounds half-up once,
at the end (`money`).

A sale at the counter goes through them in this order:

1. **Scan** — `price_embedded.decode(code, layouts)`: a label from the store's scales
   (EAN-13 with a prefix 20–29, laid out as the store set it: PLU and a price in fen or a
   weight in grams) or None for a normal code, looked up in the catalog as it is. Wrong
   check digits are refused: a misread must not sell at a wrong price.
2. **Weigh** — `weighed.weigh(unit_price_fen_per_kg, gross_g, tare_g=…)`: price per kg ×
   settled net weight, half-up to the fen (猪肉 ¥38.80/kg × 0.512 kg = ¥19.87).
3. **Promotions** — `promotions.apply_promotions(lines, promotions, member=…, at=…)`:
   HQ's percent off, amount off, buy-N-get-M and member prices, in their time windows;
   at most one line promotion per line, taken greedily by the largest saving, then the
   single best cart promotion on what is left; never below zero. The result says which
   promotion gave each line what.
4. **Manual discounts and price changes** — `discounts.item_discount`, `cart_discount`,
   `price_override`: within the cashier's role limit, otherwise `NeedsAuthorisation`
   and the counter asks a supervisor's PIN, then calls again with the supervisor's role.
5. **Pay** — `tenders.settle(total_fen, tenders, cash_rounding=…)`: cash, card, WeChat,
   Alipay, points, or several; non-cash first and never over, cash last with the change;
   the cash part rounded to the jiao when the store is set to it (`rounding`), the
   rounding its own line of the sale.

Why each rule is as it is stands in its module's docstring. The errors are one tree
(`errors`), all `BusinessRuleError`s with a Chinese message for the cashier; what HQ and
the till author (`authored`) is strict and bounded, so it can travel as op bodies.
"""
