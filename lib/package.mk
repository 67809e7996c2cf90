# lib/package.c: the MCIM package, download request, receipt and tamper
# report (docs/package-format.md): one codec for mcim-operator's DPF and
# mcimd's verifier.
$(eval $(call lib,package,lib/package.c,$(LDLIBS_jsonc) $(LDLIBS_crypto) $(LDLIBS_tss)))
$(eval $(call unit_test,test-package,tests/unit/test-package.c,package refvalues tpm2util mcimutil))
$(eval $(call fuzzer,fuzz-package,tests/fuzz/fuzz-package.c,package refvalues tpm2util mcimutil))
