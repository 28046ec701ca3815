"""Billing conventions side by side: one month re-billed under other settings, invoice by invoice.

Billing engines disagree on small rules that move real money: rounding,
day counts, tier bounds, partial packages, the credit basis of a downgrade,
when plan changes take effect. The catalog names each rule as a setting
(:class:`pricing.engine.catalog.Settings`). :func:`compare_policies` bills a month of
the store once with every catalog's own settings (the baseline) and once per
combination of the values asked for, all through the one engine
(:func:`pricing.billing.billing_run.bill_month`, nothing written), then pairs every
invoice and every line with the baseline's:

- per combination and currency: the total, its difference to the baseline in
  minor units, how many invoices and customers change, and the largest, p50
  and p95 of the per-invoice differences (absolute, among changed invoices);
- every line that moved, with the setting that moved it: the settings of the
  combination that differ from the catalog's own; where several do, the ones
  whose single change (a combination of its own in the same run) moves the
  same line, or all of them together when none does alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pricing.engine.catalog import Catalog, Settings, load_catalog
from pricing.errors import ReportError
from pricing.engine.invoice import Invoice

if TYPE_CHECKING:
    from pricing.metering.store import Store

MAX_COMBINATIONS = 64  # each combination bills the whole month once


def setting_values() -> dict[str, tuple[str, ...]]:
    """Every setting that can be varied and its allowed values (from the catalog's schema)."""
    out: dict[str, tuple[str, ...]] = {}
    for name, info in Settings.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, Enum):
            out[name] = tuple(str(member.value) for member in kind)
        elif kind is bool:
            out[name] = ("false", "true")
    return out


