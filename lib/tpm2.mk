# lib/tpm2-*: TPM 2.0 sender and verifier side in software (duplication,
# MakeCredential, policy digests, quote verification and tpm2-tools files).
TPM2UTIL_SRCS := lib/tpm2-crypto.c lib/tpm2-dup.c lib/tpm2-cred.c \
	lib/tpm2-policy.c lib/tpm2-quote.c
$(eval $(call lib,tpm2util,$(TPM2UTIL_SRCS),$(LDLIBS_crypto) $(LDLIBS_tss)))
$(eval $(call unit_test,test-tpm2-crypto,tests/unit/test-tpm2-crypto.c,tpm2util mcimutil))
$(eval $(call unit_test,test-tpm2-dup,tests/unit/test-tpm2-dup.c,tpm2util mcimutil))
$(eval $(call unit_test,test-tpm2-cred,tests/unit/test-tpm2-cred.c,tpm2util mcimutil))
$(eval $(call unit_test,test-tpm2-policy,tests/unit/test-tpm2-policy.c,tpm2util mcimutil))
$(eval $(call unit_test,test-tpm2-quote,tests/unit/test-tpm2-quote.c,tpm2util mcimutil))

