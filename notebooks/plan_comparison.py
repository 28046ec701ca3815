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
# # Plan comparison
#
# Choose a catalog and enter the prospect's expected usage: every plan's monthly, annual and term cost with its
# lines, the cheapest highlighted, ineligible plans with the reason, a chart of cost against the main metric with
# the break-even points, and the commitment that minimises expected cost. All numbers come from `pricing`;
# this notebook only wires the parameters to `pricing.widgets.PlanComparisonApp`. It also runs as a web app:
# `pricing app`.

# %% tags=["parameters"]
catalog: str = "quasr"  # bundled catalog id: quasr, logto, license_jp or prepaid_auth
usage: str = ""  # expected monthly usage as JSON, e.g. '{"maa": 2400, "mac": 30000}'; empty: the catalog's sample
billing_details: bool = True  # the prospect has billing details (address and payment method) on file
growth_percent: float = 3.0  # expected usage growth in percent per month, for the term total
term_months: int = 24  # months in the term total, 12 to 36

# %%
import json

from IPython.display import display

from pricing.widgets import PlanComparisonApp

app = PlanComparisonApp(catalog, json.loads(usage) if usage else None, billing_details, str(growth_percent),
                        term_months)
display(app.widget)
