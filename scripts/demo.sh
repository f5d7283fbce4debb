#!/bin/bash
# What `make demo` runs: install what is missing, build msgpool.ko against
# Debian 12's kernel and the demo programs (static), boot that kernel in qemu
# with the module loaded and run msgpool-demo there: a producer and a
# consumer process pass messages through the pool by token.
#
# Usage: scripts/demo.sh [msgpool-demo options: -n MESSAGES -s MAX_BYTES]
# Env:   JOBS (default 2)
#
# On a Linux machine with msgpool.ko loaded the same program runs as is:
#   make -C userlib examples && userlib/examples/msgpool-demo
set -euo pipefail

scripts=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$scripts")
jobs=${JOBS:-2}

"$scripts/deps.sh"
# shellcheck source=scripts/env.sh
. "$scripts/env.sh"

make -C "$KDIR" M="$root" -j"$jobs" modules
make -C "$root/userlib" -j"$jobs" examples

examples=$root/userlib/examples
cmd=msgpool-demo
for arg in "$@"; do
	cmd+=" $(printf '%q' "$arg")"
done
"$scripts/vm-run.sh" --module "$root/kmod/msgpool.ko" \
	--file "$examples/msgpool-demo" \
	--file "$examples/msgpool-producer" \
	--file "$examples/msgpool-consumer" \
	-- "$cmd"
