# tools/usimsh/: usimsh, the engine on a JSON profile with APDUs in hex on
# stdin or from a script (tools/usimsh/README.md).
USIMSH_SRCS := tools/usimsh/usimsh.c tools/usimsh/state.c
$(eval $(call prog,usimsh,$(USIMSH_SRCS),usimprofile usim aka mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
