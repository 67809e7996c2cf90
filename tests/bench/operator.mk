# mcim-operator benchmarks (tests/bench/bench-operator.c), run by `make bench`.
$(eval $(call test_prog,bench-operator,tests/bench/bench-operator.c,opcore opcrypto package refvalues eventlog tre tpm2util mcimutil,$(LDLIBS_tss) $(LDLIBS_crypto)))
BENCHES += tests/bench/bench-operator.sh
BENCH_DEPS += $(BUILD)/tests/bench-operator $(BUILD)/bin/mcim-operator

# `make bench-fleet`: the operator on PostgreSQL behind HAProxy
# (tests/bench/bench-fleet.sh); several minutes, so not in `make bench`.
bench-fleet: userspace $(BUILD)/tests/bench-operator $(BUILD)/bin/mcim-operator $(BUILD)/tests/op-device
	@scripts/install-deps
	@tests/bench/bench-fleet.sh
.PHONY: bench-fleet
