"""Rating segments: the drafts a subscription replay writes, priced by the one engine.

Every holding and every usage window of every draft becomes a row of a usage
table; :func:`pricing.engine.rating.rate` prices all rows of a plan at once, with
every charge model, exactly as it prices a quote. Here a line's exact
full-period amount is multiplied by the piece's share of its period and
rounded once (the catalog's rounding rule), so a prorated graduated add-on,
a commitment and a plan fee follow the same arithmetic as a quote.

A change prices both holdings and bills the difference per line: a line of
the same plan whose amount went up is a ``proration`` charge for the rest of
the period, one that went down a ``credit``; a plan change credits every line
of the old plan and charges every line of the new one. ``credit_basis:
amount_paid`` credits what was actually invoiced for the period, last in
first out, instead of today's price.

Invoice-level lines come last, in the order a quote has them: the minimum
spend true-up, discounts, tax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from pricing.engine.catalog import Catalog, CreditBasis, Discount, RoundingScope
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.errors import UsageError
from pricing.engine.money import Rounding, from_scaled, to_minor
from pricing.billing.proration import describe, exact_decimal
from pricing.engine.rating import LineColumns, PlanRating, RateOptions, discount_line, rate, tax_line
from pricing.billing.segments import (Change, ContractMinimum, Draft, EventCharge, Holding, Minimum, Recurring,
                                      UsageCharge)

_RowKey = tuple[str, bool, tuple[tuple[str, Any], ...]]


def round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """``numerator / denominator`` rounded to an integer with the catalog's rule (exact, any size)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    magnitude = abs(numerator)
    quotient, remainder = divmod(magnitude, denominator)
    twice = 2 * remainder
    if rounding is Rounding.HALF_UP:
        up = twice >= denominator
    else:
        up = twice > denominator or (twice == denominator and quotient % 2 == 1)
    rounded = quotient + int(up)
    return -rounded if numerator < 0 else rounded


@dataclass(frozen=True)
class _RatedRow:
    """One rated row: the plan's line columns and the row's index in them."""

    rating: PlanRating
    row: int

    @property
    def lines(self) -> tuple[LineColumns, ...]:
        return self.rating.lines


