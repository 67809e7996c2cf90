# tools/mcim-operator/: the operator side (DRF, PVA); see
# tools/mcim-operator/README.md.  Library opcore: the store, the decision
# cores, the request parsers and the HTTP server; the program adds the
# command line.  Its X.509 pieces are library opcrypto (pki.mk).
OPCORE_SRCS := tools/mcim-operator/db.c tools/mcim-operator/db-sqlite.c \
	tools/mcim-operator/db-pg.c tools/mcim-operator/store.c \
	tools/mcim-operator/store-schema.c tools/mcim-operator/config.c \
	tools/mcim-operator/pva.c tools/mcim-operator/evidence.c \
	tools/mcim-operator/import.c tools/mcim-operator/ratelimit.c \
	tools/mcim-operator/http.c tools/mcim-operator/api.c \
	tools/mcim-operator/api-drf.c tools/mcim-operator/api-pva.c \
	tools/mcim-operator/metrics.c \
	tools/mcim-operator/subscription.c tools/mcim-operator/dpf.c \
	tools/mcim-operator/api-dpf.c tools/mcim-operator/change.c
OPCORE_LDLIBS := $(LDLIBS_sqlite) $(LDLIBS_pq) $(LDLIBS_jsonc) $(LDLIBS_mhd) $(LDLIBS_inih) \
	$(LDLIBS_crypto) $(LDLIBS_tss) -lpthread
$(eval $(call lib,opcore,$(OPCORE_SRCS),$(OPCORE_LDLIBS)))
OPERATOR_LIBS := opcore opcrypto package refvalues eventlog tpm2util mcimutil
OPERATOR_SRCS := tools/mcim-operator/mcim-operator.c tools/mcim-operator/cmd-serve.c \
	tools/mcim-operator/cmd-pki.c tools/mcim-operator/cmd-device.c \
	tools/mcim-operator/cmd-model.c tools/mcim-operator/cmd-sho.c \
	tools/mcim-operator/cmd-audit.c tools/mcim-operator/cmd-db.c \
	tools/mcim-operator/cmd-subscription.c tools/mcim-operator/cmd-package.c \
	tools/mcim-operator/cmd-change.c
$(eval $(call prog,mcim-operator,$(OPERATOR_SRCS),$(OPERATOR_LIBS)))

# Tests: tests/integration/operator/ (group "operator").
$(eval $(call test_prog,op-device,tests/integration/operator/op-device.c,tre package tpm2util refvalues mcimutil,$(LDLIBS_curl) $(LDLIBS_jsonc) $(LDLIBS_tss) $(LDLIBS_crypto) -lpthread))
$(call add_test,operator,tests/integration/operator/pva.sh,$(BUILD)/bin/mcim-operator $(BUILD)/tests/op-device)
$(call add_test,operator,tests/integration/operator/dpf.sh,$(BUILD)/bin/mcim-operator $(BUILD)/tests/op-device)
$(call add_test,operator,tests/integration/operator/switch-op.sh,$(BUILD)/bin/mcim-operator $(BUILD)/tests/op-device)
$(eval $(call unit_test,test-operator-core,tests/unit/test-operator-core.c,$(OPERATOR_LIBS)))
$(eval $(call unit_test,test-subscription,tests/unit/test-subscription.c,$(OPERATOR_LIBS)))
$(eval $(call fuzzer,fuzz-operator-requests,tests/fuzz/fuzz-operator-requests.c,$(OPERATOR_LIBS)))
$(call add_test,operator,tests/integration/operator/docs.sh,$(BUILD)/bin/mcim-operator)

# install-operator: the program, its man page and an example configuration;
# its unit, sysusers.d and tmpfiles.d entries (systemd/, the same directories
# as mcimd's).
install-operator: $(BUILD)/bin/mcim-operator
	install -D -m 0755 $(BUILD)/bin/mcim-operator $(DESTDIR)$(PREFIX)/bin/mcim-operator
	install -d $(DESTDIR)$(MCIMD_UNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' systemd/mcim-operator.service.in \
		>$(DESTDIR)$(MCIMD_UNITDIR)/mcim-operator.service
	chmod 0644 $(DESTDIR)$(MCIMD_UNITDIR)/mcim-operator.service
	install -D -m 0644 systemd/mcim-operator.sysusers $(DESTDIR)$(MCIMD_LIBDIR_SYSTEMD)/sysusers.d/mcim-operator.conf
	install -D -m 0644 systemd/mcim-operator.tmpfiles $(DESTDIR)$(MCIMD_LIBDIR_SYSTEMD)/tmpfiles.d/mcim-operator.conf
	install -D -m 0644 docs/man/mcim-operator.8 $(DESTDIR)$(PREFIX)/share/man/man8/mcim-operator.8
	install -D -m 0644 tools/mcim-operator/operator.conf.example \
		$(DESTDIR)$(PREFIX)/share/doc/mcim/operator.conf.example
.PHONY: install-operator
$(call add_test,operator,tests/integration/operator/mcimd.sh,$(BUILD)/bin/mcim-operator $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,operator,tests/integration/operator/store-pg.sh,$(BUILD)/tests/test-operator-core $(BUILD)/san/tests/test-operator-core)
$(call add_test,operator,tests/integration/operator/fleet.sh,$(BUILD)/bin/mcim-operator $(BUILD)/tests/op-device)
