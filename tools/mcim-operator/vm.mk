# The operator and a device in the test VM, with the guest's real firmware
# log and IMA list (tests/integration/operator/pva-vm.sh; its pieces,
# vm-lib.sh, also serve the demo).  Group "operator".
$(call add_test,operator,tests/integration/operator/pva-vm.sh,$(BUILD)/bin/mcim-operator $(BUILD)/tests/op-device $(BUILD)/tests/evlog-replay)
