// SPDX-License-Identifier: LGPL-2.1-or-later
/* The operators' side of a change of subscription; see change.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "why.h"
#include "tools/mcim-operator/change.h"

int change_cert_load(const char *src, bool from_text, X509 **ret, char ret_key_id[65], char *why,
		     size_t why_size)
{
	BIO *b = from_text ? BIO_new_mem_buf(src, -1) : BIO_new_file(src, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (!x)
		return why_fail(why, why_size, -EINVAL, "%s: not a PEM certificate",
				from_text ? "stored root" : src);
	if (ret_key_id && package_key_id(x, ret_key_id) < 0) {
		X509_free(x);
		return why_fail(why, why_size, -EIO, "%s: no public key", from_text ? "root" : src);
	}
	if (ret)
		*ret = x;
	else
		X509_free(x);
	return 0;
}

struct roots_ctx {
	STACK_OF(X509) *roots;
	int err;
};

static int add_root(const struct op_sho *o, void *user)
{
	struct roots_ctx *c = user;
	X509 *x;

	if (!o->root[0])
		return 0;
	if (change_cert_load(o->root, true, &x, NULL, NULL, 0) < 0 || !sk_X509_push(c->roots, x)) {
		c->err = -EIO;
		return -EIO;
	}
	return 0;
}

int change_peer_roots(struct store *st, STACK_OF(X509) **ret, char *why, size_t why_size)
{
	struct roots_ctx c = { sk_X509_new_null(), 0 };
	int r;

	if (!c.roots)
		return -ENOMEM;
	r = store_sho_list(st, add_root, &c);
	if (r < 0) {
		sk_X509_pop_free(c.roots, X509_free);
		return why_fail(why, why_size, r, c.err ? "a stored SHO root does not parse"
							: "the store failed");
	}
	*ret = c.roots;
	return 0;
}

static int refuse(const char **ret_code, const char *code, char *why, size_t why_size,
		  const char *what, const char *reason)
{
	*ret_code = code;
	return why_fail(why, why_size, -EPERM, "%s: %s", what, reason);
}

int change_switch_check(struct store *st, const struct package_request *rq, const char *device_id,
			const char *subscriber, const char *own_sho_id, time_t now,
			struct change_switch *ret, const char **ret_code, char *why,
			size_t why_size)
{
	struct op_subscriber acc;
	STACK_OF(X509) *roots = NULL;
	char key_id[65], w[320];
	int r;

	memset(ret, 0, sizeof(*ret));
	/* The consent: the subscriber's key, pinned by the certificate registered here. */
	r = store_subscriber_get(st, subscriber, &acc);
	if (r == -ENOENT)
		return refuse(ret_code, "consent_invalid", why, why_size, "consent",
			      "the device's subscriber has no account here (subscriber add)");
	if (r < 0)
		return why_fail(why, why_size, r, "the store failed");
	r = package_token_open(PACKAGE_TYPE_CONSENT, rq->consent, rq->consent_len, NULL, now,
			       &ret->consent, key_id, w, sizeof(w));
	if (r < 0)
		return refuse(ret_code, "consent_invalid", why, why_size, "consent", w);
	if (strcmp(key_id, acc.key_id))
		return refuse(ret_code, "consent_invalid", why, why_size, "consent",
			      "signed by another key than the subscriber's registered one");
	r = package_token_check(&ret->consent, device_id, rq->switch_iccid, own_sho_id, now, w,
				sizeof(w));
	if (r < 0)
		return refuse(ret_code, r == -EPERM ? "consent_mismatch" : "consent_invalid", why,
			      why_size, "consent", w);
	if (!rq->release)
		return 0;
	/* The release: the current SHO's DPF key, under a root added with sho add --root. */
	r = change_peer_roots(st, &roots, why, why_size);
	if (r < 0)
		return r;
	r = sk_X509_num(roots) > 0
		    ? package_token_open(PACKAGE_TYPE_RELEASE, rq->release, rq->release_len, roots,
					 now, &ret->release, key_id, w, sizeof(w))
		    : why_fail(w, sizeof(w), -EKEYREJECTED, "no peer operator root is known here");
	sk_X509_pop_free(roots, X509_free);
	if (r < 0)
		return refuse(ret_code, "release_invalid", why, why_size, "release", w);
	r = package_token_check(&ret->release, device_id, rq->switch_iccid, own_sho_id, now, w,
				sizeof(w));
	if (r < 0)
		return refuse(ret_code, r == -EPERM ? "release_mismatch" : "release_invalid", why,
			      why_size, "release", w);
	ret->has_release = true;
	return 0;
}
