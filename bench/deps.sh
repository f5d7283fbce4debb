#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What `make bench` needs beyond scripts/deps.sh: iceoryx (iox-roudi and
# its C binding), gnuplot and perf, from Debian.  Idempotent.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
"$bench/../scripts/deps.sh"

packages=(iceoryx libiceoryx-binding-c-dev gnuplot-nox liburcu-dev linux-perf)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
		grep -qx installed || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "bench: installing ${missing[*]}" >&2
$sudo apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get \
	-o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
	"${missing[@]}" >/dev/null
