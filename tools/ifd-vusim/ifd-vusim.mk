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
