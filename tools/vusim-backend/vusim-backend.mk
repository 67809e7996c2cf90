# tools/vusim-backend/: vusim-backend, a backend that serves the USIM engine
# on a JSON profile to a vusim.ko slot (tools/vusim-backend/README.md).
VUSIM_BACKEND_SRCS := tools/vusim-backend/vusim-backend.c \
	tools/vusim-backend/usim-card.c
$(eval $(call prog,vusim-backend,$(VUSIM_BACKEND_SRCS),vusim-nl usimprofile usim aka mcimutil,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
