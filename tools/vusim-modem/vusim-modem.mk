# tools/vusim-modem/: vusim-modem, the modem side of a vusim.ko slot at the
# command line (tools/vusim-modem/README.md).
VUSIM_MODEM_SRCS := tools/vusim-modem/vusim-modem.c \
	tools/vusim-modem/cmd-status.c tools/vusim-modem/cmd-apdu.c \
	tools/vusim-modem/cmd-power.c tools/vusim-modem/cmd-wait.c \
	tools/vusim-modem/atr.c
$(eval $(call prog,vusim-modem,$(VUSIM_MODEM_SRCS),mcimutil,$(LDLIBS_jsonc)))
