# tools/vusim-modem/: vusim-modem, the modem side of a vusim.ko slot at the
# command line (tools/vusim-modem/README.md).
VUSIM_MODEM_SRCS := tools/vusim-modem/vusim-modem.c \
	tools/vusim-modem/cmd-status.c tools/vusim-modem/cmd-apdu.c \
	tools/vusim-modem/cmd-power.c tools/vusim-modem/cmd-wait.c \
	tools/vusim-modem/atr.c
$(eval $(call prog,vusim-modem,$(VUSIM_MODEM_SRCS),mcimutil,$(LDLIBS_jsonc)))

# install-vusim-modem (part of make install): the program and its man page.
install-vusim-modem: $(BUILD)/bin/vusim-modem
	install -D -m 0755 $(BUILD)/bin/vusim-modem $(DESTDIR)$(PREFIX)/bin/vusim-modem
	install -D -m 0644 docs/man/vusim-modem.1 $(DESTDIR)$(PREFIX)/share/man/man1/vusim-modem.1
.PHONY: install-vusim-modem
