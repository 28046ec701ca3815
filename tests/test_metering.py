"""Metering from hand-made event sets whose answers are known (seeds 001 and 003)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest

from pricing.engine.catalog import load_catalog
from pricing.apps.cli import main
from pricing.errors import MeteringError
from pricing.engine.periods import month_bounds
from pricing.metering.meters import meter_events, unmapped_customers_expr

COLUMNS = ["timestamp", "customer_id", "tenant_id", "account_id", "account_kind", "method", "endpoint", "status"]


def events_table(rows: list[tuple]) -> ibis.Table:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601")
    frame["status"] = frame["status"].astype("int16")
    con = duckdb.connect()
    con.register("_frame", frame)
    con.execute("CREATE TABLE events AS SELECT * FROM _frame")
    return ibis.duckdb.from_connection(con).table("events")


def metered(rows: list[tuple], catalogs: dict[str, str] | None = None, month: str | None = "2026-01"):
    return meter_events(events_table(rows), catalogs or {"c1": "quasr"}, month=month)


def tenant(result, tenant_id: str, metric: str, customer: str = "c1") -> int | None:
    t = result.tenants
    hit = t[(t.customer_id == customer) & (t.tenant_id == tenant_id) & (t.metric == metric)]
    return None if hit.empty else int(hit["value"].iloc[0])


def customer(result, metric: str, customer_id: str = "c1") -> int:
    c = result.customers
    return int(c[(c.customer_id == customer_id) & (c.metric == metric)]["value"].iloc[0])


T = "2026-01-10T09:00:00Z"


def test_a_failed_login_does_not_count():
    result = metered([
        (T, "c1", "prod", "a1", "user", "POST", "factors/login", 401),
        (T, "c1", "prod", "a2", "user", "POST", "factors/login", 200),
        (T, "c1", "prod", "a3", "user", "POST", "factors/login", 500),
    ])
    assert tenant(result, "prod", "maa") == 1
    assert tenant(result, "prod", "mac") == 1


@pytest.mark.parametrize(
    ("kind", "method", "endpoint", "counts"),
    [
        ("user", "GET", "oauth2/authorize", False),
        ("client", "GET", "oauth2/authorize", True),
        ("user", "POST", "oauth2/token", False),
        ("client", "POST", "oauth2/token", True),
        ("user", "POST", "factors/login", True),
        ("client", "POST", "factors/login", True),
        ("user", "GET", "controls/consent", True),
        ("user", "POST", "graphql", True),
        ("client", "POST", "graphql", True),
        ("user", "GET", "graphql", False),  # wrong method
        ("user", "GET", "oauth2/userinfo", False),  # not MAA-related
    ],
)
def test_which_calls_qualify_for_quasr(kind, method, endpoint, counts):
    result = metered([(T, "c1", "prod", "a1", kind, method, endpoint, 200)])
    assert tenant(result, "prod", "maa") == int(counts)
    assert tenant(result, "prod", "mac") == int(counts)
    assert tenant(result, "prod", "mat") == int(counts)


def test_an_account_in_two_tenants_counts_once_in_each_and_twice_in_the_customer_sum():
    result = metered([
        (T, "c1", "prod", "a1", "user", "POST", "factors/login", 200),
        (T, "c1", "prod", "a1", "user", "POST", "graphql", 200),
        (T, "c1", "test", "a1", "user", "POST", "factors/login", 200),
        (T, "c1", "test", "a1", "user", "POST", "factors/login", 200),
    ])
    assert tenant(result, "prod", "maa") == 1
    assert tenant(result, "test", "maa") == 1
    assert customer(result, "maa") == 2
    assert customer(result, "mac") == 4
    assert customer(result, "mat") == 2


def test_a_tenant_with_only_failed_calls_is_not_active():
    result = metered([
        (T, "c1", "prod", "a1", "user", "POST", "factors/login", 200),
        (T, "c1", "dev", "a2", "user", "POST", "factors/login", 401),
        (T, "c1", "dev", "a3", "client", "POST", "oauth2/token", 400),
    ])
    assert tenant(result, "dev", "mat") == 0
    assert tenant(result, "dev", "maa") == 0
    assert tenant(result, "prod", "mat") == 1
    assert customer(result, "mat") == 1


def test_the_last_millisecond_of_a_month_belongs_to_it():
    rows = [
        ("2026-01-31T23:59:59.999Z", "c1", "prod", "a1", "user", "POST", "factors/login", 200),
        ("2026-02-01T00:00:00.000Z", "c1", "prod", "a2", "user", "POST", "factors/login", 200),
        ("2026-01-01T00:00:00.000Z", "c1", "prod", "a3", "user", "POST", "factors/login", 200),
        ("2025-12-31T23:59:59.999Z", "c1", "prod", "a4", "user", "POST", "factors/login", 200),
    ]
    january = metered(rows)
    assert tenant(january, "prod", "maa") == 2
    every = metered(rows, month=None)
    assert every.months == ["2025-12", "2026-01", "2026-02"]
    assert every.to_json("2026-02")["customers"][0]["maa"] == 1


def test_mac_counts_calls_and_maa_counts_accounts():
    rows = [(T, "c1", "prod", "a1", "client", "POST", "oauth2/token", 200)] * 5
    rows += [(T, "c1", "prod", "a2", "user", "POST", "factors/login", 200)] * 2
    result = metered(rows)
    assert tenant(result, "prod", "maa") == 2
    assert tenant(result, "prod", "mac") == 7


def test_license_mau_counts_users_who_authenticated():
    result = metered(
        [
            (T, "c2", "prod", "u1", "user", "POST", "auth/login", 200),
            ("2026-01-20T09:00:00Z", "c2", "prod", "u1", "user", "POST", "auth/login", 200),
            (T, "c2", "prod", "u2", "user", "POST", "auth/login", 401),
            (T, "c2", "prod", "u3", "user", "GET", "auth/userinfo", 200),
            (T, "c2", "prod", "m1", "client", "POST", "auth/login", 200),
        ],
        {"c2": "license_jp"},
    )
    assert customer(result, "mau", "c2") == 1


def test_logto_counts_tokens_issued():
    result = metered(
        [(T, "c3", "prod", "u1", "user", "POST", "oidc/token", 200)] * 3
        + [(T, "c3", "prod", "m1", "client", "POST", "oidc/token", 200)] * 2
        + [(T, "c3", "prod", "m1", "client", "POST", "oidc/token", 429)],
        {"c3": "logto"},
    )
    assert customer(result, "tokens", "c3") == 5


def test_customers_of_different_catalogs_get_their_own_metrics():
    result = metered(
        [
            (T, "c1", "prod", "a1", "user", "POST", "factors/login", 200),
            (T, "c2", "prod", "u1", "user", "POST", "auth/login", 200),
        ],
        {"c1": "quasr", "c2": "license_jp"},
    )
    data = result.to_json("2026-01")
    assert data["customers"] == [
        {"customer_id": "c1", "catalog": "quasr", "maa": 1, "mac": 1, "mat": 1},
        {"customer_id": "c2", "catalog": "license_jp", "mau": 1},
    ]
    assert {row["tenant_id"] for row in data["tenants"]} == {"prod"}


def test_the_meter_spec_comes_from_the_catalog_not_the_code():
    quasr = load_catalog("quasr")
    data = quasr.model_dump()
    data["metrics"]["maa"]["meter"]["calls"] = [{"method": "GET", "endpoint": "oauth2/userinfo"}]
    data["metrics"]["maa"]["meter"]["success_only"] = False
    changed = type(quasr).model_validate(data)
    result = meter_events(
        events_table([(T, "c1", "prod", "a1", "user", "GET", "oauth2/userinfo", 500)]),
        {"c1": "quasr"}, catalogs=[changed], month="2026-01",
    )
    assert tenant(result, "prod", "maa") == 1
    assert tenant(result, "prod", "mac") == 0
    assert tenant(result, "prod", "mat") == 1


def test_customers_without_a_catalog_are_found_not_dropped():
    table = events_table([
        (T, "c1", "prod", "a1", "user", "POST", "factors/login", 200),
        (T, "c9", "prod", "a1", "user", "POST", "factors/login", 200),
    ])
    missing = unmapped_customers_expr(table, {"c1": "quasr"}, "2026-01").to_pandas()
    assert missing.to_dict("records") == [{"customer_id": "c9", "events": 1}]


@pytest.mark.parametrize("month", ["2026-1", "2026-13", "26-01", "january"])
def test_a_bad_month_is_one_line_error(month):
    with pytest.raises(MeteringError, match="expected YYYY-MM"):
        month_bounds(month, MeteringError)


def test_december_ends_at_new_year():
    start, end = month_bounds("2025-12")
    assert (start.year, start.month, end.year, end.month) == (2025, 12, 2026, 1)


# --- the hand-made month on every catalog, and the hand-written SQL floor ------------------

FIXTURE = Path(__file__).parent / "fixtures" / "metering"
FLOOR_SQL = Path(__file__).parents[1] / "benchmarks" / "metering_floor.sql"

# tests/fixtures/metering/events.csv, January 2026, worked out row by row:
EXPECTED_TENANTS = {
    # u1 (5 and 6 Jan) and u3 (204); not u2 (401), nor k1 (a client), nor u4 (userinfo): 2
    ("jp1", "jp1-a"): {"mau": 2},
    # u1 at 23:59:59.999 on 31 Jan; u5 (1 Feb) and u6 (31 Dec) are other months: 1
    ("jp1", "jp1-b"): {"mau": 1},
    # a1 twice + k1 (201); not a2's 500 nor its oidc/auth: 3 tokens
    ("lg1", "lg1-a"): {"tokens": 3},
    # only a 302 on oidc/auth: a row of zeros, because the tenant had events
    ("lg1", "lg1-b"): {"tokens": 0},
    # calls: q1 factors/login + q1 graphql + q2 authorize (client) + q2 token (299) = 4;
    # not q3's authorize (users do not count there), nor q4's 403; accounts {q1, q2} = 2
    ("qs1", "qs1-a"): {"maa": 2, "mac": 4, "mat": 1},
    # q1 again (another tenant counts it again); q5's token is a user's, q7's graphql a 300
    ("qs1", "qs1-b"): {"maa": 1, "mac": 1, "mat": 1},
    # one failed login: not active
    ("qs1", "qs1-c"): {"maa": 0, "mac": 0, "mat": 0},
}
# customers: mau 2 + 1 = 3; tokens 3 + 0 = 3; maa 2 + 1 + 0 = 3, mac 4 + 1 + 0 = 5, mat 1 + 1 + 0 = 2
EXPECTED_CUSTOMERS = {"jp1": {"mau": 3}, "lg1": {"tokens": 3}, "qs1": {"maa": 3, "mac": 5, "mat": 2}}


def floor_tenants(con: duckdb.DuckDBPyConnection, month: str) -> dict[tuple[str, str], dict[str, int]]:
    """The month by benchmarks/metering_floor.sql: each tenant's metrics of its own catalog."""
    start, end = month_bounds(month)
    frame = con.execute(FLOOR_SQL.read_text(), {"start": start, "end": end}).df()
    tenants = {}
    for row in frame.to_dict("records"):
        prefix = f"{row['catalog']}__"
        metrics = {k[len(prefix):]: int(v) for k, v in row.items() if k.startswith(prefix)}
        if metrics:  # prepaid_auth meters nothing
            tenants[(row["customer_id"], row["tenant_id"])] = metrics
    return tenants


