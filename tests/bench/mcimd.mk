# The mcimd benchmark (make bench): one VM run with swtpm attached
# (tests/bench/bench-mcimd says what it measures).
BENCHES += tests/bench/bench-mcimd
BENCH_DEPS += module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem \
	$(BUILD)/tests/e2e-modem
