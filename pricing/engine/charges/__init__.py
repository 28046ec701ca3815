"""Charge models, one small module each, vectorized over many usage rows in exact integers.

The registry :data:`MODELS` maps each charge class of the catalog (the
members of the :data:`~pricing.engine.catalog.Charge` union) to the model that
prices it; :func:`model_for` binds a charge to its model. The same models
price usage charges and recurring ones (add-ons, features): what differs is
the quantity rating hands them, never the arithmetic. Each model returns a
typed :class:`ModelResult` (exact amounts, the quantity the line shows, and
what explains the line); rating rounds each line once.
"""

from __future__ import annotations

from typing import Any

from pricing.engine.catalog import (
    Catalog,
    Charge,
    FlatCharge,
    GraduatedCharge,
    GraduatedPercentageCharge,
    PackageCharge,
    PercentageCharge,
    PercentagePerTransactionCharge,
    PerUnitCharge,
    Settings,
    VolumeCharge,
)
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, exact
from pricing.engine.charges.flat import Flat
from pricing.engine.charges.graduated import Graduated, GraduatedResult
from pricing.engine.charges.graduated_percentage import GraduatedPercentage, GraduatedPercentageResult
from pricing.engine.charges.package import Package, PackageResult
from pricing.engine.charges.per_unit import PerUnit
from pricing.engine.charges.percentage import Percentage
from pricing.engine.charges.percentage_per_transaction import PercentagePerTransaction, PerTransactionResult
from pricing.engine.charges.volume import Volume, VolumeResult

MODELS: dict[type, type[ChargeModel[Any, Any]]] = {
    PerUnitCharge: PerUnit,
    GraduatedCharge: Graduated,
    VolumeCharge: Volume,
    PackageCharge: Package,
    PercentageCharge: Percentage,
    GraduatedPercentageCharge: GraduatedPercentage,
    PercentagePerTransactionCharge: PercentagePerTransaction,
    FlatCharge: Flat,
}
"""Each catalog charge class and the model that prices it."""


def model_for(charge: Charge, qscale: int, settings: Settings | None = None,
              interval: str = "month") -> ChargeModel[Any, Any]:
    """The model of ``charge``, bound to it (``qscale``: decimals of the charge's metric)."""
    try:
        model = MODELS[type(charge)]
    except KeyError:
        raise TypeError(f"no charge model for {type(charge).__name__}") from None
    return model(charge, qscale, settings or Settings(), interval)


def model_in(catalog: Catalog, charge: Charge) -> ChargeModel[Any, Any]:
    """The model of one of ``catalog``'s charges, with the catalog's metric decimals, settings and interval."""
    return model_for(charge, catalog.metrics[charge.metric].decimal_places, catalog.settings, catalog.interval.value)


def price_scale(charge: Charge) -> int:
    """Decimal places needed to hold every price of a charge (and its commitment) as an integer."""
    return model_for(charge, 0).price_scale()


def apply_model(charge: Charge, billable: Array, qscale: int, pscale: int, settings: Settings) -> ModelResult:
    """Price ``billable`` with the charge's model (kept for callers that hold no model)."""
    return model_for(charge, qscale, settings).price(billable, pscale)


__all__ = [
    "MODELS",
    "Array",
    "ChargeModel",
    "GraduatedPercentageResult",
    "GraduatedResult",
    "ModelResult",
    "PackageResult",
    "PerTransactionResult",
    "VolumeResult",
    "apply_model",
    "exact",
    "model_for",
    "model_in",
    "price_scale",
]
