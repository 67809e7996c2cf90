# tests/pcsc/: the virtual USIM through pcscd and ifd-vusim, in the test VM
# (tests/pcsc/README.md); group "pcsc".
$(call add_test,pcsc,tests/pcsc/run-pcsc,module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem $(BUILD)/bin/vusim-backend $(BUILD)/lib/libifd-vusim.so)

# The benchmark (make bench): pcscd + ifd-vusim next to pcscd + vpcd, one VM run.
$(eval $(call test_prog,vpcd-relay,tests/pcsc/vpcd-relay.c tools/vusim-backend/usim-card.c,usimprofile usim aka mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
$(eval $(call test_prog,pcsc-bench,tests/pcsc/pcsc-bench.c,aka mcimutil,$(LDLIBS_pcsc) $(LDLIBS_crypto)))
BENCHES += tests/pcsc/run-pcsc-bench
BENCH_DEPS += module $(BUILD)/bin/vusim-backend $(BUILD)/lib/libifd-vusim.so $(BUILD)/tests/vpcd-relay $(BUILD)/tests/pcsc-bench
