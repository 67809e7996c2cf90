# tools/ifd-vusim/: the pcsc-lite reader driver for vusim.ko slots
# (tools/ifd-vusim/README.md).  A shared object that pcscd loads
# (reader.conf.d LIBPATH); it links nothing but libc: pcscd provides
# log_msg() for debuglog.h.
IFD_VUSIM := $(BUILD)/lib/libifd-vusim.so
$(IFD_VUSIM): $(BUILD)/pic/obj/tools/ifd-vusim/ifd-vusim.o
	@mkdir -p $(@D)
	$(CC) -g -shared -Wl,-soname,libifd-vusim.so -Wl,--version-script=tools/ifd-vusim/ifd-vusim.map \
		-o $@ $< -lpthread
$(IFD_VUSIM): tools/ifd-vusim/ifd-vusim.map
$(BUILD)/pic/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_PLAIN) -fPIC -fvisibility=default -MMD -MP -c -o $@ $<
ALL_TARGETS += $(IFD_VUSIM)
ALL_OBJS += $(BUILD)/pic/obj/tools/ifd-vusim/ifd-vusim.o

$(eval $(call unit_test,test-ifd-vusim,tests/unit/test-ifd-vusim.c tools/ifd-vusim/ifd-vusim.c,,-lpthread))

# install-ifd-vusim: the driver where pcscd's drivers live (libpcsclite's
# usbdropdir, /usr/lib/pcsc/drivers on Debian, whatever PREFIX says: pcscd
# does not look elsewhere) and its reader.conf.d entry for slot 0.
IFD_VUSIM_DIR ?= $(or $(shell pkg-config --variable=usbdropdir libpcsclite 2>/dev/null),/usr/lib/pcsc/drivers)/serial
install-ifd-vusim: $(IFD_VUSIM)
	install -D -m 0644 $(IFD_VUSIM) $(DESTDIR)$(IFD_VUSIM_DIR)/libifd-vusim.so
	install -d $(DESTDIR)/etc/reader.conf.d
	sed 's|/usr/lib/pcsc/drivers/serial|$(IFD_VUSIM_DIR)|' tools/ifd-vusim/reader.conf \
		>$(DESTDIR)/etc/reader.conf.d/vusim0
	chmod 0644 $(DESTDIR)/etc/reader.conf.d/vusim0
.PHONY: install-ifd-vusim
