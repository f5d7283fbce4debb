#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What `make bench` needs beyond scripts/deps.sh: iceoryx (iox-roudi and
# its C binding), gnuplot and perf, from Debian.  Idempotent.
exec "$(dirname "$0")/../scripts/deps.sh" iceoryx libiceoryx-binding-c-dev \
	gnuplot-nox linux-perf
