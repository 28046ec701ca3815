"""``pricing report``: notebooks executed on the small store, checks with status 2, safe names, resume."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from _report_fixtures import HOSTILE_NAME, HOSTILE_TENANT, MONTH, ReportStore, report_store  # noqa: F401

from pricing.reporting import report_tables
from pricing.apps.cli import main
from pricing.reporting import report_runs
from pricing.engine.formatting import format_minor
from pricing.metering.store import Store


def _text(page: Path) -> str:
    """The visible text of a page (scripts dropped, tags stripped, entities decoded)."""
    body = re.sub(r"<script.*?</script>", " ", page.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.parametrize("argv, needle", [
    (["report", "monthly", "--month", "2026-13"], "expected YYYY-MM"),
    (["report", "monthly", "--month", "2024-01"], "no events"),
    (["report", "monthly", "--month", MONTH, "--param", "colour=red"], "has no parameter 'colour'"),
    (["report", "tenants", "--month", MONTH, "--customer", "nobody"], "not in the customer book"),
    (["report", "tenants", "--month", MONTH, "--param", "tennant=x"], "has no parameter 'tennant'"),
])
def test_bad_parameters_exit_2_with_one_line(report_store: ReportStore, tmp_path: Path, capsys, argv, needle) -> None:
    status = main([*argv, "--store", str(report_store.path), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err
    assert not any(tmp_path.rglob("*.html"))


def test_monthly_report_numbers_match_the_register(report_store: ReportStore, tmp_path: Path, capsys) -> None:
    out = tmp_path / "reports"
    assert main(["report", "monthly", "--month", MONTH, "--store", str(report_store.path), "--out", str(out)]) == 0
    page = out / MONTH / "monthly_finance.html"
    text = _text(page)
    with Store(report_store.path, read_only=True) as store:
        totals = report_tables.register_totals(report_tables.register(store, MONTH))
        invoices = store.invoices(MONTH)
    for _, row in totals.iterrows():
        assert f"{row['currency']} {row['invoices']} " in text
        assert f"{row['gross']:,}" in text
    for invoice_id in invoices["invoice_id"]:
        assert invoice_id in text
    assert "version 2026-11-a" in text and "Made:" in text and "Data: 2026-03-" in text
    assert "import plotly" not in text and "report_tables.register" not in text  # no code cells
    assert HOSTILE_NAME not in page.read_text(encoding="utf-8")  # escaped
    assert HOSTILE_NAME in text
    assert (out / MONTH / "invoices.xlsx").is_file()
    index = (out / MONTH / "index.html").read_text(encoding="utf-8")
    assert 'href="monthly_finance.html"' in index and 'href="invoices.xlsx"' in index
    # unchanged inputs: nothing is rendered again
    capsys.readouterr()
    assert main(["report", "monthly", "--month", MONTH, "--store", str(report_store.path), "--out", str(out)]) == 0
    assert "skipped: " in capsys.readouterr().out
    assert not any(p.name.endswith(".partial") for p in out.rglob("*"))


def test_tenant_reports_resume_after_an_interrupt(report_store: ReportStore, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reports"
    planned = report_runs.plan_tenants(report_store.path, MONTH, out, "c0001")
    assert len(planned) >= 2
    real = report_runs._render_tenant
    calls: list[str] = []

    def interrupted(job, timeout):
        if calls:
            raise KeyboardInterrupt
        calls.append(job.tenant)
        return real(job, timeout)

    monkeypatch.setattr(report_runs, "_render_tenant", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report_runs.build_tenants(report_store.path, MONTH, out, customer="c0001", jobs=1, progress=False)
    monkeypatch.setattr(report_runs, "_render_tenant", real)
    assert len(list(out.rglob("*.html"))) == 1

    results = report_runs.build_tenants(report_store.path, MONTH, out, customer="c0001", jobs=1, progress=False)
    assert sorted(r.status for r in results) == ["rendered"] * (len(planned) - 1) + ["skipped"]
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == len(planned) == len({p.name for p in pages})
    assert not any(p.name.endswith(".partial") for p in out.rglob("*"))
    again = report_runs.build_tenants(report_store.path, MONTH, out, customer="c0001", jobs=1, progress=False)
    assert {r.status for r in again} == {"skipped"}

    # the hostile tenant id: a safe file name inside the month's folder, escaped in the page and the index
    hostile = report_runs.tenant_page(out, MONTH, "c0001", HOSTILE_TENANT)
    assert hostile.is_file() and hostile.resolve().is_relative_to((out / MONTH).resolve())
    assert "/" not in hostile.name and "<" not in hostile.name
    raw = hostile.read_text(encoding="utf-8")
    assert HOSTILE_TENANT not in raw and HOSTILE_NAME not in raw
    text = _text(hostile)
    assert HOSTILE_TENANT in text and HOSTILE_NAME in text
    index = report_runs.write_month_index(out, MONTH, report_store.path)
    links = re.findall(r'href="([^"]+)"', index.read_text(encoding="utf-8"))
    assert len([l for l in links if l.startswith("tenants/")]) == len(planned)
    assert HOSTILE_NAME not in index.read_text(encoding="utf-8")
    side = json.loads((hostile.parent / (hostile.name + ".json")).read_text())
    assert side["tenant"] == HOSTILE_TENANT

    # tenant numbers in the page agree with the rating engine's invoice lines and with metering
    with Store(report_store.path, read_only=True) as store:
        metered = report_tables.tenant_metrics(store, MONTH, "c0001", HOSTILE_TENANT)
        lines = report_tables.customer_invoice_lines(store, MONTH, "c0001")
    for value in metered.values():
        assert f"{value:,}" in text
    for _, line in lines.iterrows():
        assert format_minor(int(line["amount_minor"]), int(line["decimals"])) in text.replace(",", "")


def test_quote_without_the_module_is_one_line(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pricing.reporting.quote_document", None)
    status = main(["report", "quote", "--prospect", "Acme", "--catalog", "quasr", "--usage", "maa=10",
                   "--out", str(tmp_path)])
    assert status == 2 and "quote documents are not available" in capsys.readouterr().err


def test_a_failing_tenant_page_is_retried_then_listed_with_exit_2(report_store: ReportStore, tmp_path: Path,
                                                                  capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from pricing.reporting import kernel_pool, month_tables

    out = tmp_path / "reports"
    planned = report_runs.plan_tenants(report_store.path, MONTH, out, "c0002")
    assert len(planned) >= 2
    doomed = planned[-1].tenant  # the first page meets the kernel that cannot start, the last one fails
    real_write, real_render, real_launch = month_tables.write, report_runs._render_tenant, kernel_pool.WarmKernel._launch
    calls: list[str] = []
    starts: list[int] = []

    def write_without_doomed(tables, folder):  # the doomed tenant's rows go missing: its page fails in the kernel
        frames = dict(tables.frames)
        frames["tenants"] = frames["tenants"][frames["tenants"]["tenant_id"] != doomed]
        return real_write(month_tables.MonthTables(tables.month, frames), folder)

    def counted(job, timeout):
        calls.append(job.tenant)
        return real_render(job, timeout)

    def first_start_collides(self):  # the first kernel cannot start, as in a port collision
        starts.append(1)
        if len(starts) == 1:
            raise OSError("[Errno 98] Address already in use")
        real_launch(self)

    monkeypatch.setattr(month_tables, "write", write_without_doomed)
    monkeypatch.setattr(report_runs, "_render_tenant", counted)
    monkeypatch.setattr(kernel_pool.WarmKernel, "_launch", first_start_collides)
    status = main(["report", "tenants", "--month", MONTH, "--customer", "c0002", "--jobs", "1",
                   "--store", str(report_store.path), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    failures = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 1 and f"(tenant {doomed})" in failures[0] and "has no events in" in failures[0]
    assert calls.count(doomed) == 2  # retried once
    assert calls.count(planned[0].tenant) == 1 and len(starts) == 2  # its retry got a fresh kernel
    assert f"{len(planned) - 1} written, 0 unchanged (skipped), 1 failed" in captured.out
    for job in planned:
        assert job.page.is_file() == (job.tenant != doomed)
    index = (out / MONTH / "index.html").read_text(encoding="utf-8")
    assert len(re.findall(r'href="tenants/', index)) == len(planned) - 1
    assert not any(p.name.endswith(".partial") for p in out.rglob("*"))


def test_pages_link_the_one_plotly_js_of_their_month_folder(report_store: ReportStore, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    results = report_runs.build_tenants(report_store.path, MONTH, out, customer="c0003", progress=False)
    report_runs.build_monthly(report_store.path, MONTH, out)
    folder = out / MONTH
    plotly_js = folder / "assets" / "plotly.min.js"
    assert plotly_js.stat().st_size > 1_000_000 and "plotly" in plotly_js.read_text(encoding="utf-8")[:2000].lower()
    pages = [r.path for r in results] + [folder / "monthly_finance.html"]
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        sources = re.findall(r'<script[^>]*src="([^"]+)"', raw)
        assert len(sources) == 1 and (page.parent / sources[0]).resolve() == plotly_js.resolve()
        assert "Plotly.newPlot" in raw and len(raw) < 300_000  # charts, without a copy of plotly.js
        assert "cdn." not in raw.lower()
    assert sorted(p.name for p in folder.rglob("plotly*.js")) == ["plotly.min.js"]


def test_report_tenants_refuses_an_unbilled_month_before_any_kernel(report_store: ReportStore, tmp_path: Path,
                                                                    capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from pricing.reporting import kernel_pool

    unbilled = tmp_path / "unbilled.duckdb"
    shutil.copy(report_store.path, unbilled)
    with Store(unbilled) as store:
        store.con.execute("DELETE FROM invoice_lines WHERE invoice_id IN (SELECT invoice_id FROM invoices WHERE month = ?)",
                          [MONTH])
        store.con.execute("DELETE FROM invoices WHERE month = ?", [MONTH])

    def no_kernel(self):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(kernel_pool.WarmKernel, "_launch", no_kernel)
    status = main(["report", "tenants", "--month", MONTH, "--store", str(unbilled), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and err.count("\n") == 1 and "bill it first" in err
    assert not (tmp_path / "r").exists()


def test_param_cannot_override_a_checked_parameter(report_store: ReportStore, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from pricing.apps.cli import main

    status = main(["report", "monthly", "--month", MONTH, "--store", str(report_store.path), "--out",
                   str(tmp_path), "--param", "month=2026-02"])
    err = capsys.readouterr().err
    assert status == 2 and err.strip() == "error: --param month: set it with --month, not --param"
    assert not any(tmp_path.rglob("*.html"))


def test_a_tenant_id_with_a_newline_gets_its_page(report_store: ReportStore, tmp_path: Path) -> None:
    """Issue 12: one tenant id holding a newline blocked every tenant page of the month."""
    import shutil

    from pricing.metering.store import Store

    store_path = tmp_path / "copy.duckdb"
    shutil.copy(report_store.path, store_path)
    with Store(store_path) as store:
        store.con.execute("UPDATE events SET tenant_id = ? WHERE tenant_id = 'c0002-prod'", ["line1\nline2"])
        store.meter(MONTH)
    results = report_runs.build_tenants(store_path, MONTH, tmp_path / "out", customer="c0002", jobs=1, progress=False)
    assert results and {r.status for r in results} == {"rendered"}
    page = next(r.path for r in results if "line1" in r.path.name)
    assert re.search(r"Tenant line1\s+line2 of", page.read_text(encoding="utf-8"))


def test_sigterm_on_report_tenants_leaves_no_kernel_and_no_half_written_page(report_store: ReportStore,
                                                                               tmp_path: Path) -> None:
    """Issue 12: killing `pricing report tenants` left its workers running and writing pages.

    The command runs in a subprocess; once its kernels are up and the first page is written, it gets
    SIGTERM (as from `kill` or a scheduler's timeout). It must stop with status 130, shut down every
    kernel it started, and leave only whole pages: no `.partial` file, every page ending in </html>.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    out = tmp_path / "reports"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    planned = len(report_runs.plan_tenants(report_store.path, MONTH, out, None))

    with open(tmp_path / "stderr.txt", "wb") as stderr:
        command = subprocess.Popen(
            [sys.executable, "-m", "pricing.apps.cli", "report", "tenants", "--month", MONTH, "--store",
             str(report_store.path), "--out", str(out), "--jobs", "2"],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        try:
            deadline = time.monotonic() + 180
            while not list((out / MONTH).rglob("*.html")):
                assert command.poll() is None, (tmp_path / "stderr.txt").read_text()
                assert time.monotonic() < deadline, "no tenant page within 180 s"
                time.sleep(0.05)
            running = [p for p in psutil.Process(command.pid).children(recursive=True)
                       if "ipykernel" in " ".join(p.cmdline())]
            assert running, "the pages are rendered by kernels of this run"
            command.send_signal(signal.SIGTERM)
            status = command.wait(timeout=120)
        finally:
            if command.poll() is None:
                command.kill()
    written = sorted((out / MONTH).rglob("*.html"))
    assert status == 130, (tmp_path / "stderr.txt").read_text()
    assert (tmp_path / "stderr.txt").read_text().strip().endswith("error: interrupted")
    assert len(written) < planned  # it was stopped half-way, not after the last page
    _, alive = psutil.wait_procs(running, timeout=15)
    assert alive == []  # not one kernel outlives the command
    assert not [p for p in out.rglob("*") if p.name.endswith(".partial")]
    for page in written:
        assert page.read_text(encoding="utf-8").rstrip().endswith("</html>"), page


def _unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run by a user that file permissions apply to: ``nobody`` through setpriv when we are root."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]  # nobody / nogroup
    probe = subprocess.run([*drop, argv[0], "-c", "import pricing"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot run as nobody here: {probe.stderr.decode(errors='replace').strip()[-200:]}")
    return [*drop, *argv]


@pytest.mark.parametrize("command", [
    ["report", "quote", "--prospect", "Acme", "--catalog", "quasr", "--usage", "maa=10", "--no-pdf"],
    ["sample-data", "--customers", "3", "--months", "1"],
])
def test_a_read_only_output_folder_is_one_line_and_exit_2(command: list[str]) -> None:
    """Issue 12: a read-only output folder ended in a PermissionError traceback. Tests run as root,
    which ignores permissions, so the command runs as nobody (skipped where that is impossible)."""
    import os
    import subprocess
    import sys
    import tempfile

    # NOTE: not under tmp_path: pytest's folder is private to root, and nobody must reach the target
    with tempfile.TemporaryDirectory() as root:
        os.chmod(root, 0o755)
        target = Path(root) / "out"
        target.mkdir()
        target.chmod(0o555)
        argv = _unprivileged([sys.executable, "-m", "pricing.apps.cli", *command, "--out", str(target)])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert str(target) in result.stderr and "Permission denied" in result.stderr
        assert "Traceback" not in result.stderr
        assert list(target.iterdir()) == []  # no partial file either
