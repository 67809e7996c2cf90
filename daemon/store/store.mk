# daemon/store/: mcimd's SQLite store (profiles, files, PINs, SQN, TPM
# blobs, audit log, anti-rollback generation); see daemon/store/README.md.
# Programs that link `store` also link `usim` (the profile model).
STORE_SRCS := daemon/store/store.c daemon/store/sql.c daemon/store/anchor.c \
	daemon/store/profiles.c daemon/store/load.c daemon/store/apply.c \
	daemon/store/secrets.c daemon/store/blobs.c daemon/store/audit.c \
	daemon/store/schema.c daemon/store/files.c
$(eval $(call lib,store,$(STORE_SRCS),$(LDLIBS_sqlite) $(LDLIBS_crypto)))
STORE_TEST_LIBS := store usimprofile usim aka mcimutil
$(eval $(call unit_test,test-store,tests/unit/test-store.c,$(STORE_TEST_LIBS),$(LDLIBS_sqlite)))
