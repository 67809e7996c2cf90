// SPDX-License-Identifier: LGPL-2.1-or-later
/* The operator PKI: `mcim-operator pki init` and signing keys; see pki.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "hex.h"
#include "opcrypto.h"
#include "pki.h"
#include "tpm2-crypto.h"

#define PKI_MAX_PEM_SIZE (64 * 1024)

struct ext {
	int nid;
	const char *value;
};

struct issued {
	EVP_PKEY *key;
	X509 *cert;
};

static void issued_free(struct issued *m)
{
	EVP_PKEY_free(m->key);
	X509_free(m->cert);
	m->key = NULL;
	m->cert = NULL;
}

/* RFC 5280 4.1.2.2: positive, at most 20 octets; 126 random bits here. */
static int set_random_serial(X509 *x)
{
	_cleanup_(BN_freep) BIGNUM *bn = NULL;
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[0] = (b[0] & 0x3f) | 0x40;
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		return -ENOMEM;
	return 0;
}

static int add_ext(X509 *x, X509 *issuer, const struct ext *e)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, e->nid, e->value);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

/*
 * A new P-256 key and its certificate, signed by issuer (NULL: self-signed)
 * with ECDSA-SHA256.
 */
static int issue(const char *org, const char *cn, const struct issued *issuer,
		 unsigned days, const struct ext *exts, size_t n_exts,
		 struct issued *ret)
{
	struct issued m = { 0 };
	X509_NAME *name;
	int r = -ENOMEM;

	m.key = EVP_EC_gen("P-256");
	m.cert = X509_new();
	if (!m.key || !m.cert)
		goto err;
	name = X509_get_subject_name(m.cert);
	if (!X509_set_version(m.cert, X509_VERSION_3) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(m.cert, issuer ? X509_get_subject_name(issuer->cert) : name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(m.cert), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(m.cert), (int)days, 0, NULL) ||
	    !X509_set_pubkey(m.cert, m.key))
		goto err;
	r = set_random_serial(m.cert);
	if (r < 0)
		goto err;
	for (size_t i = 0; i < n_exts; i++) {
		r = add_ext(m.cert, issuer ? issuer->cert : m.cert, &exts[i]);
		if (r < 0)
			goto err;
	}
	r = -EIO;
	if (!X509_sign(m.cert, issuer ? issuer->key : m.key, EVP_sha256()))
		goto err;
	*ret = m;
	return 0;
err:
	ERR_clear_error();
	issued_free(&m);
	return r;
}

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A DNS name of the server certificate: RFC 1035 letters, digits, '-', '.', and a leading "*.". */
static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	if (!strncmp(s, "*.", 2))
		s += 2;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return false;
	return true;
}

