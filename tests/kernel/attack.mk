# The port-id takeover attack on vusim.ko (issue 14), run in the test VM.
$(eval $(call test_prog,vusim-attack,tests/kernel/vusim-attack.c,vusim-nl,$(LDLIBS_nl) -lpthread))
$(call add_test,kernel,tests/kernel/run-vusim-attack,module $(BUILD)/tests/vusim-attack)
