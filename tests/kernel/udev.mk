# The udev rule, checked with udevadm test on a slot in the VM.
$(call add_test,kernel,tests/kernel/udev-rule,module $(BUILD)/bin/vusim-backend)
