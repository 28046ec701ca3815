#!/usr/bin/env bash
# Set up the workbench in a virtualenv, .venv, from a checkout.
#
#   bash scripts/setup.sh          the main job only: engine, metering, reports, the app, JupyterLab
#   bash scripts/setup.sh --dev    everything the tests need: the extras dev, spark and bench, plus
#                                  Debian's chromium (browser tests) and a JVM (Spark tests) when we
#                                  are root on Debian and they are missing
#
# Both install with constraints.txt, which pins every direct dependency to the lower bound pyproject.toml
# publishes: the suite always runs on the versions the bounds promise. Running --dev over a base
# install adds the rest; running either twice changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
case "${1:-}" in
    "") ;;
    --dev | --all) extras="[dev,spark,bench]" ;;
    *) echo "usage: bash scripts/setup.sh [--dev]" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    # Some distributions ship Python without the venv module; virtualenv from PyPI then does the job.
    "$PYTHON" -m venv .venv 2>/dev/null || {
        rm -rf .venv
        "$PYTHON" -m pip install --quiet --user virtualenv
        "$PYTHON" -m virtualenv --quiet .venv
    }
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extras}"

[ -n "$extras" ] || exit 0

# Browser tests drive Debian's chromium (Playwright's own browser download is
# not possible here); Spark tests need Java 17+. Install both when we can.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing ${missing[*]} with apt-get" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
elif [ ! -x /usr/bin/chromium ]; then
    echo "setup: /usr/bin/chromium not found; browser tests will be skipped (install Debian's chromium)" >&2
fi
