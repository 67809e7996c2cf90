# daemon/usim/profile.mk: the JSON profile loader (docs/profile-format.md)
# as lib `usimprofile`, over lib `usim`; its unit test.
$(eval $(call lib,usimprofile,daemon/usim/profile-json.c,$(LDLIBS_jsonc) $(LIBLDLIBS_usim)))
$(eval $(call unit_test,test-profile-json,tests/unit/test-profile-json.c,usimprofile usim aka mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
