"""Printing a self-contained HTML page to PDF with the local Chromium.

Every document the workbench hands to someone outside (quotes, invoices) is an
HTML page first; the PDF is that page printed by Debian's chromium
(``--headless --print-to-pdf``), found at ``/usr/bin/chromium`` or named by
``$PRICING_CHROMIUM``. No browser is ever downloaded: without one there is no PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PDF_TIMEOUT_SECONDS = 60


def find_chromium() -> str | None:
    """The browser to print with: ``$PRICING_CHROMIUM`` if set (None if it does not exist), else Debian's."""
    override = os.environ.get("PRICING_CHROMIUM")
    if override:
        return override if os.path.exists(override) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def print_pdf(html_path: Path, pdf_path: Path, chromium: str | None = None) -> Path | None:
    """Print ``html_path`` to ``pdf_path`` with a local headless Chromium; None when there is none or it fails."""
    browser = chromium or find_chromium()
    if browser is None:
        return None
    # NOTE: a throwaway profile per print, so two prints at once never share a locked profile.
    with tempfile.TemporaryDirectory(prefix="pricing-pdf-") as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer",
                   f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            subprocess.run(command, capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if pdf_path.exists() and pdf_path.stat().st_size > 0 and pdf_path.read_bytes()[:5] == b"%PDF-":
        return pdf_path
    return None


__all__ = ["CHROMIUM_CANDIDATES", "PDF_TIMEOUT_SECONDS", "find_chromium", "print_pdf"]
