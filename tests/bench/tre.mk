# TRE benchmark (tests/bench/bench-tre.c), run by `make bench` on swtpm.
$(eval $(call test_prog,bench-tre,tests/bench/bench-tre.c tests/integration/tre/tre-test.c,tre tpm2util aka mcimutil,$(LDLIBS_tss) $(LDLIBS_crypto)))
BENCHES += tests/bench/bench-tre.sh
BENCH_DEPS += $(BUILD)/tests/bench-tre
