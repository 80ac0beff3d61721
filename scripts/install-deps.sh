#!/usr/bin/env bash
# Installs the Debian packages kiln's tests and examples use (a real registry, independent image
# readers, a static busybox for base images). Idempotent; needs root only when something is missing.
set -euo pipefail
PKGS=(docker-registry skopeo umoci busybox-static apache2-utils openssl tmux)
need=()
for pkg in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages ${need[*]}; run as root or install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting services: the tests start their own registries on loopback.
made_prc=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_prc=1
fi
rc=0
apt-get update -qq || rc=$?
if [ $rc = 0 ]; then apt-get install -y -qq --no-install-recommends "${need[@]}" || rc=$?; fi
if [ $made_prc = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
exit $rc
