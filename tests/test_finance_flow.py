"""Finance closes March on its own customers, through the CLI only, on a hand-made book (issue 11).

tests/fixtures/finance/: acme (license_jp, Starter, 10% tax), beta (license_jp, Starter from
February, Business from 16 March, from a flat CSV of events), gamma (prepaid_auth, Mini ledger).
Events (written here): 1,003 users of acme and 5 of beta log in during March.

The invoices of March (issued in (1 March, 1 April]), by hand:
- acme, 1 April: April's Starter fee 30,000 + March's MAU overage (1,003 - 1,000) x 30 = 90;
  10% tax of 30,090 = 3,009; total JPY 33,099.
- beta, 1 April: Starter credited for 16-31 March, 30,000 x 16/31 = 15,483.87 -> -15,484; Business
  charged for the same 16 of 31 days, 120,000 x 16/31 = 61,935.48 -> 61,935; April's Business fee
  120,000; 5 MAU are inside Business's 10,000; total JPY 166,451.
- gamma: Mini at USD 10.00 a month debited daily, 10.00 x 1/31 = 0.3226 -> 0.32 a day, 31 days: USD 9.92.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pricing.apps.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "finance"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def query(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write_events(path: Path) -> Path:
    rows = ["timestamp,customer_id,tenant_id,account_id,account_kind,method,endpoint,status"]
    rows += [f"2026-03-{1 + i % 28:02d}T09:{i % 60:02d}:00Z,acme,prod,u{i},user,POST,auth/login,200" for i in range(1003)]
    rows += [f"2026-03-20T10:0{i}:00Z,beta,prod,b{i},user,POST,auth/login,200" for i in range(5)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def import_args(store: Path, customers: Path = FIXTURE / "customers.csv", **files: Path) -> list[str]:
    return ["customers", "import", "--customers", str(customers),
            "--timelines", str(files.get("timelines", FIXTURE / "acme.yaml")),
            "--events", str(files.get("events", FIXTURE / "subscription_events.csv")),
            "--ledgers", str(files.get("ledgers", FIXTURE / "gamma.yaml")), "--store", str(store)]


def metered_store(tmp_path: Path, capsys) -> Path:
    """The fixture's book imported, March's events ingested and metered, nothing billed yet."""
    store = tmp_path / "finance.duckdb"
    assert run(capsys, *import_args(store))[0] == 0
    assert run(capsys, "ingest", str(write_events(tmp_path / "events.csv")), "--store", str(store))[0] == 0
    assert run(capsys, "meter", "--month", "2026-03", "--store", str(store))[0] == 0
    return store


@pytest.fixture()
def billed(tmp_path, capsys) -> Path:
    store = metered_store(tmp_path, capsys)
    status, out, err = run(capsys, "invoices", "run", "--month", "2026-03", "--store", str(store))
    assert status == 0, err
    assert "JPY 199,550" in out and "USD 9.92" in out  # 33,099 + 166,451; 9.92
    assert "issued now: 3 (INV-000001 .. INV-000003)" in out
    return store


def test_march_invoices_are_the_hand_computed_ones(billed, capsys):
    status, out, _ = run(capsys, "invoices", "list", "--month", "2026-03", "--store", str(billed), "--json")
    assert status == 0
    import json

    rows = {r["customer_id"]: (r["number"], r["currency"], r["total"]) for r in json.loads(out)}
    assert rows == {"acme": ("INV-000001", "JPY", "33099"), "beta": ("INV-000002", "JPY", "166451"),
                    "gamma": ("INV-000003", "USD", "9.92")}
    status, out, _ = run(capsys, "invoices", "show", "INV-000002", "--store", str(billed), "--json")
    lines = [(l["item"], l["type"], l["amount"]) for l in json.loads(out)["lines"]]
    assert lines == [("Starter fee", "credit", "-15484"), ("Business fee", "proration", "61935"),
                     ("MAU overage", "usage", "0"), ("Business fee", "recurring", "120000")]


def test_running_the_month_again_changes_nothing_and_a_credit_note_nets(billed, capsys):
    before = query(billed, 'SELECT "number", total_minor FROM invoices ORDER BY 1')
    status, out, _ = run(capsys, "invoices", "run", "--month", "2026-03", "--store", str(billed))
    assert status == 0 and "issued now: 0; issued before, unchanged: 3" in out
    status, out, _ = run(capsys, "invoices", "credit", "INV-000001", "--reason", "wrong tax id", "--date",
                         "2026-04-03", "--store", str(billed))
    assert status == 0 and out.startswith("INV-000004: credit note for INV-000001")
    after = query(billed, 'SELECT "number", total_minor FROM invoices WHERE kind = \'invoice\' ORDER BY 1')
    assert after == before
    numbers = [r[0] for r in query(billed, 'SELECT "number" FROM invoices ORDER BY 1')]
    assert numbers == [f"INV-{n:06d}" for n in range(1, 5)]  # no gaps
    net = query(billed, "SELECT sum(total_minor) FROM invoices WHERE currency = 'JPY' AND month = '2026-03'")
    assert net == [(166451,)]  # acme's 33,099 and its credit note -33,099 net to zero
    status, _, err = run(capsys, "invoices", "credit", "INV-000001", "--reason", "again", "--store", str(billed))
    assert status == 2 and err.strip() == "error: INV-000001 is already credited by INV-000004"


def test_importing_the_same_files_again_changes_nothing(billed, capsys):
    status, out, _ = run(capsys, *import_args(billed))
    assert status == 0 and "0 customer(s) added, 0 updated, 3 unchanged" in out


def test_a_changed_customer_is_updated_and_shown(billed, capsys, tmp_path):
    changed = tmp_path / "customers.csv"
    changed.write_text((FIXTURE / "customers.csv").read_text().replace("ap@beta.example", "invoices@beta.example"))
    status, out, _ = run(capsys, *import_args(billed, changed))
    assert status == 0 and "0 customer(s) added, 1 updated, 2 unchanged" in out
    status, out, _ = run(capsys, "customers", "show", "beta", "--store", str(billed), "--json")
    import json

    shown = json.loads(out)
    assert shown["billing_email"] == "invoices@beta.example"
    assert [e["type"] for e in shown["events"]] == ["start", "upgrade"]


def test_a_plan_change_appended_today_without_editing_the_file(billed, capsys):
    status, out, err = run(capsys, "customers", "event", "acme", "--type", "upgrade", "--plan", "business",
                           "--at", "2026-04-10T00:00:00Z", "--store", str(billed))
    assert status == 0, err
    status, out, _ = run(capsys, "customers", "show", "acme", "--store", str(billed), "--json")
    import json

    assert [e["type"] for e in json.loads(out)["events"]] == ["start", "upgrade"]
    status, _, err = run(capsys, "customers", "event", "acme", "--type", "upgrade", "--plan", "platinum",
                         "--at", "2026-04-11T00:00:00Z", "--store", str(billed))
    assert status == 2 and "unknown plan 'platinum'" in err and err.count("\n") == 1


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium for the PDF")
def test_invoice_documents_for_the_month(billed, capsys, tmp_path):
    from pypdf import PdfReader

    status, out, err = run(capsys, "invoices", "export", "--month", "2026-03", "--seller",
                           str(FIXTURE.parent.parent.parent / "examples" / "seller.yaml"), "--out", str(tmp_path / "r"),
                           "--store", str(billed))
    assert status == 0, err
    folder = tmp_path / "r" / "2026-03" / "invoices"
    assert sorted(p.name for p in folder.iterdir()) == [
        "INV-000001.html", "INV-000001.pdf", "INV-000002.html", "INV-000002.pdf", "INV-000003.html", "INV-000003.pdf"]
    text = PdfReader(str(folder / "INV-000001.pdf")).pages[0].extract_text()
    # the seller file's locale is nl_NL: JPY amounts with '.' thousands separators
    for expected in ("Acme KK", "T1234567890123", "INV-000001", "JP¥ 33.099", "JP¥ 3.009"):
        assert expected in text, expected
    html = (folder / "INV-000002.html").read_text()
    assert "seed:" not in html and "assumption" not in html.lower()


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("missing_column.csv", "customer_id,name\nacme,Acme\n", "missing column 'catalog'"),
    ("unknown_catalog.csv", "customer_id,name,catalog\nacme,Acme,zuora\n", "row 2: catalog: unknown catalog 'zuora'"),
    ("duplicate.csv", "customer_id,name,catalog\nacme,Acme,license_jp\nacme,Acme 2,license_jp\n",
     "row 3: customer_id 'acme' appears twice"),
    ("bad_tax.csv", "customer_id,name,catalog,tax_percent\nacme,Acme,license_jp,nineteen\n",
     "row 2: tax_percent: 'nineteen' is not a number"),
    ("bad_details.csv", "customer_id,name,catalog,billing_details\nacme,Acme,license_jp,maybe\n",
     "row 2: billing_details: 'maybe' is not yes/no"),
])
def test_bad_customer_files_are_one_line_and_write_nothing(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    store = tmp_path / "w.duckdb"
    status, out, err = run(capsys, "customers", "import", "--customers", str(path), "--store", str(store))
    assert status == 2 and not out
    assert err.count("\n") == 1 and str(path) in err and expected in err, err
    assert not store.exists()


@pytest.mark.parametrize(("events", "expected"), [
    ("customer_id,at,type,plan\nbeta,2026-02-01T00:00:00Z,start,platinum\n", "row 2 (start at 2026-02-01T00:00:00Z): unknown plan 'platinum'"),
    ("customer_id,at,type,plan\nbeta,the first of May,start,starter\n",
     "events.csv: row 2 (start at the first of May): at: Input should be a valid datetime"),
    ("customer_id,at,type,plan\nomega,2026-02-01T00:00:00Z,start,starter\n", "customer 'omega' is not in the customers file"),
    ("customer_id,at,plan\nbeta,2026-02-01T00:00:00Z,starter\n", "missing column 'type'"),
])
def test_bad_subscription_files_are_one_line_and_write_nothing(tmp_path, capsys, events, expected):
    path = tmp_path / "events.csv"
    path.write_text(events, encoding="utf-8")
    store = tmp_path / "w.duckdb"
    status, out, err = run(capsys, *import_args(store, events=path))
    assert status == 2 and not out
    assert err.count("\n") == 1 and "events.csv" in err and expected in err, err
    assert not store.exists()


def test_a_customer_without_a_subscription_is_refused_before_billing(tmp_path, capsys):
    customers = tmp_path / "customers.csv"
    customers.write_text((FIXTURE / "customers.csv").read_text() + "delta,Delta SA,license_jp,,,,,,\n")
    store = tmp_path / "w.duckdb"
    assert run(capsys, *import_args(store, customers))[0] == 0
    assert run(capsys, "ingest", str(write_events(tmp_path / "events.csv")), "--store", str(store))[0] == 0
    status, out, err = run(capsys, "invoices", "run", "--month", "2026-03", "--store", str(store))
    assert status == 2 and "1 customer(s) without a subscription or prepaid ledger: delta" in err
    assert query(store, "SELECT count(*) FROM invoices") == [(0,)]


@pytest.mark.slow
def test_the_months_reports_on_the_users_own_book(billed, capsys, tmp_path):
    import openpyxl

    out = tmp_path / "reports"
    status, _, err = run(capsys, "report", "monthly", "--month", "2026-03", "--store", str(billed), "--out", str(out))
    assert status == 0, err
    book = openpyxl.load_workbook(out / "2026-03" / "invoices.xlsx")
    sheet = book["Invoices"]
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("Customer")].value: r for r in sheet.iter_rows(min_row=2) if r[0].value
            and str(r[0].value).startswith("INV-")}
    assert {c: rows[c][header.index("Gross")].value for c in rows} == {"acme": 33099, "beta": 166451, "gamma": 9.92}
    lines = book["Lines"]
    line_header = [c.value for c in lines[1]]
    starts = {(r[line_header.index("Invoice")].value, r[line_header.index("Item")].value,
               r[line_header.index("Service start")].value.date().isoformat())
              for r in lines.iter_rows(min_row=2) if r[0].value == "INV-000001"}
    # the fee is April's (in advance), the overage March's (in arrears)
    assert ("INV-000001", "Starter fee", "2026-04-01") in starts and ("INV-000001", "MAU overage", "2026-03-01") in starts
    status, _, err = run(capsys, "report", "tenants", "--month", "2026-03", "--store", str(billed), "--out", str(out))
    assert status == 0, err
    pages = sorted(p.relative_to(out / "2026-03").as_posix() for p in (out / "2026-03" / "tenants").rglob("*.html"))
    assert len(pages) == 2, pages  # acme's and beta's tenant with events
    text = next(p for p in (out / "2026-03" / "tenants").rglob("*.html") if "acme" in p.as_posix()).read_text()
    assert "1,003" in text and "Service from" in text


def test_a_catalog_named_by_its_path_bills(tmp_path, capsys):
    """The customers file may name a catalog file by path (docs/customers.md); billing reads it."""
    import pricing

    catalog = tmp_path / "catalogs" / "our_licenses.yaml"
    catalog.parent.mkdir()
    bundled = Path(pricing.__file__).parent / "catalogs" / "license_jp.yaml"
    catalog.write_text(bundled.read_text(encoding="utf-8"), encoding="utf-8")
    customers = tmp_path / "customers.csv"
    rows = (FIXTURE / "customers.csv").read_text(encoding="utf-8").splitlines()
    customers.write_text("\n".join([rows[0], rows[1].replace(",license_jp,", f",{catalog},")]) + "\n", encoding="utf-8")
    store = tmp_path / "s.duckdb"
    status, _, err = run(capsys, "customers", "import", "--customers", str(customers),
                         "--timelines", str(FIXTURE / "acme.yaml"), "--store", str(store))
    assert status == 0, err
    events = write_events(tmp_path / "events.csv")
    events.write_text("".join(line for line in events.read_text(encoding="utf-8").splitlines(keepends=True)
                              if ",beta," not in line), encoding="utf-8")  # acme alone is in this book
    assert run(capsys, "ingest", str(events), "--store", str(store))[0] == 0
    assert run(capsys, "meter", "--month", "2026-03", "--store", str(store))[0] == 0
    status, out, err = run(capsys, "invoices", "run", "--month", "2026-03", "--store", str(store))
    # acme as in the module docstring: 30,000 + 90 overage + 10% tax 3,009 = JPY 33,099
    assert status == 0, err
    assert "JPY 33,099" in out
