# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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
# Every amount is rated exactly by `pricing.backtest`; at the end, widgets let you edit prices and rerun.

# %% tags=["parameters"]
catalog: str = "quasr"  # the current catalog: bundled id or path of a catalog YAML
candidate: str = ""  # path of a candidate catalog YAML; empty: the current catalog with `overrides` applied
overrides: str = '{"payg.maa.unit_price": "0.06", "startup.recurring": "45.00"}'  # JSON: price parameter -> new value
store: str = ""  # workbook store (DuckDB) with the metered history; empty: a synthetic history
customers: int = 2000  # synthetic history: number of customers
months: int = 12  # synthetic history: number of months
seed: int = 7  # synthetic history: random seed
sensitivity_percent: int = 10  # tornado: each price parameter moved by -/+ this percent
export: str = ""  # write the per-customer delta table to this CSV path; empty: no export

# %%
import json

import pandas as pd
from IPython.display import HTML, display

from pricing.backtest import backtest, history_from_store, sensitivity, synthetic_history
from pricing.candidates import apply_overrides, diff_parameters
from pricing.catalog import load_catalog
from pricing.money import format_money
from pricing.widgets import PriceTuningApp, delta_histogram_figure, revenue_figure, tornado_figure

current = load_catalog(catalog)
if store:
    from pricing.store import Store

    history = history_from_store(Store(store, read_only=True), current.id)
else:
    history = synthetic_history(current, customers, months, seed)
proposed = load_catalog(candidate) if candidate else apply_overrides(current, json.loads(overrides or "{}"))
result = backtest(current, proposed, history)


def money(minor: int) -> str:
    return format_money(int(minor), current.currency, current.decimals)


def show_money(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in [c for c in out.columns if c.endswith("_minor")]:
        out[column.removesuffix("_minor")] = out.pop(column).map(money)
    return out


changes = pd.DataFrame(diff_parameters(current, proposed), columns=["parameter", "today", "candidate"])
totals = result.totals()
display(HTML(f"<p>{history['customer_id'].nunique():,} customers, {history['month'].nunique()} months. "
             f"Revenue today {money(totals['current_minor'])}, candidate {money(totals['candidate_minor'])}: "
             f"<b>{money(totals['delta_minor'])}</b>.</p>"))
changes

# %% [markdown]
# ## Revenue by month and by plan

# %%
display(revenue_figure(result))
display(show_money(result.by_month()))
show_money(result.by_plan())

# %% [markdown]
# ## Who pays more, who pays less
# p50 and p95 are actual customers' changes over the whole history.

# %%
display(delta_histogram_figure(result))
display(pd.DataFrame([{k: money(v) for k, v in result.percentiles().items()}]))
show_money(result.movement())

# %% [markdown]
# ## Top movers and cheapest-plan switches

# %%
display(show_money(result.top_movers(15)))
switched = result.switched_customers()
display(HTML(f"<p>{len(switched):,} customers would find a different plan cheapest.</p>"))
show_money(switched.head(20))

# %% [markdown]
# ## Per-customer delta table (export)

# %%
per_customer = result.per_customer()
if export:
    per_customer.to_csv(export, index=False)
show_money(per_customer.head(20))

# %% [markdown]
# ## Sensitivity: revenue change for -/+ x% on each price parameter

# %%
tornado = sensitivity(current, history, sensitivity_percent)
display(tornado_figure(tornado, current))
show_money(tornado.drop(columns=["revenue_minor"]).head(20))

# %% [markdown]
# ## Tune prices interactively
# Edit any price parameter, then backtest the candidate or draw the tornado again.

# %%
tuning = PriceTuningApp(current, history, sensitivity_percent)
display(tuning.widget)
