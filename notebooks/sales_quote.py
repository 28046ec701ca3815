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
# # Sales quote
#
# A quote for a prospect: the seller block and quote number, the plan's monthly lines for the expected usage,
# tax, the term total, what the quote rests on and a validity date. The same document comes from `pricing report quote`; both call
# `pricing.reporting.quote_document.write_quote_report`.

# %% tags=["parameters"]
prospect: str = "Example Prospect B.V."  # the prospect's name as it appears on the quote
catalog: str = "quasr"  # bundled catalog id or path of a catalog YAML
usage: str = '{"maa": "2400", "mac": "30000", "mat": "3"}'  # expected monthly usage, JSON metric -> quantity
plan: str = ""  # plan id to quote; empty: the cheapest eligible plan
term_months: int = 12  # contract term in months
discount_percent: str = ""  # negotiated discount in percent, e.g. "10"; empty: none
tax_percent: str = ""  # tax rate in percent, e.g. "21"; empty: amounts excluding tax
seller: str = ""  # seller file the invoices use (e.g. examples/seller.yaml); empty: the catalog's vendor, en_US
include_hidden: bool = False  # also quote and compare hidden plans
internal: bool = False  # add the internal appendix (sources, assumption notes): never send that copy
out_dir: str = "reports/quotes"  # where the HTML (and PDF) are written; empty: show only
pdf: bool = False  # also print a PDF with the local chromium, when there is one

# %%
import json
from decimal import Decimal
from pathlib import Path

from IPython.display import HTML, display

from pricing.reporting.invoice_document import load_seller
from pricing.reporting.quote_document import build_quote, render_quote_html, write_quote_report

usage_map = {k: str(v) for k, v in json.loads(usage).items()}
discount = Decimal(discount_percent) if discount_percent else None
options = {"tax_percent": tax_percent or None, "include_hidden": include_hidden,
           "seller": load_seller(seller) if seller else None}
quote = build_quote(prospect, catalog, usage_map, plan or None, term_months, discount, **options)
if out_dir:
    written = write_quote_report(prospect, catalog, usage_map, plan or None, term_months, discount, Path(out_dir),
                                 pdf=pdf, internal=internal, **options)
    print("written:", ", ".join(str(p) for p in written))
page = render_quote_html(quote, internal)
display(HTML(page[page.index("<body>") + 6: page.index("</body>")]))
