# tools/mcimctl/: the command-line client of mcimd's control socket; see
# tools/mcimctl/README.md.  Its tests: tests/integration/mcimctl/.
MCIMCTL_SRCS := tools/mcimctl/mcimctl.c tools/mcimctl/ipc.c tools/mcimctl/output.c \
	tools/mcimctl/status.c tools/mcimctl/slot.c tools/mcimctl/profile.c \
	tools/mcimctl/tamper.c tools/mcimctl/attest.c tools/mcimctl/apdu.c \
	tools/mcimctl/trace.c tools/mcimctl/log.c tools/mcimctl/provision.c \
	tools/mcimctl/register.c tools/mcimctl/validate.c tools/mcimctl/package.c \
	tools/mcimctl/switch.c
$(eval $(call prog,mcimctl,$(MCIMCTL_SRCS),mcimdconf refvalues mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