def test_the_fixture_month_through_the_cli_equals_the_hand_written_sql(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    assert main(["customers", "import", "--customers", str(FIXTURE / "customers.csv"), "--store", db]) == 0
    assert main(["ingest", str(FIXTURE / "events.csv"), "--store", db]) == 0
    capsys.readouterr()
    assert main(["meter", "--month", "2026-01", "--store", db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    project = {(r.pop("customer_id"), r.pop("tenant_id")): r for r in data["tenants"] if r.pop("catalog")}
    customers = {r.pop("customer_id"): r for r in data["customers"] if r.pop("catalog")}
    assert project == EXPECTED_TENANTS
    assert customers == EXPECTED_CUSTOMERS

    con = duckdb.connect(db, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    try:
        assert floor_tenants(con, "2026-01") == EXPECTED_TENANTS
    finally:
        con.close()


def test_zoned_timestamps_are_bounded_in_utc_whatever_the_session_zone():
    frame = pd.read_csv(FIXTURE / "events.csv", dtype={"status": "int16"})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601")  # zoned, UTC
    mapping = pd.read_csv(FIXTURE / "customers.csv")
    con = duckdb.connect()
    backend = ibis.duckdb.from_connection(con)
    # NOTE: Ibis sets the session to UTC when it connects, so the zone is changed afterwards. In
    # Tokyo, 2026-01-31T23:59:59.999Z is already February and 2025-12-31T23:59:59.999Z is January:
    # bounds taken in the session's zone would move u1 into February and u6 into January.
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    con.register("_frame", frame)
    con.execute("CREATE TABLE events AS SELECT * FROM _frame")
    assert {r[0]: r[1] for r in con.execute("DESCRIBE events").fetchall()}["timestamp"] == "TIMESTAMP WITH TIME ZONE"
    con.register("_mapping", mapping)
    con.execute("CREATE TABLE customers AS SELECT customer_id, catalog FROM _mapping")
    catalogs = dict(zip(mapping["customer_id"], mapping["catalog"]))

    def tenants(month: str) -> dict[tuple[str, str], dict[str, int]]:
        rows = meter_events(backend.table("events"), catalogs, month=month).to_json(month)["tenants"]
        return {(r.pop("customer_id"), r.pop("tenant_id")): r for r in rows if r.pop("catalog")}

    assert tenants("2026-01") == EXPECTED_TENANTS
    assert tenants("2025-12") == {("jp1", "jp1-b"): {"mau": 1}}  # u6 at 23:59:59.999 on 31 December
    assert tenants("2026-02") == {("jp1", "jp1-b"): {"mau": 1}}  # u5 at midnight on 1 February
