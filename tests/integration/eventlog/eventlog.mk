# tests/integration/eventlog/: lib/eventlog against swtpm, tpm2_eventlog and
# the real logs of the test VM.  `make check-eventlog`.
$(eval $(call test_prog,evlog-replay,tests/integration/eventlog/evlog-replay.c,eventlog mcimutil))
