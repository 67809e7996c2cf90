# lib/eventlog*: the TCG PC Client crypto-agile firmware event log and the
# Linux IMA measurement list, parsed and replayed (lib/eventlog.h).  Tests in
# group "eventlog": the unit test, the swtpm/tpm2_eventlog cross-checks
# (tests/integration/eventlog/) and the VM run with real logs (group
# "kernel"); fuzzers in tests/fuzz/.
$(eval $(call lib,eventlog,lib/eventlog.c lib/eventlog-tcg.c lib/eventlog-ima.c,$(LDLIBS_crypto)))
$(eval $(call unit_test,test-eventlog,tests/unit/test-eventlog.c,eventlog mcimutil))
$(eval $(call fuzzer,fuzz-eventlog-tcg,tests/fuzz/fuzz-eventlog-tcg.c,eventlog mcimutil))
$(eval $(call fuzzer,fuzz-eventlog-ima,tests/fuzz/fuzz-eventlog-ima.c,eventlog mcimutil))
$(call add_test,eventlog,$(BUILD)/tests/test-eventlog)