class _Rows:
    """Every distinct (plan, billing details, quantities) row the drafts need, rated per plan at once."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.keys: dict[_RowKey, int] = {}
        self.groups: dict[tuple[str, bool], list[_RowKey]] = {}
        self.rated: dict[_RowKey, _RatedRow] = {}

    @staticmethod
    def key(holding: Holding, usage: dict[str, Any] | None = None) -> _RowKey:
        if not usage:
            return holding.plan, holding.billing_details, tuple(sorted(holding.quantities))
        values: dict[str, Any] = dict(holding.quantities)
        # a list is a period's transactions (per-transaction charges): kept, as a hashable tuple
        values.update({k: tuple(v) if isinstance(v, list) else v for k, v in usage.items()})
        return holding.plan, holding.billing_details, tuple(sorted(values.items()))

    def want(self, key: _RowKey) -> None:
        if key not in self.keys:
            self.keys[key] = len(self.keys)
            self.groups.setdefault((key[0], key[1]), []).append(key)

    def rate_all(self) -> None:
        metrics = self.catalog.metrics
        for (plan_id, details), keys in self.groups.items():
            columns: dict[str, list[Any]] = {}
            for position, key in enumerate(keys):
                for name, value in key[2]:
                    columns.setdefault(name, [0] * len(keys))[position] = value
            frame = pd.DataFrame({name: _quantity_series(values) for name, values in columns.items()
                                  if name in metrics}, index=pd.RangeIndex(len(keys)))
            if frame.shape[1] == 0:
                frame = pd.DataFrame(index=pd.RangeIndex(len(keys)))
            options = RateOptions(include_minimum=False, include_plan_discounts=False, tax_percent=Decimal(0),
                                  billing_details=details, invoice_rounding=False)
            rated = rate(self.catalog, frame, [plan_id], options).plans[plan_id]
            for position, key in enumerate(keys):
                self.rated[key] = _RatedRow(rated, position)

    def get(self, key: _RowKey) -> _RatedRow:
        return self.rated[key]


_INT64_QUANTITY = 2**62  # whole quantities below this go to rating as int64, the rest as exact objects


def _quantity_series(values: list[Any]) -> pd.Series:
    """A column of held quantities and usage for :func:`rate`: int64 when every value is a whole
    number that fits (read without a per-value parse), else the exact objects, parsed one by one."""
    try:
        whole = [int(v) for v in values]
    except (TypeError, ValueError, OverflowError):
        return pd.Series(values, dtype=object)
    if all(w == v and -_INT64_QUANTITY < w < _INT64_QUANTITY for w, v in zip(whole, values)) \
            and not any(isinstance(v, bool) for v in values):
        return pd.Series(np.array(whole, dtype=np.int64))
    return pd.Series(values, dtype=object)


@dataclass
class _Lot:
    """What was invoiced for one line this period: the full-period amount it covered, the share, the minor paid."""

    full: Fraction
    left: Fraction
    part: Fraction
    minor: int


class _Pricer:
    def __init__(self, catalog: Catalog, rows: _Rows) -> None:
        self.catalog = catalog
        self.rows = rows
        self.d = catalog.decimals
        self.rounding = catalog.settings.rounding
        self.day_count = catalog.settings.day_count
        self.spend: dict[tuple[str, Any], int] = {}
        self.billed: dict[str, int] = {}  # customer -> total invoiced so far
        self.lots: dict[tuple[str, str, int], list[_Lot]] = {}
        self.progressive: dict[tuple[str, Any], tuple[int, int]] = {}  # usage billed early, thresholds crossed
        self.whole: dict[tuple[_RowKey, bool], list[tuple[Line, tuple[int, _Lot]]]] = {}  # see _whole_period
        self._last_lots: list[tuple[int, _Lot]] = []

    # -- amounts ---------------------------------------------------------------

    def _minor(self, exact: Fraction) -> int:
        scaled = exact * 10**self.d
        return round_ratio(scaled.numerator, scaled.denominator, self.rounding)

    def _exact_decimal(self, exact: Fraction) -> Decimal:
        return exact_decimal(exact).quantize(Decimal(1).scaleb(-(self.d + 6))).normalize()

    @staticmethod
    def _full(col: LineColumns, row: int) -> Fraction:
        return Fraction(int(col.exact_amount[row]), 10**col.exact_scale)

    @staticmethod
    def _quantity(col: LineColumns, row: int) -> Decimal:
        return from_scaled(col.quantity[row], col.quantity_scale)

    def _span(self, part: Fraction, piece: Recurring | Change) -> str:
        return "the full period" if part == 1 else describe(part, self.day_count, piece.period)

    # -- pieces ----------------------------------------------------------------

    def recurring(self, customer: str, piece: Recurring) -> list[Line]:
        key = _Rows.key(piece.holding)
        if piece.share == 1:
            return self._whole_period(customer, key, piece)
        return self._recurring(customer, key, piece)

    def _whole_period(self, customer: str, key: _RowKey, piece: Recurring) -> list[Line]:
        """:meth:`_recurring` for a whole period: its lines differ between pieces of one holding only
        in their dates, so they are worded once per holding (most renewals are whole periods)."""
        known = self.whole.get((key, piece.arrears))
        if known is None:
            lines = self._recurring(customer, key, piece)
            known = self.whole[(key, piece.arrears)] = [
                (line, lot) for line, lot in zip(lines, self._last_lots)]
            return lines
        out = []
        for line, (k, lot) in known:
            out.append(Line(line.item, line.line_type, line.quantity, line.unit_price, line.amount_minor,
                            line.exact_amount, line.explanation, line.metric, piece.start, piece.end, line.tiers))
            if not piece.arrears:
                self.lots[(customer, piece.holding.plan, k)] = [_Lot(lot.full, lot.full, lot.part, lot.minor)]
        return out

    def _recurring(self, customer: str, key: _RowKey, piece: Recurring) -> list[Line]:
        rated = self.rows.get(key)
        out: list[Line] = []
        self._last_lots = []
        advance = not piece.arrears
        for k, col in enumerate(rated.lines):
            if not col.recurring:
                continue
            full = self._full(col, rated.row)
            if full == 0:
                continue
            part = Fraction(1) if piece.full or not col.prorated else piece.share
            minor = self._minor(full * part)
            base = col.explain(rated.row) if col.explain else ""
            what = "in arrears: " if piece.arrears else ""
            span = self._span(part, piece) + ("" if col.prorated or part != 1 or piece.share == 1 else ", not prorated")
            out.append(Line(col.item, col.line_type, self._quantity(col, rated.row), col.unit_price, minor,
                            self._exact_decimal(full * part), f"{what}{base}; for {span}", col.metric,
                            piece.start, piece.end, col.tiers(rated.row) if col.tiers else ()))
            self._last_lots.append((k, _Lot(full, full, part, minor)))
            if advance:
                self.lots[(customer, piece.holding.plan, k)] = [_Lot(full, full, part, minor)]
        return out

    def change(self, customer: str, piece: Change) -> list[Line]:
        if not piece.prorate or piece.share == 0:
            return []
        before = self.rows.get(_Rows.key(piece.before)) if piece.before else None
        after = self.rows.get(_Rows.key(piece.after)) if piece.after else None
        lines: list[Line] = []
        same_plan = (before is not None and after is not None and piece.before is not None and piece.after is not None
                     and piece.before.plan == piece.after.plan)
        if same_plan:
            assert before is not None and after is not None and piece.after is not None
            for k, (old, new) in enumerate(zip(before.lines, after.lines)):
                if not new.recurring:
                    continue
                delta = self._full(new, after.row) - self._full(old, before.row)
                quantity = self._quantity(new, after.row) - self._quantity(old, before.row)
                if delta > 0:
                    lines.append(self._charge(customer, piece, piece.after.plan, k, new, after.row, delta,
                                              abs(quantity)))
                elif delta < 0:
                    lines.append(self._credit(customer, piece, piece.after.plan, k, new, after.row, -delta,
                                              abs(quantity)))
            return lines
        # another plan: every recurring line of the old plan credited, of the new one charged
        for rated, holding, bill in ((before, piece.before, self._credit), (after, piece.after, self._charge)):
            if rated is None or holding is None:
                continue
            for k, col in enumerate(rated.lines):
                full = self._full(col, rated.row)
                if col.recurring and full:
                    lines.append(bill(customer, piece, holding.plan, k, col, rated.row, full,
                                      self._quantity(col, rated.row)))
        return lines

    def _words(self, col: LineColumns, quantity: Decimal, full: Fraction) -> str:
        if col.unit_price is not None and quantity and Fraction(quantity * col.unit_price) == full:
            return f"{quantity} x {col.unit_price}"
        return f"{self.catalog.currency} {self._exact_decimal(full)} a period"

    def _charge(self, customer: str, piece: Change, plan: str, k: int, col: LineColumns, row: int,
                full: Fraction, quantity: Decimal) -> Line:
        part = piece.share if col.prorated else Fraction(1)
        minor = self._minor(full * part)
        self.lots.setdefault((customer, plan, k), []).append(_Lot(full, full, part, minor))
        return Line(col.item, LineType.PRORATION, quantity, col.unit_price, minor, self._exact_decimal(full * part),
                    f"{piece.why}: remaining time, {self._words(col, quantity, full)} for {self._span(part, piece)}",
                    col.metric, piece.start, piece.end)

    def _credit(self, customer: str, piece: Change, plan: str, k: int, col: LineColumns, row: int,
                full: Fraction, quantity: Decimal) -> Line:
        if not col.prorated:
            # NOTE: a line billed in full for the period is not refunded when it shrinks (Lago)
            return Line(col.item, LineType.CREDIT, quantity, col.unit_price, 0, Decimal(0),
                        f"{piece.why}: billed in full for the period, nothing refunded", col.metric,
                        piece.start, piece.end)
        part = piece.share
        paid = Fraction(0)
        left = full
        lots = self.lots.get((customer, plan, k), [])
        while left > 0 and lots:
            lot = lots[-1]
            take = min(left, lot.left)
            if lot.part and lot.full:
                paid += Fraction(lot.minor, 10**self.d) * take / lot.full * part / lot.part
            lot.left -= take
            left -= take
            if lot.left == 0:
                lots.pop()
        if self.catalog.settings.credit_basis is CreditBasis.AMOUNT_PAID:
            minor = self._minor(-paid)
            return Line(col.item, LineType.CREDIT, quantity, None, minor, self._exact_decimal(-paid),
                        f"{piece.why}: unused time, {self._span(part, piece)} of what was paid", col.metric,
                        piece.start, piece.end)
        minor = self._minor(-full * part)
        return Line(col.item, LineType.CREDIT, quantity, col.unit_price, minor, self._exact_decimal(-full * part),
                    f"{piece.why}: unused time, {self._words(col, quantity, full)} for {self._span(part, piece)}",
                    col.metric, piece.start, piece.end)

    def usage(self, piece: UsageCharge) -> tuple[list[Line], bool, str | None]:
        rated = self.rows.get(_Rows.key(piece.holding, dict(piece.usage)))
        out: list[Line] = []
        for col in rated.lines:
            if col.recurring:
                continue
            if col.in_advance:
                if (col.metric is None or not isinstance(piece.usage.get(col.metric), (list, tuple))) and \
                        col.amount_minor[rated.row]:
                    raise UsageError(
                        f"charge {col.item!r} is paid in advance per event: its usage of {col.metric!r} for"
                        f" {piece.start:%Y-%m-%d} .. {piece.end:%Y-%m-%d} must come as usage_events, not a total")
                continue  # invoiced at each event (see event())
            if col.charge_minimum is not None and piece.share != 1 and out:
                line = self._partial_minimum(col.charge_minimum, piece.share, out[-1], col.line(rated.row))
                out.append(replace(line, service_start=piece.start, service_end=piece.end))
            else:
                out.append(col.line(rated.row, piece.start, piece.end))
        chunk, local = rated.rating.chunk_of(rated.row)
        return out, bool(chunk.eligible[local]), chunk.reason[local]

    @staticmethod
    def event_keys(piece: EventCharge) -> tuple[_RowKey, _RowKey]:
        """The rows of the period's events before this one, and up to and including it."""
        after = (*piece.earlier, piece.value) if isinstance(piece.earlier, tuple) else piece.earlier + piece.value
        return (_Rows.key(piece.holding, {piece.metric: piece.earlier}),
                _Rows.key(piece.holding, {piece.metric: after}))

    def event(self, piece: EventCharge) -> list[Line]:
        """Each pay-in-advance charge on the event's metric: the charge after it less the charge
        before it (nothing before the period's first event), rounded on its own."""
        before_key, after_key = self.event_keys(piece)
        before, after = self.rows.get(before_key), self.rows.get(after_key)
        unit = self.catalog.metrics[piece.metric].unit + ("" if piece.value == 1 else "s")
        when = piece.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        out: list[Line] = []
        for old, new in zip(before.lines, after.lines):
            if not new.in_advance or new.metric != piece.metric:
                continue
            charged_before = Fraction(0) if piece.first else self._full(old, before.row)
            fee = self._full(new, after.row) - charged_before
            out.append(Line(
                new.item, new.line_type, piece.value, None, self._minor(fee), self._exact_decimal(fee),
                f"paid in advance: {piece.value.normalize():f} {unit} at {when}; the period's charge"
                f" {self._exact_decimal(self._full(new, after.row))} after it less"
                f" {self._exact_decimal(charged_before)} before it", new.metric, piece.at, piece.at))
        return out

    def _partial_minimum(self, minimum: Decimal, part: Fraction, charged: Line, line: Line) -> Line:
        """A charge's spending minimum in a partial window: minimum x share, rounded once, less the charge."""
        prorated = self._minor(Fraction(minimum) * part)
        shortfall = max(prorated - charged.amount_minor, 0)
        span = f"{self._exact_decimal(part * 100)}% of the period"
        return Line(line.item, line.line_type, Decimal(1 if shortfall else 0), None, shortfall,
                    from_scaled(shortfall, self.d),
                    f"minimum {minimum} for {span} = {from_scaled(prorated, self.d)}; charged"
                    f" {from_scaled(charged.amount_minor, self.d)}", line.metric)

    def minimum(self, customer: str, piece: Minimum, spend_period: Any) -> list[Line]:
        plan = self.catalog.plan(piece.plan)
        if plan.minimum_spend is None:
            return []
        minimum = self._minor(Fraction(plan.minimum_spend.amount) * piece.share)
        spent = self.spend.get((customer, spend_period), 0)
        shortfall = max(minimum - spent, 0)
        if shortfall == 0:
            return []
        span = "the full period" if piece.share == 1 else describe(piece.share, self.day_count, piece.period)
        return [Line("Minimum spend true-up", LineType.MINIMUM, Decimal(1), None, shortfall,
                     from_scaled(shortfall, self.d),
                     f"minimum {plan.minimum_spend.amount} for {span} = {from_scaled(minimum, self.d)};"
                     f" spent {from_scaled(spent, self.d)}", None, piece.start, piece.end)]

    def contract_minimum(self, customer: str, piece: ContractMinimum, so_far: int) -> list[Line]:
        minimum = to_minor(piece.amount, self.d, self.rounding)
        spent = self.billed.get(customer, 0) + so_far
        if spent >= minimum:
            return []
        return [Line("Contract minimum spend", LineType.MINIMUM, Decimal(1), None, minimum - spent,
                     from_scaled(minimum - spent, self.d),
                     f"contract minimum {piece.amount}; invoiced {from_scaled(spent, self.d)} over the subscription",
                     None, piece.start, piece.end)]

    # -- invoices ----------------------------------------------------------------

    def price(self, draft: Draft) -> Invoice | None:
        lines: list[Line] = []
        eligible, reason = True, None
        for placed in draft.pieces:
            piece = placed.piece
            new: list[Line] | None
            if isinstance(piece, Recurring):
                new = self.recurring(draft.customer_id, piece)
            elif isinstance(piece, Change):
                new = self.change(draft.customer_id, piece)
            elif isinstance(piece, UsageCharge):
                new, ok, why = self.usage(piece)
                new = self._progressive(draft, placed.spend_period, new)
                if new is None:
                    return None  # no threshold crossed: nothing is issued
                if not ok and eligible:
                    eligible, reason = False, why
            elif isinstance(piece, EventCharge):
                new = self.event(piece)
            elif isinstance(piece, Minimum):
                new = self.minimum(draft.customer_id, piece, placed.spend_period)
            else:
                new = self.contract_minimum(draft.customer_id, piece, sum(line.amount_minor for line in lines))
            if placed.spend_period is not None:
                key = (draft.customer_id, placed.spend_period)
                self.spend[key] = self.spend.get(key, 0) + sum(line.amount_minor for line in new)
            lines.extend(new)
        if self.catalog.settings.rounding_scope is RoundingScope.INVOICE and lines:
            lines.append(self._rounding(draft, lines))
        lines.extend(self._invoice_level(draft, lines))
        billed = sum(line.amount_minor for line in lines)
        self.billed[draft.customer_id] = self.billed.get(draft.customer_id, 0) + billed
        return Invoice(catalog=self.catalog.id, plan=draft.plan, currency=self.catalog.currency, decimals=self.d,
                       lines=tuple(lines), eligible=eligible, reason=reason, period_start=draft.period.start,
                       period_end=draft.period.end, customer_id=draft.customer_id, notes=tuple(draft.notes),
                       issued_at=draft.issued_at)

    def _progressive(self, draft: Draft, period: Any, usage: list[Line]) -> list[Line] | None:
        """Progressive billing: a checkpoint invoices the usage so far once it crosses the next
        threshold (None otherwise); every usage invoice of the period deducts what was billed before."""
        key = (draft.customer_id, period)
        billed, crossed = self.progressive.get(key, (0, 0))
        amount = sum(line.amount_minor for line in usage)
        if draft.conditional:
            plan = self.catalog.plan(draft.plan)
            thresholds = [to_minor(t, self.d, self.rounding) for t in plan.progressive_billing.thresholds] \
                if plan.progressive_billing else []
            reached = sum(1 for t in thresholds if amount >= t)
            if reached <= crossed:
                return None
            self.progressive[key] = (amount, reached)
            draft.notes.append(f"usage threshold {from_scaled(thresholds[reached - 1], self.d)} crossed")
        if not billed:
            return usage
        start, end = usage[0].service_start if usage else None, usage[-1].service_end if usage else None
        return usage + [Line("Usage invoiced earlier this period", LineType.CREDIT, Decimal(1), None, -billed,
                             from_scaled(-billed, self.d), "billed progressively when a usage threshold was"
                             f" crossed: {from_scaled(billed, self.d)}", None, start, end)]

    def _rounding(self, draft: Draft, lines: Sequence[Line]) -> Line:
        """Invoice-level rounding: the lines' exact total rounded once, less the sum of the rounded lines.

        NOTE: a prorated line keeps its exact amount to d+6 places (``_exact_decimal``), so the total
        rounded here is exact to that precision, not beyond it.
        """
        exact = sum((Fraction(line.exact_amount) for line in lines), Fraction(0))
        rounded = self._minor(exact)
        charged = sum(line.amount_minor for line in lines)
        adjustment = rounded - charged
        return Line("Rounding", LineType.ROUNDING, Decimal(1 if adjustment else 0), None, adjustment,
                    from_scaled(adjustment, self.d),
                    f"exact total {self._exact_decimal(exact)} rounded once to {from_scaled(rounded, self.d)};"
                    f" the lines rounded one by one add up to {from_scaled(charged, self.d)}", None,
                    draft.period.start, draft.period.end)

    def _invoice_level(self, draft: Draft, lines: Sequence[Line]) -> list[Line]:
        """Discounts on the subtotal, then tax on the net: the quote's own discount and tax lines."""
        out: list[Line] = []
        plan = self.catalog.plans.get(draft.plan)
        discounts: list[Discount] = [*(plan.discounts if plan else ()), *draft.discounts]
        subtotal = np.array([sum(line.amount_minor for line in lines)], dtype=object)
        start, end = draft.period.start, draft.period.end
        for discount in discounts:
            if discount.periods is not None and draft.period_index >= discount.periods:
                continue
            if draft.kind == "event" and discount.percent is None:
                continue  # NOTE: an amount off is taken once a period, on its periodic invoice, not per event
            line = discount_line(self.catalog, discount, subtotal).line(0)
            if line.amount_minor:
                out.append(replace(line, service_start=start, service_end=end))
                subtotal = subtotal + line.amount_minor
        tax_percent = self.catalog.tax_percent if draft.tax_percent is None else draft.tax_percent
        if tax_percent:
            out.append(replace(tax_line(self.catalog, tax_percent, subtotal).line(0),
                               service_start=start, service_end=end))
        return out


