# The device's provisioning against the operator (issue #11), run by `make bench`.
BENCHES += tests/bench/bench-provision.sh
BENCH_DEPS += $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/mcim-operator
# The change of subscription (issue #12): switches A <-> B with their proof.
BENCHES += tests/bench/bench-switch.sh
