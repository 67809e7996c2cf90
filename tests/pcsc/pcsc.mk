# tests/pcsc/: the virtual USIM through pcscd and ifd-vusim, in the test VM
# (tests/pcsc/README.md); group "pcsc".
$(call add_test,pcsc,tests/pcsc/run-pcsc,module $(BUILD)/bin/mcimd $(BUILD)/bin/mcimctl $(BUILD)/bin/vusim-modem $(BUILD)/bin/vusim-backend $(IFD_VUSIM))
