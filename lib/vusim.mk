# libvusim-nl: the client of the vusim driver (netlink backend side and
# /dev/vusim<N> modem side), used by tests, tools and mcimd.
$(eval $(call lib,vusim-nl,lib/vusim-nl.c,$(LDLIBS_nl)))
