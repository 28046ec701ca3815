"""``pricing catalog import|export`` and ``pricing reconcile`` end to end, on hand-made files.

The reconciliation store: three customers (acme, beta, gamma) on the catalog imported from
tests/fixtures/interop/stripe_prices.json, plan Typographic Pro (USD 20.00 a month in advance,
fonts graduated 7 / 6.50 / 6, API calls in volume tiers with flat amounts), all since 1 January.
March's events: acme 20 font users and 5,000 API calls, beta 1,005 calls, gamma 1 call. The
engine's invoices of March (issued 1 April) are therefore:

- acme: April's fee 20.00; fonts 5 x 7 + 5 x 6.50 + 10 x 6 = 127.50; 5,000 calls in tier 2:
  5,000 x 0.001 + 5 = 10.00;
- beta: fee 20.00; fonts 0; 1,005 calls: 1,005 x 0.001 + 5 = 6.005 -> 6.01 (half up);
- gamma: fee 20.00; 1 call in tier 1: 0.

tests/fixtures/interop/stripe_invoices.json (hand-made, Stripe's invoice object) bills acme 7,000
calls (12.00) and a one-off setup fee (50.00), bills beta's calls at 6.00, has no invoice for gamma,
one for an unknown customer (cus_Ghost, 20.00), a void invoice and February's.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
import yaml

from pricing.apps.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "interop"
HEADER = "timestamp,customer_id,tenant_id,account_id,account_kind,method,endpoint,status"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(status: int, err: str) -> None:
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


# --- catalog import / export -----------------------------------------------------------------------------


def test_import_stripe_writes_a_catalog_that_quotes_stripes_example(tmp_path, capsys):
    out = tmp_path / "typo.yaml"
    status, _, err = run(capsys, "catalog", "import", "stripe", str(FIXTURES / "stripe_prices.json"), "-o", str(out))
    assert status == 0, err
    assert "note: skipped 1 inactive price(s): price_1OldFee" in err
    status, quoted, _ = run(capsys, "quote", str(out), "--plan", "typographic_pro", "--usage", "fonts=20", "--json")
    assert status == 0
    # 20.00 fee + 5 x 7 + 5 x 6.50 + 10 x 6 = 20 + 127.50
    assert json.loads(quoted)["quotes"][0]["total"] == "147.50"


def test_import_lago_to_standard_output_and_export_back_round_trips(tmp_path, capsys):
    status, text, err = run(capsys, "catalog", "import", "lago", str(FIXTURES / "lago_plans.json"), "--id", "lagocat")
    assert status == 0, err
    catalog = tmp_path / "lagocat.yaml"
    catalog.write_text(text, encoding="utf-8")
    status, exported, _ = run(capsys, "catalog", "export", "lago", str(catalog))
    assert status == 0
    assert json.loads(exported)["plans"][0]["charges"][0]["properties"]["graduated_ranges"][1] == {
        "from_value": 101, "to_value": 200, "per_unit_amount": "0.5", "flat_amount": "0"}
    (tmp_path / "exported.json").write_text(exported, encoding="utf-8")
    status, again, _ = run(capsys, "catalog", "import", "lago", str(tmp_path / "exported.json"), "--id", "lagocat")
    assert (status, again) == (0, text)


def test_export_stripe_to_a_file(tmp_path, capsys):
    status, text, _ = run(capsys, "catalog", "import", "stripe", str(FIXTURES / "stripe_prices.json"), "--id", "typo")
    (tmp_path / "typo.yaml").write_text(text, encoding="utf-8")
    status, _, err = run(capsys, "catalog", "export", "stripe", str(tmp_path / "typo.yaml"), "-o",
                         str(tmp_path / "prices.json"))
    assert status == 0, err
    prices = [o for o in json.loads((tmp_path / "prices.json").read_text())["data"] if o["object"] == "price"]
    assert [p["id"] for p in prices] == ["price_1PfeeMonthly", "price_1FontsGraduated", "price_1ApiCallsVolume",
                                         "price_1FeeYearly", "price_1RentalHour", "price_1Per5Users"]


@pytest.mark.parametrize("argv, expected", [
    (["catalog", "import", "stripe", "missing.json"], "missing.json: no such file"),
    (["catalog", "import", "stripe", "{bad}"], "line 1 column 2: not valid JSON"),
    (["catalog", "import", "stripe", "{binary}"], "not UTF-8 text"),
    (["catalog", "import", "lago", "{stripe}"], "expected 'plans' (an array)"),
    (["catalog", "import", "stripe", "{lago}"], "neither a Stripe list nor a Stripe object"),
    (["catalog", "import", "stripe", "{stripe}", "--id", "Bad Id"], "--id 'Bad Id'"),
    (["catalog", "import", "stripe", "{stripe}", "-o", "{dir}"], "is a folder, not a file"),
    (["catalog", "import", "paypal", "{stripe}"], "invalid choice: 'paypal'"),
    (["catalog", "export", "stripe", "quasr"], "quasr.account_rules: cannot be exported to Stripe"),
    (["catalog", "export", "lago", "nosuch.yaml"], "nosuch.yaml"),
])
def test_bad_catalog_input_is_one_line_and_status_2(tmp_path, capsys, argv, expected):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", encoding="utf-8")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    names = {"{bad}": str(bad), "{binary}": str(binary), "{stripe}": str(FIXTURES / "stripe_prices.json"),
             "{lago}": str(FIXTURES / "lago_plans.json"), "{dir}": str(tmp_path)}
    status, _, err = run(capsys, *[names.get(a, a) for a in argv])
    one_error_line(status, err)
    assert expected in err


# --- reconcile ---------------------------------------------------------------------------------------------


def _catalog_named_by_id(tmp_path: Path, capsys, vendor: str, fixture: str, catalog_id: str,
                         meters: dict[str, dict]) -> None:
    """The imported catalog, with meter rules for its metrics, saved where customers can name it by its id."""
    status, text, err = run(capsys, "catalog", "import", vendor, str(FIXTURES / fixture), "--id", catalog_id)
    assert status == 0, err
    data = yaml.safe_load(text)
    for metric, meter in meters.items():
        data["metrics"][metric]["meter"] = meter
    # NOTE: a timeline's catalog must be named by the catalog's id (see docs/interop.md)
    (tmp_path / catalog_id).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _store(tmp_path: Path, capsys, catalog_id: str, plan: str, customers: list[tuple[str, str]],
           events: list[str]) -> Path:
    rows = ["customer_id,name,catalog,billing_email"] + [f"{c},{c.title()} Inc,{catalog_id},{e}" for c, e in customers]
    (tmp_path / "customers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    timelines = tmp_path / "timelines"
    timelines.mkdir()
    for customer, _ in customers:
        (timelines / f"{customer}.yaml").write_text(
            f'customer_id: {customer}\nevents:\n  - {{at: "2026-01-01T00:00:00Z", type: start, plan: {plan}}}\n')
    (tmp_path / "events.csv").write_text("\n".join([HEADER, *events]) + "\n", encoding="utf-8")
    store = tmp_path / "store.duckdb"
    for argv in (["customers", "import", "--customers", "customers.csv", "--timelines", "timelines"],
                 ["ingest", "events.csv"], ["meter", "--month", "2026-03"]):
        status, _, err = run(capsys, *argv, "--store", str(store))
        assert status == 0, err
    return store


def _calls(customer: str, count: int, method: str, endpoint: str, accounts: int) -> list[str]:
    """``count`` distinct events in March (one a second from the 2nd), spread over ``accounts`` accounts."""
    return [f"2026-03-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z,{customer},prod,{customer}-u{i % accounts},"
            f"user,{method},{endpoint},200" for i in range(count)]


@pytest.fixture()
def stripe_store(tmp_path, capsys, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _catalog_named_by_id(tmp_path, capsys, "stripe", "stripe_prices.json", "typo", {
        "fonts": {"aggregate": "distinct_accounts", "calls": [{"method": "POST", "endpoint": "fonts/render"}]},
        "api_calls": {"aggregate": "count", "calls": [{"method": "GET", "endpoint": "api/v1"}]}})
    events = (_calls("acme", 20, "POST", "fonts/render", 20) + _calls("acme", 5000, "GET", "api/v1", 20)
              + _calls("beta", 1005, "GET", "api/v1", 3) + _calls("gamma", 1, "GET", "api/v1", 1))
    return _store(tmp_path, capsys, "typo", "typographic_pro",
                  [("acme", "billing@acme.example"), ("beta", "ap@beta.example"), ("gamma", "")], events)


def _reconcile(capsys, store: Path, invoices: str, *extra: str) -> tuple[int, dict, str]:
    status, out, err = run(capsys, "reconcile", "--store", str(store), "--month", "2026-03", "--invoices",
                           str(FIXTURES / invoices), "--output", str(store.parent / "out"), "--json", *extra)
    return status, (json.loads(out) if status == 0 else {}), err


def test_reconcile_stripe_names_each_difference_and_its_cause(stripe_store, capsys):
    status, result, err = _reconcile(capsys, stripe_store, "stripe_invoices.json", "--customer-key",
                                     "metadata:customer_id")
    assert status == 0, err
    rows = {(d["customer_id"], d["status"], d["metric"]): d for d in result["differences"]}
    api = rows[("acme", "differing", "api_calls")]
    # the vendor billed 7,000 calls: 7,000 x 0.001 + 5 = 12.00; the store metered 5,000: 10.00
    assert (api["vendor_amount"], api["engine_amount"], api["difference"]) == ("12.00", "10.00", "2.00")
    assert api["cause"].startswith("extra usage: the vendor billed 7000 api_calls, the store metered 5000")
    beta = rows[("beta", "differing", "api_calls")]
    # 1,005 x 0.001 + 5 = 6.005: half up 6.01 here, 6.00 at the vendor
    assert (beta["vendor_amount"], beta["engine_amount"]) == ("6.00", "6.01")
    assert beta["cause"].startswith("rounding rule: the exact amount is 6.005")
    assert rows[("acme", "missing in engine", None)]["cause"].startswith("a one-off line with no price")
    assert rows[("gamma", "missing at vendor", None)]["engine_amount"] == "20.00"
    assert rows[("cus_Ghost", "missing in engine", None)]["cause"] == \
        "customer 'cus_Ghost' (metadata 'customer_id') is not in the store"
    assert len(result["differences"]) == 5
    assert len(result["matched"]) == 6  # acme fee and fonts, beta fee and fonts, gamma's two zero lines
    (totals,) = result["totals"]
    # vendor: 20 + 127.50 + 12 + 50 + 20 + 0 + 6 + 20 = 255.50; engine: 20 + 127.50 + 10 + 20 + 6.01 + 20 = 203.51
    # at risk: |2.00| + 50.00 + |-0.01| + 20.00 (gamma) + 20.00 (cus_Ghost) = 92.01; net 255.50 - 203.51 = 51.99
    assert (totals["vendor_total"], totals["engine_total"], totals["amount_at_risk"], totals["net_difference"]) == (
        "255.50", "203.51", "92.01", "51.99")
    assert result["notes"] == [
        "left out 1 invoice(s) not charged: in_1AcmeVoided (void)",
        "left out 1 invoice(s) issued outside 2026-03 (the month's invoices are issued in (2026-03-01, 2026-04-01])"]


def test_reconcile_writes_the_page_and_a_sheet_where_text_stays_text(stripe_store, capsys):
    from openpyxl import load_workbook

    status, result, _ = _reconcile(capsys, stripe_store, "stripe_invoices.json", "--customer-key",
                                   "metadata:customer_id")
    assert status == 0
    page = (stripe_store.parent / "out" / "reconciliation.html").read_text(encoding="utf-8")
    assert "USD 92.01" in page and "extra usage" in page
    # text, not a link (the page escapes its quotes: compare what a reader sees)
    assert '=HYPERLINK("http://evil.example","Setup fee")' in html.unescape(page) and "<a " not in page
    sheet = load_workbook(stripe_store.parent / "out" / "reconciliation_differences.xlsx").active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 5
    setup = next(r for r in rows if r["Vendor line"].startswith("=HYPERLINK"))
    assert setup["Vendor amount"] == 50 and setup["Difference"] == 50
    cell = next(c for c in sheet[[r["Vendor line"] for r in rows].index(setup["Vendor line"]) + 2]
                if c.value == setup["Vendor line"])
    assert cell.data_type == "s" and cell.quotePrefix


def test_reconcile_maps_customers_by_email(stripe_store, capsys):
    status, result, _ = _reconcile(capsys, stripe_store, "stripe_invoices.json", "--customer-key", "email")
    assert status == 0
    # acme and beta found by their billing e-mail; cus_Ghost has none
    assert {d["customer_id"] for d in result["differences"]} == {"acme", "beta", "gamma", "cus_Ghost"}


@pytest.mark.parametrize("extra, expected", [
    (["--customer-key", "id"], "none of the 3 stripe invoice(s) of 2026-03 belongs to a customer of the store by id"),
    (["--customer-key", "crm"], "--customer-key 'crm': expected id, email or metadata:KEY"),
    (["--month", "2026-05"], "no stripe invoice in the file is issued in 2026-05 (of 4 read)"),
    (["--month", "2026-13"], "--month '2026-13': expected YYYY-MM"),
    (["--invoices", "{prices}"], "object 'prod_Typographic' of type 'product' is not an invoice"),
    (["--invoices", "{lago_plans}", "--vendor", "lago"], "expected 'invoices' (an array)"),
    (["--store", "{missing}"], "missing.duckdb"),
])
def test_bad_reconcile_input_is_one_line_and_status_2(stripe_store, capsys, extra, expected):
    names = {"{prices}": str(FIXTURES / "stripe_prices.json"), "{lago_plans}": str(FIXTURES / "lago_plans.json"),
             "{missing}": str(stripe_store.parent / "missing.duckdb")}
    argv = ["reconcile", "--store", str(stripe_store), "--month", "2026-03", "--invoices",
            str(FIXTURES / "stripe_invoices.json"), "--customer-key", "metadata:customer_id", "--output",
            str(stripe_store.parent / "out")]
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag in argv:
            argv[argv.index(flag) + 1] = names.get(value, value)
        else:
            argv += [flag, names.get(value, value)]
    status, _, err = run(capsys, *argv)
    one_error_line(status, err)
    assert expected in err
    assert not (stripe_store.parent / "out").exists()  # a failed run writes nothing


def test_reconcile_lago_pairs_fees_and_true_ups(tmp_path, capsys, monkeypatch):
    """acme on Lago's Startup plan ($49 in advance): 250 API calls (100 + 50 + 5 = $155), 5,000 MTU ($50 and a
    $50 true-up to the $100 minimum), no storage; Lago's invoice also bills 150 storage units ($5)."""
    monkeypatch.chdir(tmp_path)
    _catalog_named_by_id(tmp_path, capsys, "lago", "lago_plans.json", "lagocat", {
        "api_calls": {"aggregate": "count", "calls": [{"method": "GET", "endpoint": "api/v1"}]},
        "storage_units": {"aggregate": "count", "calls": [{"method": "PUT", "endpoint": "storage"}]},
        "mtu": {"aggregate": "distinct_accounts", "calls": [{"method": "POST", "endpoint": "auth/login"}]}})
    events = _calls("acme", 250, "GET", "api/v1", 10) + _calls("acme", 5000, "POST", "auth/login", 5000)
    store = _store(tmp_path, capsys, "lagocat", "startup", [("acme", "billing@acme.example")], events)
    status, result, err = _reconcile(capsys, store, "lago_invoices.json")
    assert status == 0, err
    assert [(d["status"], d["metric"], d["vendor_amount"], d["engine_amount"]) for d in result["differences"]] == [
        ("differing", "storage_units", "5.00", "0.00")]
    # at the vendor's 150 units: 150 - 100 free = 50, one started package of 100 x $5 = $5.00
    assert result["differences"][0]["cause"].startswith("extra usage: the vendor billed 150 storage_units")
    matched = {(m["category"], m["metric"]): m["vendor_amount"] for m in result["matched"]}
    assert matched == {("fee", None): "49.00", ("usage", "api_calls"): "155.00", ("usage", "mtu"): "50.00",
                       ("minimum", "mtu"): "50.00"}
    assert result["notes"][0] == "left out 1 invoice(s) not charged: LAG-ACME-DRAFT (draft)"
