# The vusim.ko round-trip benchmark (make bench): one VM run.
$(eval $(call test_prog,bench-vusim,tests/bench/bench-vusim.c,vusim-nl))
BENCHES += tests/bench/run-vusim-bench
BENCH_DEPS += module $(BUILD)/tests/bench-vusim
