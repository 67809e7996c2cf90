# daemon/mcimd/: the daemon's main program and its pieces (configuration,
# control socket, GSMTAP tracing); see daemon/mcimd/README.md.
$(eval $(call lib,mcimdconf,daemon/mcimd/config.c,$(LDLIBS_inih)))
$(eval $(call unit_test,test-config,tests/unit/test-config.c,mcimdconf mcimutil))
$(eval $(call lib,mcimdctl,daemon/mcimd/control.c daemon/mcimd/loop.c daemon/mcimd/tamper.c,$(LDLIBS_jsonc)))
$(eval $(call unit_test,test-control,tests/unit/test-control.c,mcimdctl))
$(eval $(call unit_test,test-tamper,tests/unit/test-tamper.c,mcimdctl))
$(eval $(call lib,mcimdtrace,daemon/mcimd/gsmtap.c))
# The device's parsers of the operator's answers (pure: fuzzed, unit-tested).
$(eval $(call lib,mcimdop,daemon/mcimd/operator-json.c,$(LDLIBS_jsonc) $(LDLIBS_tss)))
$(eval $(call unit_test,test-operator-json,tests/unit/test-operator-json.c,mcimdop refvalues mcimutil))
$(eval $(call fuzzer,fuzz-operator-json,tests/fuzz/fuzz-operator-json.c,mcimdop refvalues mcimutil,$(LDLIBS_jsonc) $(LDLIBS_tss)))
# Semi-autonomous validation: the device's own checks of its logs (pure).
$(eval $(call lib,mcimdsummary,daemon/mcimd/summary.c,$(LDLIBS_jsonc)))
$(eval $(call unit_test,test-summary,tests/unit/test-summary.c,mcimdsummary refvalues eventlog mcimutil))
$(eval $(call unit_test,test-gsmtap,tests/unit/test-gsmtap.c,mcimdtrace mcimutil))
MCIMD_SRCS := daemon/mcimd/mcimd.c daemon/mcimd/handlers.c daemon/mcimd/log.c \
	daemon/mcimd/notify.c daemon/mcimd/tpm.c daemon/mcimd/slot.c \
	daemon/mcimd/provision.c daemon/mcimd/provision-client.c daemon/mcimd/http.c \
	daemon/mcimd/package.c daemon/mcimd/revoke.c daemon/mcimd/files.c \
	daemon/mcimd/switch.c
MCIMD_LIBS := mcimdctl mcimdconf mcimdtrace mcimdop mcimdsummary package refvalues eventlog store usim usimprofile tre tpm2util aka vusim-nl mcimutil
# libcurl is not linked: http.c loads it when provisioning starts.
MCIMD_LDLIBS := $(LDLIBS_jsonc) $(LDLIBS_tss) $(call pkglibs,tss2-sys) $(LDLIBS_crypto) $(LDLIBS_nl)
$(eval $(call prog,mcimd,$(MCIMD_SRCS),$(MCIMD_LIBS),$(MCIMD_LDLIBS)))
# The sanitizer twin, for the integration tests (MCIMD=build/san/bin/mcimd).
$(eval $(call link,$(BUILD)/san/bin/mcimd,san/,$(MCIMD_SRCS),$(MCIMD_LIBS),$(MCIMD_LDLIBS),))
$(BUILD)/san/bin/mcimd: LINKER := $(CC) -g $(SAN)

# install-mcimd: the daemon, mcimctl, units, sysusers/tmpfiles entries, man
# pages and the example configuration, under $(DESTDIR)$(PREFIX).  The
# top-level `install` target is meant to depend on it.
PREFIX ?= /usr/local
MCIMD_SBINDIR = $(PREFIX)/sbin
MCIMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
MCIMD_LIBDIR_SYSTEMD ?= $(PREFIX)/lib
install-mcimd: $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl
	install -D -m 0755 $(BUILD)/bin/mcimd $(DESTDIR)$(MCIMD_SBINDIR)/mcimd
	install -D -m 0755 $(BUILD)/bin/mcimctl $(DESTDIR)$(PREFIX)/bin/mcimctl
	install -d $(DESTDIR)$(MCIMD_UNITDIR)
	sed 's|@SBINDIR@|$(MCIMD_SBINDIR)|g' systemd/mcimd.service.in \
		>$(DESTDIR)$(MCIMD_UNITDIR)/mcimd.service
	chmod 0644 $(DESTDIR)$(MCIMD_UNITDIR)/mcimd.service
	install -D -m 0644 systemd/mcimd.sysusers $(DESTDIR)$(MCIMD_LIBDIR_SYSTEMD)/sysusers.d/mcimd.conf
	install -D -m 0644 systemd/mcimd.tmpfiles $(DESTDIR)$(MCIMD_LIBDIR_SYSTEMD)/tmpfiles.d/mcimd.conf
	install -D -m 0644 docs/man/mcimd.8 $(DESTDIR)$(PREFIX)/share/man/man8/mcimd.8
	install -D -m 0644 docs/man/mcimctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/mcimctl.8
	install -D -m 0644 docs/man/mcimd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/mcimd.conf.5
	install -D -m 0644 daemon/mcimd/mcimd.conf.example \
		$(DESTDIR)$(PREFIX)/share/doc/mcim/mcimd.conf.example
.PHONY: install-mcimd
$(eval $(call fuzzer,fuzz-control,tests/fuzz/fuzz-control.c,mcimdctl,$(LDLIBS_jsonc)))
