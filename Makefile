# SPDX-License-Identifier: GPL-2.0
#
# msgpool: make [all|modules|userspace|install|install-module|
#               install-userspace|uninstall|clean|sparse|checkpatch|check|demo|
#               bench]
#   KDIR=...  kernel build tree to build against (default: the running
#             kernel's, else the Debian headers scripts/deps.sh installs)
#   DESTDIR= PREFIX=/usr/local  where make install puts files; the module
#             goes to /lib/modules/<KDIR's release>/updates, the udev rule
#             to /usr/lib/udev/rules.d (udev reads no other prefix)

SHELL := /bin/bash

KDIR ?= /lib/modules/$(shell uname -r)/build
ifeq ($(wildcard $(KDIR)/Makefile),)
override KDIR := $(shell . $(CURDIR)/scripts/env.sh && echo $$KDIR)
endif

LINUX_SRC ?= $(shell . $(CURDIR)/scripts/env.sh && echo $$LINUX_SRC)
CHECKPATCH := perl $(LINUX_SRC)/scripts/checkpatch.pl --no-tree
CHECKPATCH_FILES := $(filter-out %.mod.c,$(wildcard kmod/*.[ch] kmod/probe/*.c \
	uapi/linux/*.h kunit/*.c))

# Install locations.  LIBDIR stays $(PREFIX)/lib, which ld.so and
# pkg-config search on every distribution; a Debian package passes
# LIBDIR=/usr/lib/<multiarch>.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
UDEVRULESDIR ?= /usr/lib/udev/rules.d
# The release the module's vermagic names (Debian's kernel.release differs).
KVER := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
MODDIR ?= /lib/modules/$(KVER)/updates

TOOLS := msgpool-stat
EXAMPLES := msgpool-demo msgpool-producer msgpool-consumer msgpool-pubsub
# "man msgpool_open" and the like: a page per function userlib/msgpool.h
# declares, each the line ".so man3/msgpool.3".
MAN3_ALIASES := msgpool_open msgpool_created msgpool_dup msgpool_close \
	msgpool_store msgpool_loan msgpool_commit msgpool_discard msgpool_read \
	msgpool_read_mut msgpool_release msgpool_release_len msgpool_free \
	msgpool_header msgpool_store_many msgpool_free_many msgpool_read_many \
	msgpool_release_many msgpool_batch msgpool_available msgpool_capacity \
	msgpool_memory_class msgpool_stats msgpool_subscribe \
	msgpool_unsubscribe msgpool_publish msgpool_take msgpool_mark_read \
	msgpool_publish_loan msgpool_mark_read_take msgpool_ring \
	msgpool_wait msgpool_fd msgpool_missed msgpool_notify_gen \
	msgpool_list_pools msgpool_list_peers msgpool_unlink msgpool_strerror \
	msgpool_op_error
USERLIB_DIRS := PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)

all: modules userspace

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	$(MAKE) -C userlib $(USERLIB_DIRS) all examples tools

install: install-module install-userspace

# DKMS installs the module itself: with it, install only the rest.
install-module: modules
	@test -n "$(KVER)" || { echo "no kernel release in KDIR=$(KDIR)"; exit 1; }
	install -D -m 0644 kmod/msgpool.ko $(DESTDIR)$(MODDIR)/msgpool.ko
	@# Into a staging tree nothing is live yet; on this system it is.
	$(if $(DESTDIR),,depmod -a $(KVER))

install-userspace: userspace
	$(MAKE) -C userlib $(USERLIB_DIRS) DESTDIR=$(DESTDIR) install
	install -m 0644 bindings/cpp/msgpool.hpp $(DESTDIR)$(INCLUDEDIR)/
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(addprefix userlib/examples/,$(EXAMPLES)) \
		$(addprefix userlib/tools/,$(TOOLS)) $(DESTDIR)$(BINDIR)/
	install -D -m 0644 man/msgpool.3 $(DESTDIR)$(MANDIR)/man3/msgpool.3
	install -D -m 0644 man/msgpool.4 $(DESTDIR)$(MANDIR)/man4/msgpool.4
	install -D -m 0644 man/msgpool-stat.8 \
		$(DESTDIR)$(MANDIR)/man8/msgpool-stat.8
	for f in $(MAN3_ALIASES); do \
		echo .so man3/msgpool.3 >$(DESTDIR)$(MANDIR)/man3/$$f.3 && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done
	install -D -m 0644 udev/60-msgpool.rules \
		$(DESTDIR)$(UDEVRULESDIR)/60-msgpool.rules
	$(if $(DESTDIR),,ldconfig)

uninstall:
	rm -f $(DESTDIR)$(MODDIR)/msgpool.ko \
		$(addprefix $(DESTDIR)$(LIBDIR)/,libmsgpool.a libmsgpool.so \
			libmsgpool.so.1 libmsgpool.so.$(shell cat VERSION)) \
		$(DESTDIR)$(LIBDIR)/pkgconfig/msgpool.pc \
		$(DESTDIR)$(INCLUDEDIR)/msgpool.h \
		$(DESTDIR)$(INCLUDEDIR)/msgpool.hpp \
		$(DESTDIR)$(INCLUDEDIR)/linux/msgpool.h \
		$(addprefix $(DESTDIR)$(BINDIR)/,$(EXAMPLES) $(TOOLS)) \
		$(DESTDIR)$(MANDIR)/man3/msgpool.3 \
		$(DESTDIR)$(MANDIR)/man4/msgpool.4 \
		$(DESTDIR)$(MANDIR)/man8/msgpool-stat.8 \
		$(patsubst %,$(DESTDIR)$(MANDIR)/man3/%.3,$(MAN3_ALIASES)) \
		$(DESTDIR)$(UDEVRULESDIR)/60-msgpool.rules
	$(if $(DESTDIR),,depmod -a $(KVER) && ldconfig)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userlib clean
	rm -rf bindings/rust/target
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

.PHONY: all modules userspace install install-module install-userspace \
	uninstall clean sparse checkpatch check demo bench
