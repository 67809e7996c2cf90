# Build rules and the macros that component fragments use.
#
#   $(eval $(call lib,NAME,SOURCES,LDLIBS))
#       static library $(BUILD)/lib/libNAME.a (and a sanitizer twin);
#       LDLIBS are what any program linking it needs as well.
#   $(eval $(call prog,NAME,SOURCES,LIBS,LDLIBS))
#       program $(BUILD)/bin/NAME linked with libraries LIBS (names).
#   $(eval $(call unit_test,NAME,SOURCES,LIBS,LDLIBS))
#       cmocka test built twice, plain and under ASan+UBSan, both
#       registered in the "unit" group.
#   $(eval $(call test_prog,NAME,SOURCES,LIBS,LDLIBS))
#       test helper program $(BUILD)/tests/NAME, not registered (a script
#       or the VM harness runs it).
#   $(eval $(call fuzzer,NAME,SOURCES,LIBS,LDLIBS))
#       libFuzzer target $(BUILD)/fuzz/NAME (clang, ASan+UBSan).
#   $(call add_test,GROUP,COMMAND[,PREREQUISITES])
#       registers a test command (a script) in GROUP.
#
# A test prints TAP ("ok N - what", "not ok N - what", "ok N # SKIP why")
# or nothing; tests/run counts the test points and takes exit status 77 as
# "skipped" for a program that printed none.

BUILD ?= build
VERSION := 0.1.0
CC := gcc
CLANG ?= clang
AR ?= ar

PKGS := libcrypto libssl json-c libnl-genl-3.0 tss2-esys tss2-mu tss2-rc \
	tss2-tctildr cmocka sqlite3 inih libcurl libmicrohttpd libpcsclite libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
pkglibs = $(shell pkg-config --libs $(1) 2>/dev/null)
LDLIBS_crypto := $(call pkglibs,libcrypto)
LDLIBS_ssl := $(call pkglibs,libssl libcrypto)
LDLIBS_jsonc := $(call pkglibs,json-c)
LDLIBS_nl := $(call pkglibs,libnl-genl-3.0)
LDLIBS_tss := $(call pkglibs,tss2-esys tss2-mu tss2-rc tss2-tctildr)
LDLIBS_cmocka := $(call pkglibs,cmocka)
LDLIBS_sqlite := $(call pkglibs,sqlite3)
LDLIBS_pq := $(call pkglibs,libpq)
LDLIBS_inih := $(call pkglibs,inih)
LDLIBS_curl := $(call pkglibs,libcurl)
LDLIBS_mhd := $(call pkglibs,libmicrohttpd)
LDLIBS_pcsc := $(call pkglibs,libpcsclite)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla
CPPFLAGS_ALL := -D_GNU_SOURCE -DMCIM_VERSION='"$(VERSION)"' -I$(TOP) -I$(TOP)/kernel/uapi -I$(TOP)/lib \
	$(PKG_CFLAGS)
CFLAGS_PLAIN := -std=gnu11 -g -O2 -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 $(WARN)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
CFLAGS_SAN := -std=gnu11 -g -O1 $(SAN) $(WARN)
CFLAGS_FUZZ := -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer -Wall -Wextra -Werror

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_PLAIN) $(CFLAGS_EXTRA) -MMD -MP -c -o $@ $<

$(BUILD)/san/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_SAN) $(CFLAGS_EXTRA) -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS_ALL) -DFUZZING $(CFLAGS_FUZZ) $(CFLAGS_EXTRA) -MMD -MP -c -o $@ $<

objs = $(patsubst %.c,$(BUILD)/$(1)obj/%.o,$(2))
libfiles = $(foreach l,$(2),$(BUILD)/$(1)lib/lib$(l).a)
libldlibs = $(foreach l,$(1),$(LIBLDLIBS_$(l)))

ALL_TARGETS :=
ALL_OBJS :=
TEST_GROUPS :=

define lib
LIBLDLIBS_$(1) := $(3)
$(BUILD)/lib/lib$(1).a: $(call objs,,$(2))
	@mkdir -p $$(@D)
	rm -f $$@ && $(AR) rcs $$@ $$^
$(BUILD)/san/lib/lib$(1).a: $(call objs,san/,$(2))
	@mkdir -p $$(@D)
	rm -f $$@ && $(AR) rcs $$@ $$^
$(BUILD)/fuzz/lib/lib$(1).a: $(call objs,fuzz/,$(2))
	@mkdir -p $$(@D)
	rm -f $$@ && $(AR) rcs $$@ $$^
ALL_TARGETS += $(BUILD)/lib/lib$(1).a
ALL_OBJS += $(call objs,,$(2)) $(call objs,san/,$(2)) $(call objs,fuzz/,$(2))
endef

# link(OUT, VARIANT-PREFIX, SOURCES, LIBS, LDLIBS, EXTRA-LDFLAGS)
define link
$(1): $(call objs,$(2),$(3)) $(call libfiles,$(2),$(4))
	@mkdir -p $$(@D)
	$$(LINKER) $(6) -o $$@ $$(filter %.o,$$^) $(call libfiles,$(2),$(4)) $(5) $$(call libldlibs,$(4)) -lm
ALL_OBJS += $(call objs,$(2),$(3))
endef

define prog
$(eval $(call link,$(BUILD)/bin/$(1),,$(2),$(3),$(4),))
$(BUILD)/bin/$(1): LINKER := $(CC) -g
ALL_TARGETS += $(BUILD)/bin/$(1)
endef

define test_prog
$(eval $(call link,$(BUILD)/tests/$(1),,$(2),$(3),$(4),))
$(BUILD)/tests/$(1): LINKER := $(CC) -g
ALL_TARGETS += $(BUILD)/tests/$(1)
endef

define unit_test
$(eval $(call link,$(BUILD)/tests/$(1),,$(2),$(3),$(4) $(LDLIBS_cmocka),))
$(eval $(call link,$(BUILD)/san/tests/$(1),san/,$(2),$(3),$(4) $(LDLIBS_cmocka),))
$(BUILD)/tests/$(1): LINKER := $(CC) -g
$(BUILD)/san/tests/$(1): LINKER := $(CC) -g $(SAN)
ALL_TARGETS += $(BUILD)/tests/$(1) $(BUILD)/san/tests/$(1)
TEST_GROUPS += unit
TESTS_unit += $(BUILD)/tests/$(1) $(BUILD)/san/tests/$(1)
endef

define fuzzer
$(eval $(call link,$(BUILD)/fuzz/$(1),fuzz/,$(2),$(3),$(4),))
$(BUILD)/fuzz/$(1): LINKER := $(CLANG) -g -fsanitize=fuzzer,address,undefined
FUZZ_TARGETS += $(BUILD)/fuzz/$(1)
endef

add_test = $(eval TEST_GROUPS += $(1))$(eval TESTS_$(1) += $(2))$(eval TESTS_DEPS_$(1) += $(3))
