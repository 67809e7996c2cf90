# mcim top-level Makefile.
#
# User space is one non-recursive make: each component has a fragment
# (lib/*.mk, daemon/*/*.mk, tools/*/*.mk, tests/*/*.mk) that declares its
# libraries, programs and tests with the macros of mk/rules.mk.  The kernel
# module is built by Kbuild (see Kbuild and kernel/Kbuild).
#
# Targets that need Debian packages (all, check, demo, bench) first run
# scripts/install-deps and then re-enter make, so that pkg-config sees the
# packages it just installed.

.DEFAULT_GOAL := all
TOP := $(abspath .)
export TOP

PUBLIC_TARGETS := all check demo bench fuzz install
$(addprefix deps-then-,$(PUBLIC_TARGETS)):
	@scripts/install-deps
	@$(MAKE) --no-print-directory $(patsubst deps-then-%,_%,$@)

all: deps-then-all
check: deps-then-check
demo: deps-then-demo
bench: deps-then-bench
fuzz: deps-then-fuzz
install: deps-then-install

.PHONY: $(PUBLIC_TARGETS) $(addprefix deps-then-,$(PUBLIC_TARGETS))

include mk/rules.mk
include mk/kernel.mk
include mk/deb.mk
-include $(sort $(wildcard lib/*.mk daemon/*/*.mk daemon/*.mk tools/*/*.mk tests/*/*.mk tests/*/*/*.mk))

_all: userspace module
userspace: $(ALL_TARGETS)
.PHONY: _all userspace

# The bounded fuzzing run needs every fuzzer, wherever it is declared.
TESTS_DEPS_fuzz += $(FUZZ_TARGETS)

# Every group of tests; `make check-GROUP` runs one group, `make check` all of
# them in one runner so the last line counts everything.
TEST_GROUPS := $(sort $(TEST_GROUPS))
_check: _all $(foreach g,$(TEST_GROUPS),$(TESTS_DEPS_$(g)))
	@tests/run $(foreach g,$(TEST_GROUPS),$(TESTS_$(g)))

define check_group
check-$(1): userspace $(TESTS_DEPS_$(1))
	@scripts/install-deps
	@tests/run $$(TESTS_$(1))
.PHONY: check-$(1)
endef
$(foreach g,$(TEST_GROUPS),$(eval $(call check_group,$(g))))

# `make check-one T=path/to/test` runs a single test through the runner.
check-one: userspace module
	@tests/run $(T)
.PHONY: check-one _check

_bench: _all $(BENCH_DEPS)
	@for b in $(BENCHES); do $$b || exit 1; done
.PHONY: _bench

_demo: _all
	@tests/demo/run
.PHONY: _demo

_fuzz: $(FUZZ_TARGETS)
	@for f in $(FUZZ_TARGETS); do \
		tests/fuzz/run-fuzzer $$f $(or $(FUZZ_SECONDS),300) || exit 1; done
.PHONY: _fuzz

# `make install [DESTDIR=...] [PREFIX=/usr/local]`: the daemon, tools, units,
# man pages (daemon/mcimd/mcimd.mk), the udev rule and vusim(4).  The module is
# installed through DKMS (dkms.conf).
# install-files installs the same without building the module and the tests
# (debian/rules uses it).
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
_install: _all install-files
install-files: install-mcimd install-operator install-ifd-vusim install-usimsh install-vusim-modem
	install -D -m 0644 udev/60-vusim.rules $(DESTDIR)$(UDEVRULESDIR)/60-vusim.rules
	install -D -m 0644 docs/man/vusim.4 $(DESTDIR)$(PREFIX)/share/man/man4/vusim.4
.PHONY: _install install-files

clean: module-clean
	rm -rf $(BUILD)
.PHONY: clean

-include $(ALL_OBJS:.o=.d)
