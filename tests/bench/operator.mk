# mcim-operator benchmarks (tests/bench/bench-operator.c), run by `make bench`.
$(eval $(call test_prog,bench-operator,tests/bench/bench-operator.c,opcore opcrypto package refvalues eventlog tre tpm2util mcimutil,$(LDLIBS_tss) $(LDLIBS_crypto)))
BENCHES += tests/bench/bench-operator.sh
BENCH_DEPS += $(BUILD)/tests/bench-operator $(BUILD)/bin/mcim-operator
