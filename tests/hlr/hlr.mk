# tests/hlr/: a real HLR (osmo-hlr, Debian) as the network side that checks a
# profile: vectors over GSUP (tests/lib/gsup-client) answered by mcimd's
# USIM.  Group "hlr" (`make check-hlr`).
LDLIBS_osmogsm := $(call pkglibs,libosmogsm libosmocore)
$(eval $(call test_prog,gsup-client,tests/lib/gsup-client.c,mcimutil,$(LDLIBS_osmogsm)))
$(call add_test,hlr,tests/hlr/hlr-aka.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/gsup-client)
# The same in the test VM: the card on /dev/vusim0 (vusim.ko), as a modem sees it.
$(call add_test,hlr,tests/hlr/hlr-vm.sh,module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem $(BUILD)/tests/gsup-client)
# Issue #11's story on the host: the factory's bootstrap profile, mcimctl
# provision against mcim-operator, osmo-hlr authenticating both subscriptions.
$(call add_test,hlr,tests/hlr/hlr-download.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/mcim-operator $(BUILD)/tests/gsup-client)
# The same in the test VM: vusim.ko, mcimd on the guest's TPM, the operator
# and osmo-hlr on the guest's loopback, the modem on /dev/vusim0.
$(call add_test,hlr,tests/hlr/hlr-download-vm.sh,module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/mcim-operator $(BUILD)/bin/vusim-modem $(BUILD)/tests/gsup-client)
