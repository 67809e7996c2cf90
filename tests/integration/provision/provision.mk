# tests/integration/provision/: mcimd's operator client (DRF registration,
# PVA validation) against a test operator in python3 that checks the
# evidence with tpm2-tools and python3-cryptography, on swtpm; and the
# device side's refusals.  Group "mcimd".
$(call add_test,mcimd,tests/integration/provision/provision-test.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl)