def parse_vary(items: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``SETTING=V1,V2`` options as setting -> values; one line naming the option otherwise."""
    known = setting_values()
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
        if not sep or not name or not values:
            raise ReportError(f"--vary {item!r}: expected SETTING=VALUE[,VALUE...], e.g. rounding=half_up,half_even")
        if name not in known:
            raise ReportError(f"--vary {item!r}: no setting {name!r} (settings: {', '.join(known)})")
        bad = [v for v in values if v not in known[name]]
        if bad:
            raise ReportError(f"--vary {item!r}: {bad[0]!r} is not a value of {name} ({', '.join(known[name])})")
        if name in out:
            raise ReportError(f"--vary {name} given twice; list its values once, comma-separated")
        out[name] = values
    if not out:
        raise ReportError("nothing to vary: give --vary SETTING=VALUE[,VALUE...] (see pricing policies --list)")
    return out


def combinations(vary: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every combination of the values asked for, in the order given."""
    names = list(vary)
    combos = [dict(zip(names, values)) for values in itertools.product(*(vary[n] for n in names))]
    if len(combos) > MAX_COMBINATIONS:
        raise ReportError(f"{len(combos)} combinations: at most {MAX_COMBINATIONS} in one run (each bills the month)")
    return combos


def with_settings(catalog: Catalog, changes: Mapping[str, str]) -> Catalog:
    """``catalog`` with some settings replaced (validated like a catalog's own)."""
    merged = {**catalog.settings.model_dump(mode="json"), **{k: _typed(v) for k, v in changes.items()}}
    return catalog.model_copy(update={"settings": Settings.model_validate(merged)})


def _typed(value: str) -> Any:
    return {"true": True, "false": False}.get(value, value)


def label(changes: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items())


# --- pairing invoices and lines ------------------------------------------------------------------

_InvoiceKey = tuple[Any, ...]


def _invoice_keys(invoices: Sequence[Invoice]) -> dict[_InvoiceKey, Invoice]:
    """customer, issue instant, period start, and the ordinal among invoices sharing them."""
    out: dict[_InvoiceKey, Invoice] = {}
    for invoice in invoices:
        base = (invoice.customer_id, invoice.issued_at, invoice.period_start)
        ordinal = 0
        while (*base, ordinal) in out:
            ordinal += 1
        out[(*base, ordinal)] = invoice
    return out


def _line_amounts(invoice: Invoice | None) -> dict[tuple[Any, ...], tuple[str, str, int]]:
    """line key -> (item, type, minor); the key is item, type, service dates and an ordinal."""
    out: dict[tuple[Any, ...], tuple[str, str, int]] = {}
    for line in invoice.lines if invoice is not None else ():
        base = (line.item, line.line_type.value, line.service_start, line.service_end)
        ordinal = 0
        while (*base, ordinal) in out:
            ordinal += 1
        out[(*base, ordinal)] = (line.item, line.line_type.value, line.amount_minor)
    return out


@dataclass(frozen=True)
class _Moved:
    invoice: _InvoiceKey
    line: tuple[Any, ...]
    item: str
    line_type: str
    baseline: int
    variant: int


def _moved_lines(base: Mapping[_InvoiceKey, Invoice], other: Mapping[_InvoiceKey, Invoice]) -> list[_Moved]:
    moved: list[_Moved] = []
    for key in sorted(set(base) | set(other), key=_sort_key):
        before, after = _line_amounts(base.get(key)), _line_amounts(other.get(key))
        for line_key in list(before) + [k for k in after if k not in before]:
            item, kind, old = before[line_key] if line_key in before else (*after[line_key][:2], 0)
            new = after[line_key][2] if line_key in after else 0
            if old != new:
                moved.append(_Moved(key, line_key, item, kind, old, new))
    return moved


def _sort_key(key: _InvoiceKey) -> tuple[str, str, str, int]:
    return (str(key[0]), str(key[1]), str(key[2]), int(key[3]))


# --- the comparison ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRun:
    """One combination billed: its settings and the month's invoices."""

    changes: dict[str, str]
    invoices: tuple[Invoice, ...]

    @property
    def label(self) -> str:
        return label(self.changes)


@dataclass(frozen=True)
class PolicyComparison:
    month: str
    baseline: PolicyRun
    runs: tuple[PolicyRun, ...]
    own: dict[str, dict[str, str]]  # catalog id -> its own values of the varied settings
    decimals: dict[str, int] = field(default_factory=dict)  # currency -> minor-unit decimals

    # -- per combination -------------------------------------------------------------------------------

    @cached_property
    def _keyed(self) -> dict[str, dict[_InvoiceKey, Invoice]]:
        """Every run's invoices (and the baseline's, under ""), keyed once for all the tables."""
        return {"": _invoice_keys(self.baseline.invoices),
                **{run.label: _invoice_keys(run.invoices) for run in self.runs}}

    def _pairs(self, run: PolicyRun) -> tuple[dict[_InvoiceKey, Invoice], dict[_InvoiceKey, Invoice]]:
        return self._keyed[""], self._keyed[run.label]

    def invoice_changes(self) -> pd.DataFrame:
        """One row per changed invoice per combination (totals in minor units)."""
        return self._invoice_changes.copy()

    @cached_property
    def _invoice_changes(self) -> pd.DataFrame:
        rows = []
        for run in self.runs:
            base, other = self._pairs(run)
            for key in sorted(set(base) | set(other), key=_sort_key):
                old = base[key].total_minor if key in base else 0
                new = other[key].total_minor if key in other else 0
                if old == new:
                    continue
                some = other.get(key) or base[key]
                rows.append({"combination": run.label, "customer_id": key[0], "issued_at": key[1],
                             "period_start": key[2], "currency": some.currency, "baseline_minor": old,
                             "variant_minor": new, "delta_minor": new - old,
                             "only_in": "" if key in base and key in other
                             else ("baseline" if key in base else "variant")})
        return pd.DataFrame(rows, columns=["combination", "customer_id", "issued_at", "period_start", "currency",
                                           "baseline_minor", "variant_minor", "delta_minor", "only_in"])

    def summary(self) -> pd.DataFrame:
        """Per combination and currency: totals, the difference, what changed and by how much."""
        changes = self.invoice_changes()
        base_totals = _totals(self.baseline.invoices)
        rows = []
        for run in self.runs:
            totals = _totals(run.invoices)
            for currency in sorted(set(base_totals) | set(totals)):
                mine = changes[(changes["combination"] == run.label) & (changes["currency"] == currency)]
                deltas = np.abs(np.array([int(d) for d in mine["delta_minor"]], dtype=object))
                rows.append({
                    "combination": run.label, "currency": currency,
                    "baseline_minor": base_totals.get(currency, 0), "total_minor": totals.get(currency, 0),
                    "delta_minor": totals.get(currency, 0) - base_totals.get(currency, 0),
                    "invoices_changed": len(mine), "customers_changed": int(mine["customer_id"].nunique()),
                    "largest_minor": int(deltas.max()) if len(deltas) else 0,
                    "p50_minor": _percentile(deltas, 50), "p95_minor": _percentile(deltas, 95),
                })
        return pd.DataFrame(rows)

    def changed_lines(self) -> pd.DataFrame:
        """Every line that moved, per combination, with the settings that moved it."""
        return self._changed_lines.copy()

    @cached_property
    def _changed_lines(self) -> pd.DataFrame:
        base = self._keyed[""]
        found = []  # (run, moved line, invoice, the run's settings that differ from the invoice's catalog)
        single: dict[tuple[str, str], set[tuple[Any, ...]]] = {}  # a lone differing setting -> lines it moved
        for run in self.runs:
            other = self._keyed[run.label]
            for m in _moved_lines(base, other):
                invoice = base.get(m.invoice) or other[m.invoice]
                own = self.own.get(invoice.catalog, {})
                differing = [(k, v) for k, v in run.changes.items() if own.get(k) != v]
                found.append((run, m, invoice, differing))
                if len(differing) == 1:
                    single.setdefault(differing[0], set()).add((m.invoice, m.line))
        tried = self._tried_alone()
        rows = [{
            "combination": run.label, "customer_id": m.invoice[0], "issued_at": m.invoice[1],
            "currency": invoice.currency, "item": m.item, "line_type": m.line_type,
            "baseline_minor": m.baseline, "variant_minor": m.variant, "delta_minor": m.variant - m.baseline,
            "why": _why(differing, (m.invoice, m.line), single, tried),
        } for run, m, invoice, differing in found]
        return pd.DataFrame(rows, columns=["combination", "customer_id", "issued_at", "currency", "item", "line_type",
                                           "baseline_minor", "variant_minor", "delta_minor", "why"])

    def _tried_alone(self) -> set[tuple[str, str]]:
        """Settings some combination changes alone (for some catalog): their own effect is known."""
        out: set[tuple[str, str]] = set()
        for run in self.runs:
            for own in self.own.values():
                differing = [(k, v) for k, v in run.changes.items() if own.get(k) != v]
                if len(differing) == 1:
                    out.add(differing[0])
        return out

    def to_json(self) -> dict[str, Any]:
        from pricing.engine.formatting import format_minor

        def money(minor: int, currency: str) -> str:
            return format_minor(int(minor), self.decimals.get(currency, 2))

        summary = self.summary()
        return {
            "month": self.month,
            "baseline": {"settings": self.own, "invoices": len(self.baseline.invoices),
                         "totals": {c: money(v, c) for c, v in _totals(self.baseline.invoices).items()}},
            "combinations": [{
                "settings": run.changes,
                "invoices": len(run.invoices),
                "by_currency": [{
                    "currency": r["currency"], "total": money(r["total_minor"], r["currency"]),
                    "difference": money(r["delta_minor"], r["currency"]),
                    "difference_minor": int(r["delta_minor"]),
                    "invoices_changed": int(r["invoices_changed"]), "customers_changed": int(r["customers_changed"]),
                    "largest": money(r["largest_minor"], r["currency"]), "p50": money(r["p50_minor"], r["currency"]),
                    "p95": money(r["p95_minor"], r["currency"]),
                } for r in summary[summary["combination"] == run.label].to_dict("records")],
            } for run in self.runs],
        }


def _why(differing: list[tuple[str, str]], line: tuple[Any, ...],
         single: Mapping[tuple[str, str], set[tuple[Any, ...]]], tried: set[tuple[str, str]]) -> str:
    if not differing:
        return "none of the settings differs from the catalog's own (the invoices differ for another reason)"
    if len(differing) == 1:
        return f"{differing[0][0]}={differing[0][1]}"
    alone = [f"{k}={v}" for k, v in differing if line in single.get((k, v), set())]
    if alone:
        return ", ".join(alone)
    together = ", ".join(f"{k}={v}" for k, v in differing)
    # each of them alone moves nothing here: the line moves only with them together
    return f"{together} together" if all(d in tried for d in differing) else together


def _totals(invoices: Sequence[Invoice]) -> dict[str, int]:
    out: dict[str, int] = {}
    for invoice in invoices:
        out[invoice.currency] = out.get(invoice.currency, 0) + invoice.total_minor
    return out


def _percentile(values: np.ndarray, q: int) -> int:
    """The nearest-rank percentile of integers (exact: no interpolation between minor units)."""
    if not len(values):
        return 0
    ordered = sorted(int(v) for v in values)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[rank - 1]


BillMonth = Callable[..., Any]


def compare_policies(store: Store, month: str, vary: Mapping[str, Sequence[str]],
                     bill: BillMonth | None = None) -> PolicyComparison:
    """Bill ``month`` with every catalog's own settings, then under each combination of ``vary``."""
    from pricing.billing.billing_run import bill_month  # billing pulls in the rating engine

    bill = bill or bill_month
    ids = sorted({str(c) for c in store.customers()["catalog"].dropna()})
    if not ids:
        raise ReportError(f"{store.path}: no customers; import them first (pricing customers import)")
    catalogs = {i: load_catalog(i) for i in ids}
    own = {i: {name: _text(getattr(c.settings, name)) for name in vary} for i, c in catalogs.items()}
    parsed: dict[Any, Any] = {}  # timelines and ledgers parsed once for every run
    baseline = PolicyRun({}, tuple(bill(store, month, write=False, parsed=parsed).invoices))
    runs = []
    for changes in combinations(vary):
        if all(own[i] == changes for i in ids):
            runs.append(PolicyRun(changes, baseline.invoices))  # the catalogs' own settings: the baseline itself
            continue
        varied = {i: with_settings(c, changes) for i, c in catalogs.items()}
        runs.append(PolicyRun(changes, tuple(bill(store, month, write=False, catalogs=varied, parsed=parsed).invoices)))
    decimals = {inv.currency: inv.decimals for run in (baseline, *runs) for inv in run.invoices}
    return PolicyComparison(month, baseline, tuple(runs), own, decimals)


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = [
    "MAX_COMBINATIONS", "PolicyComparison", "PolicyRun", "combinations", "compare_policies", "label", "parse_vary",
    "setting_values", "with_settings",
]
