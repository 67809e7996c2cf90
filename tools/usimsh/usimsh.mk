# tools/usimsh/: usimsh, the engine on a JSON profile with APDUs in hex on
# stdin or from a script (tools/usimsh/README.md).
USIMSH_SRCS := tools/usimsh/usimsh.c tools/usimsh/state.c
$(eval $(call prog,usimsh,$(USIMSH_SRCS),usimprofile usim aka mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))

# install-usimsh (part of make install): the program and its man page.
install-usimsh: $(BUILD)/bin/usimsh
	install -D -m 0755 $(BUILD)/bin/usimsh $(DESTDIR)$(PREFIX)/bin/usimsh
	install -D -m 0644 docs/man/usimsh.1 $(DESTDIR)$(PREFIX)/share/man/man1/usimsh.1
.PHONY: install-usimsh
