# tests/fuzz/: libFuzzer targets (clang, ASan+UBSan) of the USIM engine and
# the JSON profile loader.  `make fuzz` runs every target for FUZZ_SECONDS
# (default 300); `make check` runs each for a bounded 20 s (group "fuzz").
FUZZ_USIM_LIBS := usimprofile usim aka mcimutil
$(eval $(call fuzzer,fuzz-apdu,tests/fuzz/fuzz-apdu.c,$(FUZZ_USIM_LIBS),$(LDLIBS_jsonc) $(LDLIBS_crypto)))
$(eval $(call fuzzer,fuzz-profile,tests/fuzz/fuzz-profile.c,$(FUZZ_USIM_LIBS),$(LDLIBS_jsonc) $(LDLIBS_crypto)))
# tests/fuzz/check runs every tests/fuzz/fuzz-*.c target; the top Makefile
# makes the group depend on all of $(FUZZ_TARGETS).
$(call add_test,fuzz,tests/fuzz/check)
