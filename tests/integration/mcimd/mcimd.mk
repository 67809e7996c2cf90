# tests/integration/mcimd/: mcimd's main program on the host (no TPM, no
# vusim yet): configuration check, sd_notify readiness, control socket
# with mcimctl, SIGHUP reload, SIGTERM shutdown.  Group "mcimd".
$(eval $(call test_prog,notify-recv,tests/integration/mcimd/notify-recv.c))
$(call add_test,mcimd,tests/integration/mcimd/mcimd-test.sh,$(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/tests/notify-recv $(BUILD)/tests/store-crash)
