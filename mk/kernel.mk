# The kernel module, built by Kbuild against Debian's installed headers.
#
# KDIR (override with KDIR=...) and its release KVER come from
# scripts/kernel-dir, which the VM harness uses too to pick the kernel it
# boots: /boot/vmlinuz-$(KVER).
KDIR := $(shell scripts/kernel-dir 2>/dev/null)
KVER := $(shell KDIR=$(KDIR) scripts/kernel-dir --release 2>/dev/null)
export KDIR KVER

MODULE := kernel/vusim.ko
KERNEL_SRCS := $(wildcard kernel/*.c kernel/*.h kernel/uapi/linux/*.h kernel/Kbuild) Kbuild

module: $(MODULE)
$(MODULE): $(KERNEL_SRCS)
	@test -n "$(KDIR)" || { echo "no kernel build tree: install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

module-clean:
	@test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null
.PHONY: module module-clean
