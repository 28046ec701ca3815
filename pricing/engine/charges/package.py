"""Package: a price per block of ``package_size`` units."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pricing.engine.catalog import PackageCharge, PackageRounding
from pricing.engine.money import scaled_int
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, blocks, exact, plain


@dataclass(frozen=True)
class PackageResult(ModelResult):
    units: Array  # billable units, scaled by the metric's decimals (the quantity shown is blocks)


class Package(ChargeModel[PackageCharge, PackageResult]):
    @property
    def rounding(self) -> PackageRounding:
        # NOTE: the charge's own rounding wins over the catalog's default
        return self.charge.rounding or self.settings.package_rounding

    def prices(self) -> Iterable[Decimal]:
        return (self.charge.package_price,)

    def price(self, billable: Array, pscale: int) -> PackageResult:
        size = scaled_int(self.charge.package_size, self.qscale)
        # amount scale is qscale + pscale for every model, so a block's price is lifted by 10**qscale;
        # blocks <= units (size >= 1 scaled unit), so bounding the units bounds the product
        price = scaled_int(self.charge.package_price, pscale) * 10**self.qscale
        billable = exact(billable, price, size)  # a size past int64 divides Python ints only
        count = blocks(billable, size, self.rounding)
        return PackageResult(count * price, count, 0, self.charge.package_price, billable)

    def explain(self, result: PackageResult, row: int) -> str:
        return (f"{self.q(result.units[row])} charged in {int(result.quantity[row])} block(s) of "
                f"{plain(self.charge.package_size)} at {self.charge.package_price} ({self.rounding.value}-rounded)")

    def item_suffix(self) -> str:
        return f" (per {plain(self.charge.package_size)})"
