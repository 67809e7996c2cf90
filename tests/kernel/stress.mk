# The vusim.ko stress test: a program run in the VM by run-vusim-stress.
$(eval $(call test_prog,vusim-stress,tests/kernel/vusim-stress.c,vusim-nl,-lpthread))
$(call add_test,kernel,tests/kernel/run-vusim-stress,module $(BUILD)/tests/vusim-stress)
