"""End to end: `pricing app` (Voila) in headless Chromium; changing a usage box changes the cheapest plan
exactly as the engine predicts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from pricing.catalog import load_catalog
from pricing.cli.app import voila_command
from pricing.comparison import compare

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
START_TIMEOUT = 40  # seconds for Voila to answer
RENDER_TIMEOUT_MS = 45_000  # first render includes starting a kernel and running the notebook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def voila_server(tmp_path):
    port = free_port()
    log = open(tmp_path / "voila.log", "wb")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(voila_command(port), stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"voila exited early: {(tmp_path / 'voila.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not answer on {url} in {START_TIMEOUT} s")
                time.sleep(0.3)
        yield url
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def expected_cheapest(usage: dict) -> str:
    best = compare(load_catalog("quasr"), usage).cheapest
    assert best is not None
    return best.plan


@pytest.mark.browser
def test_changing_usage_changes_the_cheapest_plan(voila_server):
    playwright = pytest.importorskip("playwright.sync_api")
    quasr = load_catalog("quasr")
    start = {m: int(v) for m, v in quasr.sample_usage.items()}
    start.update({m: 0 for m in quasr.charged_metrics() if m not in start})
    changed = dict(start, maa=50)
    before, after = expected_cheapest(start), expected_cheapest(changed)
    assert before != after, "pick a usage change that moves the cheapest plan"

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(RENDER_TIMEOUT_MS)
            page.goto(voila_server, wait_until="domcontentloaded")
            label = page.locator(".pw-cheapest")
            label.wait_for(state="visible")
            page.wait_for_function(
                "p => document.querySelector('.pw-cheapest')?.dataset.plan === p", arg=before)

            box = page.locator(".pw-usage-maa input")
            box.fill("50")
            box.press("Enter")
            page.wait_for_function(
                "p => document.querySelector('.pw-cheapest')?.dataset.plan === p", arg=after,
                timeout=20_000)
            assert label.get_attribute("data-plan") == after
            row = page.locator(f'tr.pw-plan-row[data-plan="{after}"]')
            assert row.count() == 1
        finally:
            browser.close()


def test_app_command_binds_localhost_and_serves_the_notebook(capsys):
    from pricing.cli import main

    assert main(["app", "--port", "9123", "--no-browser", "--print-command"]) == 0
    line = capsys.readouterr().out.strip()
    assert "voila" in line and "plan_comparison.ipynb" in line
    assert "--Voila.ip=127.0.0.1" in line and "--port=9123" in line and "--no-browser" in line
    assert main(["app", "--port", "0", "--print-command"]) == 2
    assert "--MappingKernelManager.cull_idle_timeout=600" in line  # idle kernels are shut down
    assert "--CappedKernelManager.max_kernels=8" in line  # and at most 8 run


def test_stopping_the_app_stops_voila_too(tmp_path):
    """Issue 12: killing `pricing app` left its Voila child serving."""
    import sys

    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    app = subprocess.Popen([sys.executable, "-m", "pricing.cli", "app", "--port", str(port), "--no-browser"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or app.poll() is not None:
                app.kill()
                pytest.fail("the app did not start")
            time.sleep(0.3)
    app.send_signal(signal.SIGTERM)
    app.wait(timeout=30)
    time.sleep(0.5)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # nothing serves the port any more


def test_visits_past_the_kernel_cap_get_busy_instead_of_a_kernel(tmp_path):
    """Issue 12: every visit started a ~210 MB kernel with no cap. With --max-kernels 1 the first visit
    gets the app (its kernel stays up for the widgets), the second gets HTTP 503 and starts nothing."""
    import sys
    import urllib.error
    import urllib.request

    import psutil

    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    app = subprocess.Popen([sys.executable, "-m", "pricing.cli", "app", "--port", str(port), "--no-browser",
                            "--max-kernels", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or app.poll() is not None:
                    pytest.fail("the app did not start")
                time.sleep(0.3)
        with urllib.request.urlopen(url, timeout=RENDER_TIMEOUT_MS / 1000) as first:
            assert first.status == 200 and "widget-view+json" in first.read().decode()  # the notebook ran
        kernels = [p for p in psutil.Process(app.pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
        assert len(kernels) == 1
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=RENDER_TIMEOUT_MS / 1000)
        assert refused.value.code == 503 and "at most 1 sessions" in refused.value.reason
        again = [p for p in psutil.Process(app.pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
        assert [p.pid for p in again] == [p.pid for p in kernels]  # no second kernel was started
    finally:
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=30)
