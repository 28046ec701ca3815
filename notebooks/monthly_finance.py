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
# # Monthly finance report
#
# The invoice register, revenue, metered totals, the MRR bridge and the customers finance follows up.
# Every table comes from `pricing.reporting.report_tables`; this notebook only wires the parameters and shows them.

# %% tags=["parameters"]
store: str = "data/workbook.duckdb"  # the workbook store (DuckDB file) with the month billed
month: str = "2026-03"  # the month to report, YYYY-MM

# %%
from IPython.display import HTML, display
import plotly.graph_objects as go

from pricing.reporting import report_tables
from pricing.engine.periods import previous_month
from pricing.metering.store import Store

db = Store(store, read_only=True)
report_tables.check_month(db, month)
meta = report_tables.report_meta(db, month)
previous = previous_month(month)
display(HTML(report_tables.heading_html(f"Monthly finance report, {month}", 1) + report_tables.paragraph_html(*meta.lines())))

# %% [markdown]
# ## Invoice register
# One row per invoice issued for the month; amounts in the invoice's currency.

# %%
reg = report_tables.register(db, month)
totals = report_tables.register_totals(reg)
display(HTML(report_tables.heading_html("Totals per currency", 3) + report_tables.table_html(
    totals, {"currency": "Currency", "invoices": "Invoices", "net": "Net", "discount": "Discount",
             "tax": "Tax", "gross": "Gross"})))
display(HTML(report_tables.table_html(
    reg, {"invoice_id": "Invoice", "customer_id": "Customer", "name": "Name", "catalog": "Catalog",
          "plan": "Plan", "currency": "Currency", "net": "Net", "discount": "Discount", "tax": "Tax",
          "gross": "Gross"})))

# %% [markdown]
# ## Revenue by catalog, plan and line type

# %%
lines = report_tables.register_lines(db, month)
matrix = report_tables.revenue_matrix(lines)
amount_columns = [c for c in matrix.columns if c not in ("currency", "decimals", "catalog", "plan")]
display(HTML(report_tables.table_html(report_tables.with_money(matrix, amount_columns).drop(columns="decimals"))))
by_category = report_tables.revenue_by(lines, ["currency", "catalog", "category"])
for currency, group in by_category.groupby("currency"):
    fig = go.Figure()
    for category, part in group.groupby("category", sort=False):
        fig.add_bar(name=category, x=part["catalog"], y=[float(v) for v in part["amount"]])
    fig.update_layout(barmode="relative", title=f"Revenue by catalog and line type ({currency})",
                      yaxis_title=currency, height=380)
    display(HTML(report_tables.figure_html(fig, f"revenue-{currency}")))

# %% [markdown]
# ## Metered totals (MAA, MAC, MAT and the other catalogs' metrics)

# %%
display(HTML(report_tables.table_html(report_tables.metric_totals(db, month), {"catalog": "Catalog", "name": "Metric", "metric": "Id",
                                                       "total": "Total", "customers": "Customers with usage"})))

# %% [markdown]
# ## MRR bridge against the previous month
# MRR is the recurring part of the month's invoices: recurring fees, add-ons, features and commitments.

# %%
bridge = report_tables.mrr_bridge(db, month, previous)
if db.invoices(previous).empty:
    display(HTML(report_tables.paragraph_html(f"{previous} has not been billed: every customer counts as new.")))
shown = report_tables.with_money(bridge, ["opening", "new", "expansion", "contraction", "churn", "closing"])
display(HTML(report_tables.table_html(shown.drop(columns="decimals"))))
for _, row in shown.iterrows():
    steps = ["opening", "new", "expansion", "contraction", "churn", "closing"]
    values = [float(row[s]) * (-1 if s in ("contraction", "churn") else 1) for s in steps]
    fig = go.Figure(go.Waterfall(x=steps, y=values, measure=["absolute", "relative", "relative", "relative",
                                                              "relative", "total"]))
    fig.update_layout(title=f"MRR bridge {previous} to {month} ({row['currency']})", height=360, showlegend=False)
    display(HTML(report_tables.figure_html(fig, f"mrr-{row['currency']}")))
moves = report_tables.mrr_movements(db, month, previous)
moves = report_tables.with_money(moves[moves["movement"] != "flat"], ["mrr_before", "mrr_now", "change_minor"])
display(HTML(report_tables.table_html(moves, {"customer_id": "Customer", "currency": "Currency", "movement": "Movement",
                                  "mrr_before": "MRR before", "mrr_now": "MRR now", "change_minor": "Change"})))

# %% [markdown]
# ## Top customers by gross

# %%
top = report_tables.top_customers(reg, 10)
display(HTML(report_tables.table_html(top, {"currency": "Currency", "customer_id": "Customer", "name": "Name",
                                "gross": "Gross", "share": "Share of currency"}, percent=["share"])))
for currency, group in top.groupby("currency"):
    fig = go.Figure(go.Bar(x=[float(v) for v in group["gross"]], y=group["customer_id"], orientation="h",
                           text=group["name"]))
    fig.update_layout(title=f"Top customers ({currency})", xaxis_title=currency, height=340,
                      yaxis={"autorange": "reversed"})
    display(HTML(report_tables.figure_html(fig, f"top-{currency}")))

# %% [markdown]
# ## Commitment utilisation (committed vs used)

# %%
commit = report_tables.commitment_utilisation(db, month)
display(HTML(report_tables.table_html(commit, {"customer_id": "Customer", "name": "Name", "plan": "Plan", "metric": "Metric",
                                   "committed": "Committed", "used": "Used", "utilisation": "Used share",
                                   "overuse": "Overuse", "unused": "Unused"}, percent=["utilisation"])))

# %% [markdown]
# ## Customers blocked at the free tier
# No billing details: usage past the free tier is blocked and not charged. "Foregone" is what it would have cost.

# %%
blocked = report_tables.blocked_at_free_tier(db, month)
display(HTML(report_tables.table_html(blocked, {"customer_id": "Customer", "name": "Name", "plan": "Plan",
                                    "currency": "Currency", "foregone": "Foregone", "blocked": "Blocked"})))

# %% [markdown]
# ## Prepaid balances near their notice threshold
# Runway at the month's end if nobody tops up; "near" is under twice the notice threshold, or suspended.

# %%
prepaid = report_tables.prepaid_balances(db, month)
display(HTML(report_tables.table_html(prepaid, {"customer_id": "Customer", "name": "Name", "plan": "Plan", "status": "Status",
                                    "balance": "Balance", "daily_debit": "Daily debit", "days_left": "Days left",
                                    "notice_threshold_days": "Notice threshold (days)", "near": "Near"})))
db.close()
