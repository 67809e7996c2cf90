# daemon/usim/: the USIM card engine (TS 102 221 / TS 31.102), a pure
# library over lib `aka`; see daemon/usim/README.md.
USIM_SRCS := daemon/usim/fs.c daemon/usim/apdu.c daemon/usim/engine.c \
	daemon/usim/select.c daemon/usim/rw.c daemon/usim/pin.c \
	daemon/usim/channel.c daemon/usim/cat.c daemon/usim/auth.c
$(eval $(call lib,usim,$(USIM_SRCS),$(LIBLDLIBS_aka)))
USIM_TEST_LIBS := usim aka mcimutil
$(eval $(call unit_test,test-usim-engine,tests/unit/test-usim-engine.c tests/unit/test-usim-common.c,$(USIM_TEST_LIBS)))
$(eval $(call unit_test,test-usim-auth,tests/unit/test-usim-auth.c tests/unit/test-usim-common.c,$(USIM_TEST_LIBS),$(LDLIBS_jsonc) $(LDLIBS_crypto)))
$(eval $(call unit_test,test-usim-fs,tests/unit/test-usim-fs.c tests/unit/test-usim-common.c,$(USIM_TEST_LIBS)))
# The engine on the shipped JSON profiles (needs lib usimprofile, profile.mk).
$(eval $(call unit_test,test-usim-profile,tests/unit/test-usim-profile.c,usimprofile $(USIM_TEST_LIBS),$(LDLIBS_jsonc) $(LDLIBS_crypto)))
