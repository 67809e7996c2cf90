# tests/integration/tpm2lib: lib/tpm2-* cross-checked against swtpm (ESAPI,
# tpm2_checkquote) and python3-tpm2-pytss.  `make check-tpm2lib`.
$(eval $(call test_prog,tpm2lib-swtpm,tests/integration/tpm2lib/tpm2lib-swtpm.c,tpm2util mcimutil,$(LDLIBS_tss) $(LDLIBS_cmocka)))
$(eval $(call test_prog,tpm2lib-wrap,tests/integration/tpm2lib/tpm2lib-wrap.c,tpm2util mcimutil))
$(call add_test,tpm2lib,tests/integration/tpm2lib/run-swtpm,$(BUILD)/tests/tpm2lib-swtpm)
$(call add_test,tpm2lib,tests/integration/tpm2lib/run-pytss,$(BUILD)/tests/tpm2lib-wrap)
