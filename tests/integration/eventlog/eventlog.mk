# tests/integration/eventlog/: lib/eventlog against swtpm, tpm2_eventlog and
# the real logs of the test VM.  `make check-eventlog`.
$(eval $(call test_prog,evlog-replay,tests/integration/eventlog/evlog-replay.c,eventlog mcimutil))
$(call add_test,eventlog,tests/integration/eventlog/eventlog-oracle.sh,$(BUILD)/tests/evlog-replay)
$(call add_test,eventlog,tests/integration/eventlog/eventlog-swtpm.sh,$(BUILD)/tests/evlog-replay)
$(call add_test,eventlog,tests/integration/eventlog/eventlog-vm.sh,$(BUILD)/tests/evlog-replay)
