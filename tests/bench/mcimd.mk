# The mcimd benchmark (make bench): one VM run with swtpm attached
# (tests/bench/bench-mcimd says what it measures).  rss-floor is linked
# like mcimd, for the resident set of its libraries alone.
$(eval $(call test_prog,rss-floor,tests/bench/rss-floor.c,,$(MCIMD_LDLIBS) $(LDLIBS_sqlite) $(LDLIBS_inih)))
BENCHES += tests/bench/bench-mcimd
BENCH_DEPS += module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem \
	$(BUILD)/tests/e2e-modem $(BUILD)/tests/rss-floor
