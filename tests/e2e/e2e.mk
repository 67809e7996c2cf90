# tests/e2e/: mcimd end to end in the test VM (tests/e2e/README.md).
# e2e-modem is the modem-side client of the test, the demo and the mcimd
# benchmark; run-e2e boots the VM with swtpm attached (group "e2e").
$(eval $(call test_prog,e2e-modem,tests/e2e/e2e-modem.c,vusim-nl aka mcimutil,$(LDLIBS_crypto)))
$(call add_test,e2e,tests/e2e/run-e2e,module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem $(BUILD)/tests/e2e-modem $(BUILD)/bin/usimsh)
