#!/usr/bin/env bash
# Install the Debian packages the test suite starts for real (PostgreSQL, Dovecot, LibreOffice,
# Chromium), when missing.
# Safe to run again: it installs only what is not there.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The letters are proven Word-compatible by converting them to PDF (tests/test_casework.py).
command -v libreoffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
# The compilation and the letters are read back as text from the PDF (tests/test_compilation.py).
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# The dashboard's browser tests drive Debian's Chromium with Playwright (tests/web/).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The systemd units in deploy/ are checked with systemd-analyze verify (tests/test_deploy.py).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing Debian packages for the tests: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "These packages are missing and I am not root and have no sudo: ${need[*]}" >&2
    echo "Install them with: apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || echo "apt-get update failed; trying the install with the current lists" >&2
# Package scripts may try to start services; a container has no init to start them with.
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
