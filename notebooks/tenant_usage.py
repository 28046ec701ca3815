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
# # Tenant usage report
#
# One tenant's month: daily usage, the plan's included quantities, the busiest accounts and clients,
# and the customer's invoice lines with the plan's rules.

# %% tags=["parameters"]
store: str = "data/workbook.duckdb"  # the workbook store (DuckDB file) with the month billed
customer: str = "c0001"  # the customer id
tenant: str = "c0001-prod"  # the tenant id (of that customer)
month: str = "2026-03"  # the month to report, YYYY-MM
tables: str = ""  # folder of the month's tables (Parquet) written by pricing report tenants; empty: read the store
customer_hex: str = ""  # the customer id as UTF-8 hex (pricing report tenants passes ids this way); overrides customer
tenant_hex: str = ""  # the tenant id as UTF-8 hex; overrides tenant

# %%
from IPython.display import HTML, display
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pricing.reporting import report_tables
from pricing.reporting.month_tables import tenant_page

customer = bytes.fromhex(customer_hex).decode() if customer_hex else customer
tenant = bytes.fromhex(tenant_hex).decode() if tenant_hex else tenant
# the month's tables (computed once for every tenant by pricing report tenants), or the store when none
page = tenant_page(store, month, customer, tenant, tables)
display(HTML(report_tables.heading_html(f"Tenant {tenant} of {page.name} ({customer}), {month}", 1)
             + report_tables.paragraph_html(*page.meta().lines())))

# %% [markdown]
# ## Daily usage
# Per day: the day's value; "to date" counts distinct accounts since the 1st (MAA, MAU) or adds up calls (MAC).

# %%
for metric, part in page.daily.groupby("metric", sort=False):
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=[str(d) for d in part["day"]], y=part["daily"].tolist(), name="per day")
    fig.add_scatter(x=[str(d) for d in part["day"]], y=part["to_date"].tolist(), name="month to date",
                    mode="lines", secondary_y=True)
    fig.update_layout(title=f"{part['name'].iloc[0]} ({metric})", height=320)
    display(HTML(report_tables.figure_html(fig, f"daily-{metric}")))
display(HTML(report_tables.table_html(page.metrics)))

# %% [markdown]
# ## Included quantities
# What the plan includes for the whole customer, how much the customer used, and this tenant's part.

# %%
display(HTML(report_tables.table_html(page.included, {"charge": "Charge", "included": "Included", "customer_used": "Customer used",
                                          "share_of_included_used": "Share of included used",
                                          "tenant_used": "Tenant used", "tenant_share_of_customer": "Tenant's share"},
                          percent=["share_of_included_used", "tenant_share_of_customer"])))

# %% [markdown]
# ## Top accounts and clients by calls

# %%
for kind, label in (("user", "Top user accounts"), ("client", "Top clients (machine accounts)")):
    display(HTML(report_tables.heading_html(label, 3) + report_tables.table_html(page.top_accounts(kind), {
        "account_id": "Account", "calls": "Calls", "failed": "Failed", "active_days": "Active days"})))

# %% [markdown]
# ## The customer's invoice lines for the month, and the plan's rules
#
# Each line says the service period it charges: a fee billed in advance covers the coming period,
# usage billed in arrears the period that ended (for a customer billed on an anniversary, not the
# calendar month of the usage above), a proration the rest of a period.

# %%
display(HTML(report_tables.table_html(page.lines, {"invoice_id": "Invoice", "item": "Item", "line_type": "Type",
                                       "service_start": "Service from", "service_end": "Service to",
                                       "quantity": "Quantity", "unit_price": "Unit price", "currency": "Currency",
                                       "amount": "Amount", "explanation": "Explanation"})))
display(HTML(report_tables.heading_html("Plan rules", 3) + report_tables.paragraph_html(*page.plan_rules())))
