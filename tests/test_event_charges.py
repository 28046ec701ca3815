"""Event-level charges through catalogs, quotes and subscription invoices (issue 10, item 9).

- ``percentage_per_transaction``: Lago's percentage model over each transaction of the period;
- ``pay_in_advance: true``: a usage charge invoiced at each event, as the period's charge after the
  event less the charge before it, rounded per event (Lago's pay-in-advance charges).

The worked example (tests/fixtures/events): plan "online", USD 10.00 a month, card payments at
2.9% + 0.30 per transaction, SMS graduated 0.50 for the first 2 and 0.25 after, paid in advance.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.engine.catalog import load_catalog
from pricing.apps.cli import main
from pricing.errors import CatalogError, SubscriptionError, UsageError
from pricing.engine.rating import rate_one
from pricing.billing.subscriptions import invoices_between
from pricing.billing.timeline import parse_timeline

from conftest import make_catalog

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "events"
CATALOG = str(FIXTURES / "payments_catalog.yaml")
TIMELINE = str(FIXTURES / "shop_timeline.yaml")
AMOUNT = "  card_volume: {name: Card volume, kind: amount, decimals: 2, unit: USD}\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# --- per transaction -----------------------------------------------------------


def test_a_quote_prices_each_transaction():
    catalog = load_catalog(CATALOG)
    invoice = rate_one(catalog, "online", {"card_volume": ["100.00", "0.50"]})
    card = next(line for line in invoice.lines if line.item == "Card payments")
    # 100.00 x 2.9% + 0.30 = 3.20; 0.50 x 2.9% + 0.30 = 0.3145; 3.5145 rounded once -> 3.51
    assert card.exact_amount == Decimal("3.5145") and card.amount_minor == 351
    assert "2 transaction(s): 2.9% of each plus 0.30 per transaction" in card.explanation
    # the same total as one transaction would owe one fixed fee only: 100.50 x 2.9% + 0.30 = 3.2145
    assert invoice.total_minor == 1000 + 351


def test_free_transactions_free_amount_and_bounds_from_the_catalog():
    catalog = make_catalog("""
        - metric: card_volume
          model: percentage_per_transaction
          rate: "1.2"
          fixed_fee: "0.10"
          free_transactions: 3
          free_amount: "500"
          source: "assumption: Lago's illustration of free units"
    """, currency="USD", metrics=AMOUNT)
    invoice = rate_one(catalog, "p", {"card_volume": ["100", "200", "300", "400", "50"]})
    # cumulative 100 and 300 are free; 600 crosses 500: 100 x 1.2% = 1.20 (3rd: no fixed fee);
    # 400 x 1.2% + 0.10 = 4.90; 50 x 1.2% + 0.10 = 0.70; total 6.80
    assert invoice.total_minor == 680


def test_a_total_alone_is_refused_for_a_per_transaction_charge():
    catalog = load_catalog(CATALOG)
    with pytest.raises(UsageError, match="card_volume is priced per transaction"):
        rate_one(catalog, "online", {"card_volume": "100.50"})
    # no amount at all owes nothing
    assert rate_one(catalog, "online", {}).total_minor == 1000


@pytest.mark.parametrize(("charge", "problem"), [
    ("""
     - metric: card_volume
       model: percentage_per_transaction
       rate: "1"
       included: {quantity: "10", source: "assumption: test"}
       source: "assumption: test"
     """, "takes no 'included'"),
    ("""
     - metric: card_volume
       model: percentage_per_transaction
       rate: "1"
       min_fee: "2"
       max_fee: "1"
       source: "assumption: test"
     """, "min_fee 2 is above max_fee 1"),
    ("""
     - metric: card_volume
       model: per_unit
       kind: addon
       unit_price: "1"
       pay_in_advance: true
       source: "assumption: test"
     """, "pay_in_advance needs a usage charge"),
])
def test_catalog_rules(charge, problem):
    with pytest.raises(CatalogError, match=problem):
        make_catalog(charge, currency="USD", metrics=AMOUNT)


def test_quote_cli_reads_a_transactions_file(capsys):
    status, out, err = run(capsys, "quote", CATALOG, "--transactions", str(FIXTURES / "transactions.csv"),
                           "--usage", "sms=3", "--json")
    assert status == 0, err
    data = json.loads(out)
    # 10.00 fee + 3.51 card payments + SMS 2 x 0.50 + 1 x 0.25 = 1.25 -> 14.76
    assert data["quotes"][0]["total"] == "14.76"
    assert data["usage"]["card_volume"] == ["100.00", "0.50"]


@pytest.mark.parametrize(("text", "message"), [
    ("metric,value\ncard_volume,1\n", "row 1 must be the header 'metric,amount'"),
    ("metric,amount\ncard_volume\n", "row 2: expected metric,amount"),
    ("metric,amount\n", "no transactions"),
    ("metric,amount\ncard_volume,-1\n", "negative"),
])
def test_quote_cli_bad_transactions_are_one_line(capsys, tmp_path, text, message):
    path = tmp_path / "tx.csv"
    path.write_text(text, encoding="utf-8")
    status, out, err = run(capsys, "quote", CATALOG, "--transactions", str(path))
    assert status == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# --- paid in advance, on a subscription --------------------------------------------


def test_each_sms_is_invoiced_when_sent_and_the_renewal_bills_the_rest(capsys):
    status, out, err = run(capsys, "bill", CATALOG, "--subscription", TIMELINE, "--period", "2026-03-05", "--json")
    assert status == 0, err
    event = json.loads(out)
    # 2 more SMS after 1: the period's charge 2 x 0.50 + 1 x 0.25 = 1.25 less 0.50 before it = 0.75
    assert event["kind"] == "event" and event["issued_at"] == "2026-03-05T10:00:00Z"
    assert [(l["item"], l["amount"]) for l in event["lines"]] == [("SMS", "0.75")]

    catalog = load_catalog(CATALOG)
    timeline = parse_timeline(__import__("yaml").safe_load(Path(TIMELINE).read_text()), TIMELINE)
    issued = invoices_between(catalog, timeline, end="2026-04-01T00:00:00Z")
    kinds = [(i.kind, i.issued_at.strftime("%m-%d"), i.invoice.total_minor) for i in issued]
    # opening: March's fee 10.00; SMS 1 -> 0.50; 2 -> 0.75; 1 -> 1.50 - 1.25 = 0.25;
    # renewal on April 1st: card payments 3.51 + April's fee 10.00, no SMS line (invoiced already)
    assert kinds == [("opening", "03-01", 1000), ("event", "03-04", 50), ("event", "03-05", 75),
                     ("event", "03-10", 25), ("renewal", "04-01", 1351)]
    renewal = issued[-1].invoice
    assert [line.item for line in renewal.lines] == ["Card payments", "Online fee"]
    # the events' fees add up to the period's charge of 4 SMS: 2 x 0.50 + 2 x 0.25 = 1.50
    assert sum(i.invoice.total_minor for i in issued if i.kind == "event") == 150


def test_per_event_rounding_is_lagos():
    catalog = make_catalog("""
        - metric: q
          model: per_unit
          unit_price: "0.333"
          pay_in_advance: true
          source: "assumption: test"
    """, currency="USD")
    timeline = parse_timeline({
        "customer_id": "c", "catalog": "t",
        "events": [{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "p"}],
        "usage_events": [{"at": f"2026-03-0{d}T00:00:00Z", "metric": "q", "value": "1"} for d in (2, 3, 4)],
    })
    issued = invoices_between(catalog, timeline, end="2026-03-31T00:00:00Z")
    # each event 0.333 rounded on its own to 0.33: three events 0.99, where the period's total
    # rounded once would be 0.999 -> 1.00 (Lago rounds each pay-in-advance fee)
    assert [i.invoice.total_minor for i in issued if i.kind == "event"] == [33, 33, 33]


def _timeline(usage_events, usage=None, events=None):
    data = {"customer_id": "shop1", "catalog": "payments",
            "events": events or [{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "online"}],
            "usage_events": usage_events}
    if usage:
        data["usage"] = usage
    return parse_timeline(data, "shop.yaml")


def test_a_total_for_a_charge_paid_in_advance_is_refused():
    catalog = load_catalog(CATALOG)
    with pytest.raises(UsageError, match="paid in advance per event"):
        invoices_between(catalog, _timeline([], usage={"2026-03": {"sms": 4}}), end="2026-04-01T00:00:00Z")


def test_the_same_metric_as_events_and_as_a_total_is_refused():
    catalog = load_catalog(CATALOG)
    timeline = _timeline([{"at": "2026-03-03T00:00:00Z", "metric": "card_volume", "value": "5"}],
                         usage={"2026-03": {"card_volume": "5"}})
    with pytest.raises(SubscriptionError, match="given both as usage_events and as a total"):
        invoices_between(catalog, timeline, end="2026-04-01T00:00:00Z")


def test_usage_events_out_of_order_or_after_the_end_are_refused():
    with pytest.raises(SubscriptionError, match=r"usage_events\[1\] is earlier"):
        _timeline([{"at": "2026-03-03T00:00:00Z", "metric": "sms", "value": "1"},
                   {"at": "2026-03-02T00:00:00Z", "metric": "sms", "value": "1"}])
    ended = _timeline([{"at": "2026-03-20T00:00:00Z", "metric": "sms", "value": "1"}],
                      events=[{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "online"},
                              {"at": "2026-03-10T00:00:00Z", "type": "cancel", "effective": "now"}])
    with pytest.raises(SubscriptionError, match="after the subscription ended"):
        invoices_between(load_catalog(CATALOG), ended, end="2026-04-01T00:00:00Z")


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MODELS = {
    "graduated": 'model: graduated\n  tiers:\n    - {up_to: "3", unit_price: "0.5", flat_fee: "1"}\n'
                 '    - {up_to: "10", unit_price: "0.25"}\n    - {unit_price: "0.1"}',
    "volume": 'model: volume\n  tiers:\n    - {up_to: "3", unit_price: "0.5"}\n    - {unit_price: "0.2", flat_fee: "2"}',
    "package": 'model: package\n  package_size: "4"\n  package_price: "3"',
    "per_unit": 'model: per_unit\n  unit_price: "0.07"\n  included: {quantity: "2", source: "assumption: test"}',
}


@SETTINGS
@given(model=st.sampled_from(sorted(MODELS)), values=st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_event_fees_add_up_to_the_periods_charge(model, values):
    """Property: the exact fees of a period's events telescope to the period's charge on their sum."""
    catalog = make_catalog(f"- metric: q\n  {MODELS[model]}\n  pay_in_advance: true\n  source: 'assumption: test'\n",
                           currency="USD")
    timeline = parse_timeline({
        "customer_id": "c", "catalog": "t",
        "events": [{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "p"}],
        "usage_events": [{"at": f"2026-03-{d + 2:02d}T00:00:00Z", "metric": "q", "value": str(v)}
                         for d, v in enumerate(values)],
    })
    issued = invoices_between(catalog, timeline, end="2026-03-31T00:00:00Z")
    fees = [line.exact_amount for i in issued if i.kind == "event" for line in i.invoice.lines]
    quoted = next(l for l in rate_one(catalog, "p", {"q": sum(values)}).lines if l.metric == "q").exact_amount
    assert sum(fees) == quoted


LAGO_GRADUATED_PERCENTAGE = """\
- metric: volume
  model: graduated_percentage
  pay_in_advance: true
  source: "https://getlago.com/docs/guide/plans/charges/charge-models/graduated-percentage"
  tiers:
    - {up_to: 1000, rate: "1", flat_fee: "200"}
    - {up_to: 10000, rate: "2", flat_fee: "300"}
    - {rate: "3", flat_fee: "400"}
"""


def test_lagos_in_advance_graduated_percentage_example():
    catalog = make_catalog(LAGO_GRADUATED_PERCENTAGE, currency="USD",
                           metrics="  volume: {name: V, kind: amount, decimals: 2}\n")
    timeline = parse_timeline({
        "customer_id": "c", "catalog": "t",
        "events": [{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "p"}],
        "usage_events": [{"at": f"2026-03-0{d}T00:00:00Z", "metric": "volume", "value": v}
                         for d, v in ((2, "500"), (3, "550"), (4, "4000"))],
    })
    issued = invoices_between(catalog, timeline, end="2026-03-31T00:00:00Z")
    # Lago: $500 -> 500 x 1% + $200 = $205.00 (nothing billed before the first event, though an
    # amount of 0 lies in tier 1); $550 -> 500 x 1% + 50 x 2% + $300 = $306.00; $4,000 -> 4,000 x 2% = $80.00
    assert [i.invoice.total_minor for i in issued if i.kind == "event"] == [20500, 30600, 8000]
