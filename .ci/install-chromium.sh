#!/bin/sh
# Headless Chromium for test/analytics/dashboard.test.ts (Debian package).
set -eu
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
