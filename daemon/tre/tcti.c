/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCTI selection and the counting TCTI.
 *
 * The counting TCTI sits between ESAPI and the real TCTI (loaded by
 * tctildr) and counts every command by its command code (TPM 2.0 Part 1
 * 18.2: the command code is bytes 6..9 of the command header), so that the
 * cost of one authentication is measured where the commands leave the host.
 */
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include <tss2/tss2_tctildr.h>

#include "tre-internal.h"

#define TRE_TCTI_MAGIC 0x6d63696d74726531ull /* "mcimtre1" */

struct tre_tcti {
	TSS2_TCTI_CONTEXT_COMMON_V2 common; /* must be first: ESAPI's view */
	TSS2_TCTI_CONTEXT *inner;
	struct tre_stats stats;
	int pending;          /* by_cc slot of the command in flight, or -1 */
	uint64_t sent_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct tre_tcti *from_ctx(TSS2_TCTI_CONTEXT *ctx)
{
	return (struct tre_tcti *)ctx;
}

static TSS2_RC count_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
	struct tre_tcti *c = from_ctx(ctx);

	if (size >= 10) {
		uint32_t cc = (uint32_t)cmd[6] << 24 | (uint32_t)cmd[7] << 16 |
			      (uint32_t)cmd[8] << 8 | cmd[9];

		c->stats.commands++;
		c->pending = -1;
		if (cc >= TPM2_CC_FIRST && cc - TPM2_CC_FIRST < ARRAY_SIZE(c->stats.by_cc)) {
			c->stats.by_cc[cc - TPM2_CC_FIRST]++;
			c->pending = (int)(cc - TPM2_CC_FIRST);
		}
		c->sent_ns = now_ns();
	}
	return Tss2_Tcti_Transmit(c->inner, size, cmd);
}

static TSS2_RC count_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
	struct tre_tcti *c = from_ctx(ctx);
	TSS2_RC rc = Tss2_Tcti_Receive(c->inner, size, rsp, timeout);

	/* ESAPI first asks for the size (rsp NULL), then for the data. */
	if (rc == TSS2_RC_SUCCESS && rsp && c->pending >= 0) {
		c->stats.ns_by_cc[c->pending] += now_ns() - c->sent_ns;
		c->pending = -1;
	}
	return rc;
}

static void count_finalize(TSS2_TCTI_CONTEXT *ctx _unused_)
{
	/* The inner TCTI is finalized by tre_tcti_close(). */
}

static TSS2_RC count_cancel(TSS2_TCTI_CONTEXT *ctx)
{
	return Tss2_Tcti_Cancel(from_ctx(ctx)->inner);
}

static TSS2_RC count_poll(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
	return Tss2_Tcti_GetPollHandles(from_ctx(ctx)->inner, h, n);
}

static TSS2_RC count_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
	return Tss2_Tcti_SetLocality(from_ctx(ctx)->inner, locality);
}

static TSS2_RC count_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky)
{
	return Tss2_Tcti_MakeSticky(from_ctx(ctx)->inner, handle, sticky);
}

/*
 * Configuration strings: "tabrmd[:conf]", "device[:path]", a bare path
 * ("/dev/tpmrm0"), "swtpm:...", "mssim:..."; NULL/"auto" tries tabrmd, then
 * /dev/tpmrm0.
 */
static int load_inner(const char *conf, TSS2_TCTI_CONTEXT **ret, char *err, size_t errlen)
{
	char buf[300];
	TSS2_RC rc;

	if (conf && conf[0] == '/') {
		snprintf(buf, sizeof(buf), "device:%s", conf);
		conf = buf;
	}
	if (conf && strcmp(conf, "auto") != 0) {
		rc = Tss2_TctiLdr_Initialize(conf, ret);
		if (rc != TSS2_RC_SUCCESS) {
			snprintf(err, errlen, "no TPM through TCTI \"%s\": %s", conf,
				 Tss2_RC_Decode(rc));
			return -ENODEV;
		}
		return 0;
	}
	/* Default: the resource manager daemon when it runs, else the kernel's. */
	if (Tss2_TctiLdr_Initialize("tabrmd", ret) == TSS2_RC_SUCCESS)
		return 0;
	if (access("/dev/tpmrm0", R_OK | W_OK) == 0 &&
	    Tss2_TctiLdr_Initialize("device:/dev/tpmrm0", ret) == TSS2_RC_SUCCESS)
		return 0;
	snprintf(err, errlen, "no TPM: tpm2-abrmd does not answer and /dev/tpmrm0 is %s",
		 access("/dev/tpmrm0", F_OK) == 0 ? "not accessible" : "absent");
	return -ENODEV;
}

int tre_tcti_open(const char *conf, struct tre_tcti **ret, char *err, size_t errlen)
{
	_cleanup_free_ struct tre_tcti *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	r = load_inner(conf, &c->inner, err, errlen);
	if (r < 0)
		return r;
	c->pending = -1;
	c->common.v1.magic = TRE_TCTI_MAGIC;
	c->common.v1.version = 2;
	c->common.v1.transmit = count_transmit;
	c->common.v1.receive = count_receive;
	c->common.v1.finalize = count_finalize;
	c->common.v1.cancel = count_cancel;
	c->common.v1.getPollHandles = count_poll;
	c->common.v1.setLocality = count_locality;
	c->common.makeSticky = count_sticky;
	*ret = TAKE_PTR(c);
	return 0;
}

void tre_tcti_close(struct tre_tcti *c)
{
	if (!c)
		return;
	Tss2_TctiLdr_Finalize(&c->inner);
	free(c);
}

TSS2_TCTI_CONTEXT *tre_tcti_context(struct tre_tcti *c)
{
	return (TSS2_TCTI_CONTEXT *)c;
}

struct tre_stats *tre_tcti_stats(struct tre_tcti *c)
{
	return &c->stats;
}
