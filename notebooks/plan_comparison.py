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
# # Plan comparison
#
# Enter the expected monthly usage: every plan's monthly, annual and term cost with its lines, the cheapest
# highlighted, plans that do not fit with the reason, a chart of cost against usage with the points where the
# cheapest plan changes, and the commitment level that minimises the expected cost.

# %% tags=["parameters"]
catalog: str = "quasr"  # bundled catalog id: quasr, logto, license_jp or prepaid_auth
usage: str = ""  # expected monthly usage as JSON, e.g. '{"maa": 2400, "mac": 30000}'; empty: the catalog's sample
billing_details: bool = True  # the prospect has billing details (address and payment method) on file
growth_percent: float = 3.0  # expected usage growth in percent per month, for the term total
term_months: int = 24  # months in the term total, 12 to 36

# %%
# The page runs as a web app with `pricing app` (Voila hides this code); every number comes from the pricing
# engine through pricing.apps.plan_comparison.PlanComparisonApp.
import json

from IPython.display import display

from pricing.apps.plan_comparison import PlanComparisonApp

app = PlanComparisonApp(catalog, json.loads(usage) if usage else None, billing_details, str(growth_percent),
                        term_months)
display(app.widget)
