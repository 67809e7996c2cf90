# tests/integration/mcimd/: mcimd's main program on the host: configuration
# check, sd_notify readiness, control socket with mcimctl, SIGHUP reload,
# SIGTERM shutdown (no TPM); with swtpm: profiles, AUTHENTICATE through the
# TPM, attestation, rollback, tamper, and the kill -9 test.  Group "mcimd".
# The VM smoke test (a real vusim.ko slot, the TPM as tpm-tis) is in group
# "kernel" with the other VM runs.
$(eval $(call test_prog,notify-recv,tests/integration/mcimd/notify-recv.c))
$(call add_test,mcimd,tests/integration/mcimd/mcimd-test.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/notify-recv $(BUILD)/tests/store-crash)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-tpm.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-kill.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-rollback.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-tamper.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-trace.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-nvauth.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-control.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/store-crash)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-core.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
$(call add_test,mcimd,tests/integration/mcimd/mcimd-factory.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
# Updates of a profile's files: REFRESH or reset, refusals, kill -9 (FILES_KILLS, 20).
$(call add_test,mcimd,tests/integration/mcimd/mcimd-files.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
# Power cuts of mcimd and swtpm together: 50 in make check, 200 here.
$(call add_test,mcimd,tests/integration/mcimd/mcimd-powercut.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
.PHONY: check-powercut
check-powercut: $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/pkg-forge $(BUILD)/bin/mcim-operator
	MCIMD_CUTS=200 tests/run tests/integration/mcimd/mcimd-powercut.sh
	PACKAGE_KILLS=200 tests/run tests/integration/provision/package-kill.sh
	ONLINE_KILLS=100 tests/run tests/integration/provision/online.sh
	SWITCH_KILLS=100 tests/run tests/integration/provision/switch-kill.sh
$(call add_test,kernel,tests/integration/mcimd/mcimd-vm.sh,module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem)
# The TRE's second NV counter (daemon/tre/tre-counter.h), on swtpm.
$(eval $(call test_prog,test-tre-counter,tests/integration/mcimd/test-tre-counter.c tests/integration/tre/tre-test.c,tre tpm2util aka mcimutil,$(LDLIBS_tss) $(call pkglibs,tss2-tctildr) $(LDLIBS_crypto) $(LDLIBS_jsonc)))
$(call add_test,mcimd,tests/integration/mcimd/tre-counter.sh,$(BUILD)/tests/test-tre-counter)
