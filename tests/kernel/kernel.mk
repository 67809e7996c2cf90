# vusim.ko functional tests, run in the test VM (tests/kernel/vm-run).
$(eval $(call test_prog,vusim-test,tests/kernel/vusim-test.c,vusim-nl,$(LDLIBS_nl) -lpthread))
$(call add_test,kernel,tests/kernel/run-vusim-tests,module $(BUILD)/tests/vusim-test)
