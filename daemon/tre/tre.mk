# daemon/tre/: the TRE on TPM 2.0 (tpm2-tss ESAPI); see daemon/tre/README.md.
# Programs that link `tre` also link `tpm2util` (EK templates, quote export).
TRE_SRCS := daemon/tre/tre.c daemon/tre/tcti.c daemon/tre/key.c \
	daemon/tre/identity.c daemon/tre/aka-glue.c daemon/tre/fast.c daemon/tre/counter.c \
	daemon/tre/parent.c
# tss2-sys: Tss2_Sys_GetRpBuffer, to wipe an unsealed secret from the SAPI buffer.
$(eval $(call lib,tre,$(TRE_SRCS),$(LDLIBS_tss) $(call pkglibs,tss2-sys) $(LDLIBS_crypto)))