def price_drafts(catalog: Catalog, drafts: Iterable[Draft]) -> list[Invoice | None]:
    """Price drafts in order (a customer's drafts in the order they were issued).

    All rows of all drafts are rated first, per plan, in one vectorized call
    each; then each draft's lines are assembled, so minimums and
    ``amount_paid`` credits see what earlier drafts invoiced. A conditional
    (progressive-billing) draft that crosses no threshold gives None.
    """
    drafts = list(drafts)
    rows = _Rows(catalog)
    for draft in drafts:
        for placed in draft.pieces:
            piece = placed.piece
            if isinstance(piece, Recurring):
                rows.want(_Rows.key(piece.holding))
            elif isinstance(piece, Change):
                for holding in (piece.before, piece.after):
                    if holding is not None:
                        rows.want(_Rows.key(holding))
            elif isinstance(piece, UsageCharge):
                rows.want(_Rows.key(piece.holding, dict(piece.usage)))
            elif isinstance(piece, EventCharge):
                for key in _Pricer.event_keys(piece):
                    rows.want(key)
    rows.rate_all()
    pricer = _Pricer(catalog, rows)
    return [pricer.price(draft) for draft in drafts]


def recurring_amount(catalog: Catalog, holding: Holding) -> Fraction:
    """The full-period amount of a holding's recurring lines (a prepaid plan's price per period)."""
    return recurring_amounts(catalog, [holding])[holding]


def recurring_amounts(catalog: Catalog, holdings: Iterable[Holding]) -> dict[Holding, Fraction]:
    """:func:`recurring_amount` of many holdings, rated in one ``rate`` call per plan.

    NOTE: a ``rate`` call costs about 0.5 ms whatever its rows; a month-end run
    prices every prepaid customer's holdings, so they are rated together.
    """
    rows = _Rows(catalog)
    keys = {holding: _Rows.key(holding) for holding in holdings}
    for key in keys.values():
        rows.want(key)
    rows.rate_all()
    out: dict[Holding, Fraction] = {}
    for holding, key in keys.items():
        rated = rows.get(key)
        out[holding] = sum((_Pricer._full(col, rated.row) for col in rated.lines if col.recurring), Fraction(0))
    return out


def prorated_minor(catalog: Catalog, amount: Fraction, part: Fraction) -> int:
    """``amount x part`` rounded once to the catalog's minor unit."""
    scaled = amount * part * 10**catalog.decimals
    return round_ratio(scaled.numerator, scaled.denominator, catalog.settings.rounding)
