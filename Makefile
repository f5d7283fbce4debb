# SPDX-License-Identifier: GPL-2.0
#
# msgpool: make [modules|clean|sparse|checkpatch|check|demo|bench]
#   KDIR=...  kernel build tree to build against (default: the running
#             kernel's, else the Debian headers scripts/deps.sh installs)

SHELL := /bin/bash

KDIR ?= /lib/modules/$(shell uname -r)/build
ifeq ($(wildcard $(KDIR)/Makefile),)
override KDIR := $(shell . $(CURDIR)/scripts/env.sh && echo $$KDIR)
endif

LINUX_SRC ?= $(shell . $(CURDIR)/scripts/env.sh && echo $$LINUX_SRC)
CHECKPATCH := perl $(LINUX_SRC)/scripts/checkpatch.pl --no-tree
CHECKPATCH_FILES := $(filter-out %.mod.c,$(wildcard kmod/*.[ch] uapi/linux/*.h kunit/*.c))

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build

# Sparse on every module source; any sparse or compiler warning fails.
sparse:
	@mkdir -p build
	set -o pipefail; $(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules 2>&1 | \
		tee build/sparse.log
	@! grep -E '(warning|error):' build/sparse.log

checkpatch:
	$(CHECKPATCH) -f $(CHECKPATCH_FILES)

check:
	scripts/check.sh

demo:
	scripts/demo.sh

# BENCH_FLAGS=--quick for short runs, --kvm for KVM where there is one.
bench:
	bench/run.sh $(BENCH_FLAGS)

.PHONY: all modules clean sparse checkpatch check demo bench
