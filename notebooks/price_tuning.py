# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Price tuning
#
# A candidate catalog (a second YAML, or overrides of price parameters) backtested on the metered history:
# revenue today against the candidate by month and by plan, who pays more or less and by how much, the top movers,
# customers whose cheapest plan changes, and a tornado of revenue sensitivity to each price parameter.
# Every amount is rated exactly by `pricing.analysis.backtest`; at the end, widgets let you edit prices and rerun.

# %% tags=["parameters"]
catalog: str = "quasr"  # the current catalog: bundled id or path of a catalog YAML
candidate: str = ""  # path of a candidate catalog YAML; empty: the current catalog with `overrides` applied
overrides: str = '{"payg.maa.unit_price": "0.06", "startup.recurring": "45.00"}'  # JSON: price parameter -> new value
store: str = ""  # workbook store (DuckDB) with the metered history; empty: a synthetic history
store_months: str = ""  # store: the months to backtest, comma-separated YYYY-MM; empty: every month
customers: int = 2000  # synthetic history: number of customers
months: int = 12  # synthetic history: number of months
seed: int = 7  # synthetic history: random seed
sensitivity_percent: int = 10  # tornado: each price parameter moved by -/+ this percent
export: str = ""  # write the per-customer delta table to this CSV path; empty: no export

# %%
import json
from pathlib import Path

from IPython.display import HTML, display

from pricing.analysis.backtest import backtest, history_from_store, sensitivity, synthetic_history
from pricing.reporting.backtest_report import BacktestReport, customers_csv
from pricing.analysis.candidates import apply_overrides
from pricing.engine.catalog import load_catalog
from pricing.files import atomic_write_text
from pricing.reporting.report_tables import figure_bundle, paragraph_html, table_html
from pricing.apps.price_tuning import PriceTuningApp

current = load_catalog(catalog)
names: dict[str, str] = {}
if store:
    from pricing.metering.store import Store

    with Store(store, read_only=True, create=False) as opened:
        history = history_from_store(opened, current.id, store_months.split(",") if store_months else None)
        book = opened.customers()
        names = {str(c): str(n) for c, n in zip(book["customer_id"], book["name"])}
else:
    history = synthetic_history(current, customers, months, seed)
proposed = load_catalog(candidate) if candidate else apply_overrides(current, json.loads(overrides or "{}"))
result = backtest(current, proposed, history)
tornado = sensitivity(current, history, sensitivity_percent)
report = BacktestReport(result, tornado, names, sorted(history["month"].astype(str).unique()), top=15)


def show(frame) -> None:  # noqa: ANN001
    """A table with labels, formatted money and no index."""
    display(HTML(table_html(frame)))


def chart(fig, div_id: str) -> None:  # noqa: ANN001
    """plotly's JSON for JupyterLab and Voila, HTML for the exported page (which drops the JSON)."""
    display(figure_bundle(fig, div_id), raw=True)


display(HTML(paragraph_html(report.headline())))
show(report.changes())

# %% [markdown]
# ## Revenue by month and by plan

# %%
chart(report.revenue_chart(), "revenue")
show(report.by_month())
show(report.by_plan())

# %% [markdown]
# ## Who pays more, who pays less
# Percentiles are actual customers' changes over the whole history.

# %%
chart(report.distribution_chart(), "distribution")
show(report.percentiles())
show(report.movement())

# %% [markdown]
# ## Top movers and cheapest-plan switches

# %%
show(report.pay_more())
show(report.pay_less())
switched = report.switched()
display(HTML(f"<p>{len(switched):,} customers would find a different plan cheapest.</p>"))
show(switched.head(20))

# %% [markdown]
# ## Per-customer table (export)
# Amounts in currency units; `pricing backtest` writes the same table as Excel or CSV.

# %%
if export:
    atomic_write_text(Path(export), customers_csv(report))
table = report.customer_table()
show(table.assign(**{"Change %": [None if v is None else f"{v:.2%}" for v in table["Change %"]]}).head(20))

# %% [markdown]
# ## Sensitivity: revenue change for -/+ x% on each price parameter

# %%
chart(report.tornado_chart(), "tornado")
show(report.sensitivity().head(20))

# %% [markdown]
# ## Tune prices interactively
# Edit any price parameter, then backtest the candidate or draw the tornado again.

# %%
tuning = PriceTuningApp(current, history, sensitivity_percent)
display(tuning.widget)
