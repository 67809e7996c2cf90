// SPDX-License-Identifier: GPL-2.0
/*
 * vm-exit STATUS: powers the test VM off through qemu's isa-debug-exit device
 * (I/O port 0xf4), so that qemu exits with (STATUS << 1) | 1.  Linked
 * statically into the guest's initramfs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	int status = argc > 1 ? atoi(argv[1]) : 1;

	if (ioperm(0xf4, 1, 1) < 0) {
		perror("vm-exit: ioperm");
		return 1;
	}
	outb((unsigned char)status, 0xf4);
	return 1; /* not reached: qemu has exited */
}
