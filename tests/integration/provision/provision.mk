# tests/integration/provision/: mcimd's operator client (DRF registration,
# PVA validation) against a test operator in python3 that checks the
# evidence with tpm2-tools and python3-cryptography, on swtpm; and the
# device side's refusals.  Group "mcimd".
$(call add_test,mcimd,tests/integration/provision/provision-test.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
# The package verifier (docs/package-format.md 1) with packages that
# pkg-forge builds with lib/package as the DPF would, and broken ones.
$(eval $(call test_prog,pkg-forge,tests/integration/provision/pkg-forge.c,package store usimprofile usim aka tpm2util refvalues mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto) $(LDLIBS_tss) -lsqlite3))
$(call add_test,mcimd,tests/integration/provision/package.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/pkg-forge)
# kill -9 of mcimd during package downloads: 50 kills here, 200 in
# make check-powercut (tests/integration/mcimd/mcimd.mk).
$(call add_test,mcimd,tests/integration/provision/package-kill.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/pkg-forge)
# The whole provisioning against the test operator with a DPF (pkg-forge).
$(call add_test,mcimd,tests/integration/provision/online.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/pkg-forge)
# Revocation in the TPM (docs/change-format.md 7): two downloads from
# mcim-operator, two storage parents, the older deleted and its saved blobs
# refused by the TPM (blob-load).
$(eval $(call test_prog,blob-load,tests/integration/provision/blob-load.c,tre tpm2util mcimutil,$(LDLIBS_tss) $(call pkglibs,tss2-sys) $(LDLIBS_crypto)))
$(call add_test,mcimd,tests/integration/provision/revoke.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/mcim-operator $(BUILD)/tests/blob-load)
# Checks 9a and 9b of a change of subscription (docs/change-format.md 3)
# with two operator roots, consents and releases that pkg-forge signs.
$(call add_test,mcimd,tests/integration/provision/switch-checks.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/pkg-forge)
# The switch on the device (docs/change-format.md 5): two mcim-operator
# serve (A, also the DRF, and B), fallback, abort and the whole switch.
$(call add_test,mcimd,tests/integration/provision/switch.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/mcim-operator $(BUILD)/tests/blob-load)
# kill -9 of mcimd at random points of 10 switches (100 in make check-powercut).
$(call add_test,mcimd,tests/integration/provision/switch-kill.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/mcim-operator)
