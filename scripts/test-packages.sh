#!/usr/bin/env bash
# npm test's first step (pretest): the Debian packages the tests start for
# real. Run as root it installs what is missing; otherwise it stops with the
# exact apt-get line to run.
#   openssl   the development and test certificates
#   setpriv   (util-linux) the port-permission test, and test servers that die with their test
#   chromium  the browser test (Debian's Chromium through playwright-core; no browser download)
#   pebble    pebble and pebble-challtestsrv: the ACME tests' CA, on loopback
#   sslscan   the TLS policy test scans seraph and reads its XML report
#   haproxy   the PROXY protocol and fleet tests put a real HAProxy (send-proxy-v2) in front of seraph
#   redis-server  the fleet tests' shared store (--store), on loopback, in memory only
#   systemd   systemd-socket-activate (socket activation and the NOTIFY_SOCKET listener),
#             systemd-analyze verify (the units in deploy/), systemd-notify (Type=notify);
#             no running systemd is needed
set -euo pipefail
need=()
have () { command -v "$1" >/dev/null 2>&1; }
have openssl || need+=(openssl)
have setpriv || need+=(util-linux)
have chromium || need+=(chromium)
have pebble || need+=(pebble)
have sslscan || need+=(sslscan)
# Debian installs it in /usr/sbin, which a user's PATH may lack.
have haproxy || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
have redis-server || need+=(redis-server)
have systemd-socket-activate && have systemd-analyze && have systemd-notify || need+=(systemd)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "seraph: installing the Debian packages the tests need: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  exit 0
fi
echo "seraph: the tests need these Debian packages: ${need[*]}. Install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
exit 1
