# daemon/aka/: AKA algorithms (MILENAGE, TUAK, SQN, USIM/network side of
# AKA, GSM context, SUCI).  Pure code on OpenSSL 3; see daemon/aka/README.md.
AKA_SRCS := daemon/aka/cipher.c daemon/aka/milenage.c daemon/aka/keccak.c \
	daemon/aka/tuak.c daemon/aka/sqn.c daemon/aka/usim.c daemon/aka/suci.c
$(eval $(call lib,aka,$(AKA_SRCS),$(LDLIBS_crypto)))
AKA_TEST_LIBS := aka mcimutil
$(eval $(call unit_test,test-milenage,tests/unit/test-milenage.c,$(AKA_TEST_LIBS),$(LDLIBS_jsonc)))
$(eval $(call unit_test,test-tuak,tests/unit/test-tuak.c,$(AKA_TEST_LIBS),$(LDLIBS_jsonc)))
$(eval $(call unit_test,test-sqn,tests/unit/test-sqn.c,$(AKA_TEST_LIBS),$(LDLIBS_jsonc)))
$(eval $(call unit_test,test-suci,tests/unit/test-suci.c,$(AKA_TEST_LIBS),$(LDLIBS_jsonc) $(LDLIBS_crypto)))
$(eval $(call unit_test,test-usim-aka,tests/unit/test-usim-aka.c,$(AKA_TEST_LIBS),$(LDLIBS_jsonc)))
