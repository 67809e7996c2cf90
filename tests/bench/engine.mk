# tests/bench/bench-engine: the USIM engine's AUTHENTICATE (MILENAGE, TUAK),
# SELECT + READ BINARY and one AES-128 block, in one run (`make bench`).
$(eval $(call test_prog,bench-engine,tests/bench/bench-engine.c,usimprofile usim aka mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
BENCHES += $(BUILD)/tests/bench-engine
BENCH_DEPS += $(BUILD)/tests/bench-engine
