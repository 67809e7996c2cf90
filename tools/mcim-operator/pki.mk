# tools/mcim-operator/pki.mk: the operator's X.509 and signing pieces, library
# opcrypto (EK certificates, the operator PKI, validation tickets), and their
# tests (group "operator": `make check-operator`).
OPCRYPTO_SRCS := tools/mcim-operator/opcrypto.c tools/mcim-operator/ekcert.c \
	tools/mcim-operator/pki.c tools/mcim-operator/ticket.c \
	tools/mcim-operator/kek.c
$(eval $(call lib,opcrypto,$(OPCRYPTO_SRCS),$(LDLIBS_crypto) $(LDLIBS_jsonc)))
OPCRYPTO_LIBS := opcrypto tpm2util mcimutil

# operator_unit_test(NAME): tests/unit/NAME.c, cmocka, plain and under
# ASan+UBSan, in group "operator".
define operator_unit_test
$(eval $(call link,$(BUILD)/tests/$(1),,tests/unit/$(1).c,$(OPCRYPTO_LIBS),$(LDLIBS_cmocka),))
$(eval $(call link,$(BUILD)/san/tests/$(1),san/,tests/unit/$(1).c,$(OPCRYPTO_LIBS),$(LDLIBS_cmocka),))
$(BUILD)/tests/$(1): LINKER := $(CC) -g
$(BUILD)/san/tests/$(1): LINKER := $(CC) -g $(SAN)
ALL_TARGETS += $(BUILD)/tests/$(1) $(BUILD)/san/tests/$(1)
$(call add_test,operator,$(BUILD)/tests/$(1) $(BUILD)/san/tests/$(1))
endef
$(eval $(call operator_unit_test,test-ekcert))
$(eval $(call operator_unit_test,test-pki))
$(eval $(call operator_unit_test,test-ticket))

# Against swtpm's EK certificates and python3-cryptography.
$(eval $(call test_prog,opcrypto-tool,tests/integration/operator/opcrypto-tool.c,$(OPCRYPTO_LIBS)))
$(call add_test,operator,tests/integration/operator/ekcert-swtpm.sh,$(BUILD)/tests/opcrypto-tool)
$(call add_test,operator,tests/integration/operator/ticket-python.sh,$(BUILD)/tests/opcrypto-tool)

$(eval $(call fuzzer,fuzz-ekcert,tests/fuzz/fuzz-ekcert.c,$(OPCRYPTO_LIBS)))
$(eval $(call fuzzer,fuzz-ticket,tests/fuzz/fuzz-ticket.c,$(OPCRYPTO_LIBS)))