/* "DNS:a,DNS:b,IP:1.2.3.4" from the options, each name checked. */
static int server_san(const struct pki_init_opts *o, char **ret, char *why, size_t why_size)
{
	static const char *const default_dns[] = { "localhost" };
	static const char *const default_ip[] = { "127.0.0.1" };
	const char *const *dns = o->dns_names, *const *ips = o->ip_addresses;
	size_t n_dns = o->n_dns_names, n_ip = o->n_ip_addresses;
	_cleanup_free_ char *s = NULL;
	size_t size = 0;
	FILE *f;

	if (!n_dns && !n_ip) {
		dns = default_dns;
		ips = default_ip;
		n_dns = n_ip = 1;
	}
	if (n_dns + n_ip > PKI_MAX_NAMES)
		return why_fail(why, why_size, -EINVAL, "more than %d server names", PKI_MAX_NAMES);
	f = open_memstream(&s, &size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n_dns; i++) {
		if (!dns[i] || !dns_name_ok(dns[i])) {
			fclose(f);
			return why_fail(why, why_size, -EINVAL, "bad DNS name \"%s\"",
					    dns[i] ? dns[i] : "");
		}
		fprintf(f, "%sDNS:%s", i ? "," : "", dns[i]);
	}
	for (size_t i = 0; i < n_ip; i++) {
		uint8_t addr[16];

		if (!ips[i] || (inet_pton(AF_INET, ips[i], addr) != 1 &&
				inet_pton(AF_INET6, ips[i], addr) != 1)) {
			fclose(f);
			return why_fail(why, why_size, -EINVAL, "bad IP address \"%s\"",
					    ips[i] ? ips[i] : "");
		}
		fprintf(f, "%sIP:%s", n_dns || i ? "," : "", ips[i]);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

/* Writes data to dir/name through an O_EXCL temporary and rename(2). */
static int write_atomic(int dfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[128];
	uint8_t rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	const uint8_t *p = data;
	int fd, r = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(tmp, sizeof(tmp), ".%s.%s", name, hex);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		r = -errno;
	while (!r && len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	return r;
}

/* A PKCS#8 private key (0600) as a PEM file. */
static int write_key(int dfd, const char *dir, const char *key_name, EVP_PKEY *key, char *why,
		     size_t why_size)
{
	_cleanup_(BIO_freep) BIO *kb = BIO_new(BIO_s_secmem());
	char *data;
	long len;
	int r;

	if (!kb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		return -ENOMEM;
	len = BIO_get_mem_data(kb, &data);
	r = write_atomic(dfd, key_name, data, (size_t)len, 0600);
	if (r < 0)
		return why_fail(why, why_size, r, "%s/%s: %s", dir, key_name, strerror(-r));
	return 0;
}

/* The certificate (0644) and PKCS#8 private key (0600) of m as PEM files. */
static int write_issued(int dfd, const char *dir, const char *cert_name,
			const char *key_name, const struct issued *m, char *why,
			size_t why_size)
{
	_cleanup_(BIO_freep) BIO *cb = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r;

	if (!cb || !PEM_write_bio_X509(cb, m->cert))
		return -ENOMEM;
	r = write_key(dfd, dir, key_name, m->key, why, why_size);
	if (r < 0)
		return r;
	len = BIO_get_mem_data(cb, &data);
	r = write_atomic(dfd, cert_name, data, (size_t)len, 0644);
	if (r < 0)
		return why_fail(why, why_size, r, "%s/%s: %s", dir, cert_name, strerror(-r));
	return 0;
}

static const char *const pki_files[] = {
	PKI_ROOT_CERT, PKI_ROOT_KEY, PKI_SERVER_CERT, PKI_SERVER_KEY,
	PKI_TICKET_CERT, PKI_TICKET_KEY, PKI_DPF_CERT, PKI_DPF_KEY, PKI_POLICY_KEY,
};

/* A directory fd for path's directory and path's last component. */
static int open_parent(const char *path, int *ret_dfd, char **ret_base)
{
	_cleanup_free_ char *d = strdup(path), *b = strdup(path);
	int fd;

	if (!d || !b)
		return -ENOMEM;
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_base = strdup(basename(b));
	if (!*ret_base) {
		close(fd);
		return -ENOMEM;
	}
	*ret_dfd = fd;
	return 0;
}

/* 32 random bytes from the private DRBG, mode 0600, through write_atomic. */
static int write_kek(int dfd, const char *base)
{
	uint8_t kek[32];
	int r;

	if (RAND_priv_bytes(kek, sizeof(kek)) != 1)
		return -EIO;
	r = write_atomic(dfd, base, kek, sizeof(kek), 0600);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (r == 0 && fsync(dfd) < 0)
		r = -errno;
	return r;
}

int pki_init(const char *dir, const struct pki_init_opts *o, char *why, size_t why_size)
{
	static const struct ext root_exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
	};
	static const struct ext sign_exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	/* docs/package-format.md section 1: the device wants this EKU. */
	static const struct ext dpf_exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, PKI_OID_KP_PACKAGE },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	_cleanup_free_ char *san = NULL, *kek_base = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *policy = NULL;
	struct issued root = { 0 }, server = { 0 }, ticket = { 0 }, dpf = { 0 };
	const char *org;
	unsigned days;
	int dfd, kek_dfd = -1, r;

	if (!dir || !o)
		return -EINVAL;
	days = o->days ? o->days : PKI_DEFAULT_DAYS;
	if (days > PKI_MAX_DAYS)
		return why_fail(why, why_size, -EINVAL, "validity of %u days (at most %d)",
				    days, PKI_MAX_DAYS);
	org = o->organization ? o->organization : "mcim operator";
	if (!*org || strlen(org) > 64 || has_control_char(org))
		return why_fail(why, why_size, -EINVAL,
				    "organization must be 1-64 bytes without control characters");
	r = server_san(o, &san, why, why_size);
	if (r < 0)
		return r;
	const struct ext server_exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_alt_name, san },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return why_fail(why, why_size, -errno, "%s: %s", dir, strerror(errno));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return why_fail(why, why_size, -errno, "%s: %s", dir, strerror(errno));
	if (o->kek_path) {
		r = open_parent(o->kek_path, &kek_dfd, &kek_base);
		if (r < 0) {
			r = why_fail(why, why_size, r, "%s: %s", o->kek_path, strerror(-r));
			goto out;
		}
	} else {
		kek_dfd = dup(dfd);
		kek_base = strdup(PKI_KEK);
		if (kek_dfd < 0 || !kek_base) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(pki_files) && !o->force; i++)
		if (faccessat(dfd, pki_files[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = why_fail(why, why_size, -EEXIST,
					 "%s/%s exists: a PKI is there already (force replaces it)",
					 dir, pki_files[i]);
			goto out;
		}
	if (!o->force && faccessat(kek_dfd, kek_base, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r = why_fail(why, why_size, -EEXIST,
			     "%s exists: replacing it would make every stored subscriber secret "
			     "unreadable (force replaces it)",
			     o->kek_path ? o->kek_path : PKI_KEK);
		goto out;
	}

	r = issue(org, "mcim operator root CA", NULL, days, root_exts, ARRAY_SIZE(root_exts), &root);
	if (r >= 0)
		r = issue(org, "mcim operator server", &root, days, server_exts,
			  ARRAY_SIZE(server_exts), &server);
	if (r >= 0)
		r = issue(org, "mcim operator PVA tickets", &root, days, sign_exts,
			  ARRAY_SIZE(sign_exts), &ticket);
	if (r >= 0)
		r = issue(org, "mcim operator DPF packages", &root, days, dpf_exts,
			  ARRAY_SIZE(dpf_exts), &dpf);
	if (r >= 0 && !(policy = EVP_EC_gen("P-256")))
		r = -ENOMEM;
	if (r < 0) {
		r = why_fail(why, why_size, r, "making the certificates failed: %s", strerror(-r));
		goto out;
	}
	r = write_issued(dfd, dir, PKI_SERVER_CERT, PKI_SERVER_KEY, &server, why, why_size);
	if (r >= 0)
		r = write_issued(dfd, dir, PKI_TICKET_CERT, PKI_TICKET_KEY, &ticket, why, why_size);
	if (r >= 0)
		r = write_issued(dfd, dir, PKI_DPF_CERT, PKI_DPF_KEY, &dpf, why, why_size);
	if (r >= 0)
		r = write_key(dfd, dir, PKI_POLICY_KEY, policy, why, why_size);
	if (r >= 0) {
		r = write_kek(kek_dfd, kek_base);
		if (r < 0)
			r = why_fail(why, why_size, r, "%s: %s",
				     o->kek_path ? o->kek_path : PKI_KEK, strerror(-r));
	}
	if (r >= 0)
		r = write_issued(dfd, dir, PKI_ROOT_CERT, PKI_ROOT_KEY, &root, why, why_size);
	if (r >= 0 && fsync(dfd) < 0)
		r = -errno;
out:
	issued_free(&root);
	issued_free(&server);
	issued_free(&ticket);
	issued_free(&dpf);
	if (kek_dfd >= 0)
		close(kek_dfd);
	close(dfd);
	return r;
}

void pki_signer_free(struct pki_signer *s)
{
	if (!s)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	free(s);
}


static void wipe_freep(char **p)
{
	if (*p) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
	}
}

/* A PEM private key from a file nobody but its owner may read. */
static int load_private_key(const char *key_path, EVP_PKEY **ret, char *why, size_t why_size)
{
	_cleanup_(wipe_freep) char *key_pem = NULL;
	_cleanup_(BIO_freep) BIO *bio = NULL;
	struct stat st;
	size_t len;
	int r;

	if (stat(key_path, &st) < 0)
		return why_fail(why, why_size, -errno, "%s: %s", key_path, strerror(errno));
	if (st.st_mode & 077)
		return why_fail(why, why_size, -EPERM,
				    "%s: private key readable by group or others (mode %04o); chmod 0600 it",
				    key_path, (unsigned)(st.st_mode & 07777));
	r = read_file_max(key_path, PKI_MAX_PEM_SIZE, &key_pem, &len);
	if (r < 0)
		return why_fail(why, why_size, r, "%s: %s", key_path, strerror(-r));
	bio = BIO_new_mem_buf(key_pem, -1);
	if (!bio)
		return -ENOMEM;
	*ret = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	ERR_clear_error();
	if (!*ret)
		return why_fail(why, why_size, -EINVAL, "%s: not a PEM private key", key_path);
	return 0;
}

int pki_signer_load(const char *cert_path, const char *key_path,
		    struct pki_signer **ret, char *why, size_t why_size)
{
	_cleanup_(pki_signer_freep) struct pki_signer *s = NULL;
	_cleanup_free_ char *cert_pem = NULL;
	_cleanup_(BIO_freep) BIO *bio = NULL;
	size_t len;
	int r;

	if (!cert_path || !key_path || !ret)
		return -EINVAL;
	r = read_file_max(cert_path, PKI_MAX_PEM_SIZE, &cert_pem, &len);
	if (r < 0)
		return why_fail(why, why_size, r, "%s: %s", cert_path, strerror(-r));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	bio = BIO_new_mem_buf(cert_pem, -1);
	if (!bio)
		return -ENOMEM;
	s->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ERR_clear_error();
	if (!s->cert)
		return why_fail(why, why_size, -EINVAL, "%s: not a PEM certificate", cert_path);
	r = load_private_key(key_path, &s->key, why, why_size);
	if (r < 0)
		return r;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ERR_clear_error();
		return why_fail(why, why_size, -EINVAL, "%s is not the key of %s",
				    key_path, cert_path);
	}
	r = opcrypto_cert_sha256_hex(s->cert, s->cert_sha256);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int pki_policy_public(EVP_PKEY *key, TPM2B_PUBLIC *ret_pub)
{
	char group[32];
	int r;

	if (!key || !EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL) ||
	    strcmp(group, "prime256v1")) {
		ERR_clear_error();
		return -ENOTSUP;
	}
	memset(ret_pub, 0, sizeof(*ret_pub));
	r = tpm2_public_from_evp(key, TPM2_ALG_SHA256,
				 TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH,
				 &ret_pub->publicArea);
	if (r < 0)
		return r;
	ret_pub->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	ret_pub->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	return 0;
}

int pki_policy_key_load(const char *path, EVP_PKEY **ret_key, TPM2B_PUBLIC *ret_pub, char *why,
			size_t why_size)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	TPM2B_PUBLIC pub;
	int r;

	r = load_private_key(path, &key, why, why_size);
	if (r < 0)
		return r;
	r = pki_policy_public(key, &pub);
	if (r < 0)
		return why_fail(why, why_size, r == -ENOTSUP ? -EINVAL : r,
				"%s: the policy key must be EC NIST P-256", path);
	if (ret_pub)
		*ret_pub = pub;
	*ret_key = TAKE_PTR(key);
	return 0;
}
