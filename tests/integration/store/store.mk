# tests/integration/store/: kill -9 consistency test of the store (group
# "store": `make check-store`).
$(eval $(call test_prog,store-crash,tests/integration/store/store-crash.c,store usimprofile usim aka mcimutil))
$(call add_test,store,tests/integration/store/crash-test.sh,$(BUILD)/tests/store-crash)
