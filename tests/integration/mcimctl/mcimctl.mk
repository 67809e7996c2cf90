# tests/integration/mcimctl/: mcimctl against a control server with canned
# answers (fake-mcimd); group "mcimctl": `make check-mcimctl`.
$(eval $(call test_prog,fake-mcimd,tests/integration/mcimctl/fake-mcimd.c,mcimdctl store usimprofile usim aka mcimutil,$(LDLIBS_jsonc)))
$(call add_test,mcimctl,tests/integration/mcimctl/mcimctl-test.sh,$(BUILD)/tests/fake-mcimd $(BUILD)/bin/mcimctl)
