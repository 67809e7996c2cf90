// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The profile model and the file tree: building a profile, looking files
 * up, EF.ARR resolution and FCP templates (TS 102 221 8, 9.2.7, 11.1.1.3).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/usim/internal.h"
#include "macro.h"

int usim_profile_new(struct usim_profile **ret)
{
	struct usim_profile *p;

	if (!ret)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cap_files = 32;
	p->files = calloc(p->cap_files, sizeof(*p->files));
	if (!p->files) {
		free(p);
		return -ENOMEM;
	}
	p->files[0] = (struct usim_file){
		.kind = USIM_FILE_MF,
		.fid = USIM_FID_MF,
		.parent = -1,
		.lcs = USIM_LCS_OPERATIONAL_ACTIVATED,
		.shareable = true,
	};
	p->n_files = 1;
	p->aka.algo = AKA_ALGO_MILENAGE;
	aka_milenage_params_default(&p->aka.milenage);
	aka_sqn_config_default(&p->sqn_cfg);
	*ret = p;
	return 0;
}

void usim_profile_free(struct usim_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_files; i++) {
		wipe(p->files[i].data, p->files[i].size);
		free(p->files[i].data);
	}
	free(p->files);
	/* PINs, OPc and the SQN array are secret or sensitive. */
	wipe(p, sizeof(*p));
	free(p);
}

static unsigned depth_of(const struct usim_profile *p, int idx)
{
	unsigned d = 0;

	while (idx > 0 && d <= USIM_MAX_DEPTH) {
		idx = p->files[idx].parent;
		d++;
	}
	return d;
}

static bool reserved_fid(uint16_t fid)
{
	return fid == USIM_FID_MF || fid == 0x3fff || fid == 0xffff ||
	       fid == USIM_FID_ADF_ALIAS;
}

int usim_profile_add_file(struct usim_profile *p, int parent,
			  const struct usim_file_spec *s, int *ret_index)
{
	struct usim_file f = { 0 };
	bool is_ef;

	if (!p || !s || parent < 0 || (size_t)parent >= p->n_files)
		return -EINVAL;
	if (!fs_is_df(&p->files[parent]))
		return -EINVAL;
	if (p->n_files >= USIM_MAX_FILES)
		return -E2BIG;
	/* The new node's path (MF first) has depth_of(parent) + 2 FIDs. */
	if (depth_of(p, parent) + 2 > USIM_MAX_DEPTH)
		return -EINVAL;

	f.kind = s->kind;
	f.fid = s->fid;
	f.parent = parent;
	f.sfi = s->sfi;
	f.lcs = s->lcs ? s->lcs : USIM_LCS_OPERATIONAL_ACTIVATED;
	f.shareable = s->shareable;
	f.arr_fid = s->arr_fid;
	f.arr_record = s->arr_record;

	switch (s->kind) {
	case USIM_FILE_MF:
		return -EINVAL;
	case USIM_FILE_ADF:
		/* An ADF lives under the MF and is reached by AID or 7FFF. */
		if (parent != 0 || s->aid_len < USIM_AID_MIN ||
		    s->aid_len > USIM_AID_MAX || !s->aid)
			return -EINVAL;
		if (s->fid != 0 && s->fid != USIM_FID_ADF_ALIAS)
			return -EINVAL;
		f.fid = USIM_FID_ADF_ALIAS;
		memcpy(f.aid, s->aid, s->aid_len);
		f.aid_len = (uint8_t)s->aid_len;
		for (size_t i = 1; i < p->n_files; i++)
			if (p->files[i].kind == USIM_FILE_ADF &&
			    p->files[i].aid_len == f.aid_len &&
			    !memcmp(p->files[i].aid, f.aid, f.aid_len))
				return -EEXIST;
		break;
	case USIM_FILE_DF:
		break;
	case USIM_FILE_EF_TRANSPARENT:
		if (s->size > USIM_MAX_EF_SIZE)
			return -EINVAL;
		f.size = s->size;
		break;
	case USIM_FILE_EF_LINEAR:
	case USIM_FILE_EF_CYCLIC:
		if (s->rec_len == 0 || s->rec_len > USIM_MAX_REC_LEN ||
		    s->rec_count == 0 || s->rec_count > USIM_MAX_RECORDS)
			return -EINVAL;
		f.rec_len = s->rec_len;
		f.rec_count = s->rec_count;
		f.size = (uint32_t)s->rec_len * s->rec_count;
		break;
	default:
		return -EINVAL;
	}
	is_ef = !fs_is_df(&f);
	if (s->kind != USIM_FILE_ADF && reserved_fid(s->fid))
		return -EINVAL;
	if (s->sfi > 30 || (s->sfi && !is_ef))
		return -EINVAL;
	if (s->data_len > f.size)
		return -EINVAL;
	if (f.lcs != USIM_LCS_OPERATIONAL_ACTIVATED &&
	    f.lcs != USIM_LCS_OPERATIONAL_DEACTIVATED &&
	    f.lcs != USIM_LCS_CREATION && f.lcs != USIM_LCS_INITIALISATION &&
	    f.lcs != USIM_LCS_TERMINATED)
		return -EINVAL;
	if (p->data_total + f.size > USIM_MAX_PROFILE_DATA)
		return -E2BIG;

	for (size_t i = 1; i < p->n_files; i++) {
		const struct usim_file *o = &p->files[i];

		if (o->parent != parent)
			continue;
		if (f.kind != USIM_FILE_ADF && o->kind != USIM_FILE_ADF &&
		    o->fid == f.fid)
			return -EEXIST;
		if (f.sfi && o->sfi == f.sfi)
			return -EEXIST;
	}

	if (p->n_files == p->cap_files) {
		size_t cap = MIN(p->cap_files * 2, (size_t)USIM_MAX_FILES);
		struct usim_file *n = reallocarray(p->files, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->files = n;
		p->cap_files = cap;
	}
	if (f.size) {
		f.data = malloc(f.size);
		if (!f.data)
			return -ENOMEM;
		memset(f.data, 0xff, f.size);
		if (s->data_len)
			memcpy(f.data, s->data, s->data_len);
	}
	p->files[p->n_files] = f;
	p->data_total += f.size;
	if (ret_index)
		*ret_index = (int)p->n_files;
	p->n_files++;
	return 0;
}

static bool key_ref_valid(uint8_t k)
{
	/* TS 102 221 9.5.1 Table 9.3. */
	return (k >= 0x01 && k <= 0x08) || k == 0x11 ||
	       (k >= 0x81 && k <= 0x88) || (k >= 0x0a && k <= 0x0e) ||
	       (k >= 0x8a && k <= 0x8e);
}

int usim_profile_add_pin(struct usim_profile *p, const struct usim_pin *pin)
{
	if (!p || !pin || !key_ref_valid(pin->key_ref))
		return -EINVAL;
	if (pin->max_tries == 0 || pin->max_tries > 15 ||
	    pin->tries_left > pin->max_tries)
		return -EINVAL;
	if (pin->has_puk && (pin->puk_max_tries == 0 ||
			     pin->puk_max_tries > 15 ||
			     pin->puk_tries_left > pin->puk_max_tries))
		return -EINVAL;
	if (pin_index(p, pin->key_ref) >= 0)
		return -EEXIST;
	if (p->n_pins >= USIM_MAX_PINS)
		return -E2BIG;
	p->pins[p->n_pins++] = *pin;
	return 0;
}

struct usim_pin *usim_profile_pin(struct usim_profile *p, uint8_t key_ref)
{
	int i = p ? pin_index(p, key_ref) : -1;

	return i < 0 ? NULL : &p->pins[i];
}

int fs_child(const struct usim_profile *p, int parent, uint16_t fid)
{
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].parent == parent &&
		    p->files[i].kind != USIM_FILE_ADF && p->files[i].fid == fid)
			return (int)i;
	return -ENOENT;
}

int usim_profile_find_child(const struct usim_profile *p, int parent,
			    uint16_t fid)
{
	if (!p || parent < 0 || (size_t)parent >= p->n_files)
		return -EINVAL;
	return fs_child(p, parent, fid);
}

int fs_child_sfi(const struct usim_profile *p, int df, uint8_t sfi)
{
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].parent == df && p->files[i].sfi == sfi &&
		    !fs_is_df(&p->files[i]))
			return (int)i;
	return -ENOENT;
}

/* A child of an ADF, for the engine's own lookups (EF.UST, DF.5GS...). */
int fs_app_child(const struct usim_profile *p, int app, uint16_t fid)
{
	if (app < 0)
		return -ENOENT;
	return fs_child(p, app, fid);
}

int usim_profile_find_path(const struct usim_profile *p, const uint16_t *path,
			   size_t n)
{
	int cur = 0;

	if (!p || !path || n == 0 || path[0] != USIM_FID_MF)
		return -ENOENT;
	for (size_t i = 1; i < n; i++) {
		cur = fs_child(p, cur, path[i]);
		if (cur < 0)
			return -ENOENT;
	}
	return cur;
}

int usim_profile_adf_of(const struct usim_profile *p, int index)
{
	if (!p || index < 0 || (size_t)index >= p->n_files)
		return -EINVAL;
	while (index > 0 && p->files[index].kind != USIM_FILE_ADF)
		index = p->files[index].parent;
	return index > 0 ? index : -ENOENT;
}

int usim_profile_find_adf(const struct usim_profile *p, const uint8_t *aid,
			  size_t aid_len)
{
	if (!p || !aid || aid_len == 0)
		return -EINVAL;
	for (size_t i = 1; i < p->n_files; i++)
		if (p->files[i].kind == USIM_FILE_ADF &&
		    aid_len <= p->files[i].aid_len &&
		    !memcmp(p->files[i].aid, aid, aid_len))
			return (int)i;
	return -ENOENT;
}

int usim_profile_find_app_path(const struct usim_profile *p, int adf,
			       const uint16_t *path, size_t n)
{
	int cur;

	if (!p || !path || adf <= 0 || (size_t)adf >= p->n_files ||
	    p->files[adf].kind != USIM_FILE_ADF)
		return -EINVAL;
	if (n < 2 || path[0] != USIM_FID_MF || path[1] != USIM_FID_ADF_ALIAS)
		return usim_profile_find_path(p, path, n);
	cur = adf;
	for (size_t i = 2; i < n; i++) {
		cur = fs_child(p, cur, path[i]);
		if (cur < 0)
			return -ENOENT;
	}
	return cur;
}

int usim_profile_path(const struct usim_profile *p, int index, uint16_t *path,
		      size_t max)
{
	uint16_t rev[USIM_MAX_DEPTH + 1];
	size_t n = 0;

	if (!p || index < 0 || (size_t)index >= p->n_files)
		return -EINVAL;
	for (int i = index; i >= 0 && n < ARRAY_SIZE(rev);
	     i = p->files[i].parent)
		rev[n++] = p->files[i].fid;
	if (n > max)
		return -ENOBUFS;
	for (size_t i = 0; i < n; i++)
		path[i] = rev[n - 1 - i];
	return (int)n;
}

const char *usim_profile_path_text(const struct usim_profile *p, int index,
				   char *buf, size_t size)
{
	uint16_t fids[USIM_MAX_DEPTH + 1];
	int n = usim_profile_path(p, index, fids, ARRAY_SIZE(fids));
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && off + 6 <= size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%04X",
					i ? "/" : "", fids[i]);
	return buf;
}

/*
 * TS 102 221 9.2.7 (referenced expanded format): the EF.ARR named by an
 * EF's or DF's 8B reference is looked for in the DF that holds the file (for
 * a DF: the DF itself first, then its parent), then in the parents up to
 * the MF.
 */
static int arr_file(const struct usim_profile *p, int idx)
{
	const struct usim_file *f = &p->files[idx];
	int df = fs_is_df(f) ? idx : f->parent;

	for (; df >= 0; df = p->files[df].parent) {
		int a = fs_child(p, df, f->arr_fid);

		if (a >= 0 && p->files[a].kind == USIM_FILE_EF_LINEAR)
			return a;
	}
	return -ENOENT;
}

const uint8_t *fs_arr_record(const struct usim_profile *p, int idx,
			     size_t *ret_len)
{
	const struct usim_file *f = &p->files[idx];
	const struct usim_file *a;
	int ai;

	if (!f->arr_fid)
		return NULL;
	ai = arr_file(p, idx);
	if (ai < 0)
		return NULL;
	a = &p->files[ai];
	if (f->arr_record == 0 || f->arr_record > a->rec_count)
		return NULL;
	*ret_len = a->rec_len;
	return a->data + (size_t)(f->arr_record - 1) * a->rec_len;
}

bool fs_service(const struct usim_profile *p, int app, unsigned n)
{
	int ust = fs_app_child(p, app, 0x6f38);
	const struct usim_file *f;

	if (ust < 0 || n == 0)
		return false;
	f = &p->files[ust];
	if ((n - 1) / 8 >= f->size)
		return false;
	return f->data[(n - 1) / 8] & (1u << ((n - 1) % 8));
}

/* ---- FCP (TS 102 221 11.1.1.3, 11.1.1.4) ------------------------------ */

struct tlvbuf {
	uint8_t *b;
	size_t len, max;
	bool overflow;
};

static void put(struct tlvbuf *t, const void *d, size_t n)
{
	if (t->len + n > t->max) {
		t->overflow = true;
		return;
	}
	memcpy(t->b + t->len, d, n);
	t->len += n;
}

static void put1(struct tlvbuf *t, uint8_t v)
{
	put(t, &v, 1);
}

static void put_tlv(struct tlvbuf *t, uint8_t tag, const void *d, size_t n)
{
	put1(t, tag);
	put1(t, (uint8_t)n);
	put(t, d, n);
}

static uint32_t df_total_size(const struct usim_profile *p, int df)
{
	uint64_t sum = 0;

	for (size_t i = 1; i < p->n_files; i++) {
		int a = (int)i;

		/* Everything below df (any depth). */
		while (a > 0 && a != df)
			a = p->files[a].parent;
		if (a == df && (int)i != df)
			sum += p->files[i].size;
	}
	return sum > 0xffff ? 0xffff : (uint32_t)sum;
}

/*
 * PIN status template DO 'C6' (TS 102 221 9.5.2): PS_DO ('90') with one
 * bit per listed key reference (b8 first) set when that PIN is enabled,
 * then the key references ('83'), a usage qualifier ('95' '08') in front
 * of the one used for verification when PIN1 is replaced by the UPIN.
 */
static void put_pin_status(const struct usim_profile *p, bool in_app,
			   struct tlvbuf *t)
{
	uint8_t refs[8];
	size_t n = 0;
	uint8_t ps = 0, body[64];
	struct tlvbuf b = { .b = body, .max = sizeof(body) };
	const struct usim_pin *pin1 = NULL;

	for (size_t i = 0; i < p->n_pins && n < ARRAY_SIZE(refs); i++) {
		uint8_t k = p->pins[i].key_ref;

		if (k == USIM_KEYREF_PIN1)
			pin1 = &p->pins[i];
		if ((k >= 0x81 && k <= 0x88) && !in_app)
			continue; /* local PINs belong to an application */
		refs[n++] = k;
	}
	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct usim_pin *pin = NULL;

		for (size_t j = 0; j < p->n_pins; j++)
			if (p->pins[j].key_ref == refs[i])
				pin = &p->pins[j];
		if (pin && pin->enabled)
			ps |= (uint8_t)(0x80 >> i);
	}
	put_tlv(&b, 0x90, &ps, 1);
	for (size_t i = 0; i < n; i++) {
		bool qual = pin1 && ((refs[i] == USIM_KEYREF_UPIN &&
				      pin1->use_upin) ||
				     (refs[i] == USIM_KEYREF_PIN1 &&
				      !pin1->use_upin));

		if (qual)
			put_tlv(&b, 0x95, "\x08", 1);
		put_tlv(&b, 0x83, &refs[i], 1);
	}
	put_tlv(t, 0xc6, body, b.len);
}

size_t fs_fcp(const struct usim_profile *p, int idx, uint8_t *out, size_t max)
{
	const struct usim_file *f = &p->files[idx];
	uint8_t body[256];
	struct tlvbuf t = { .b = body, .max = sizeof(body) };
	uint8_t v[8];

	/* File descriptor, 11.1.1.4.3: b7 shareable, b6-b4/b3-b1 type. */
	v[0] = f->shareable ? 0x40 : 0x00;
	v[1] = 0x21; /* data coding byte */
	switch (f->kind) {
	case USIM_FILE_MF:
	case USIM_FILE_DF:
	case USIM_FILE_ADF:
		v[0] |= 0x38;
		put_tlv(&t, 0x82, v, 2);
		break;
	case USIM_FILE_EF_TRANSPARENT:
		v[0] |= 0x01;
		put_tlv(&t, 0x82, v, 2);
		break;
	case USIM_FILE_EF_LINEAR:
	case USIM_FILE_EF_CYCLIC:
		v[0] |= f->kind == USIM_FILE_EF_LINEAR ? 0x02 : 0x06;
		v[2] = (uint8_t)(f->rec_len >> 8);
		v[3] = (uint8_t)f->rec_len;
		v[4] = (uint8_t)f->rec_count;
		put_tlv(&t, 0x82, v, 5);
		break;
	}
	v[0] = (uint8_t)(f->fid >> 8);
	v[1] = (uint8_t)f->fid;
	if (f->kind != USIM_FILE_ADF)
		put_tlv(&t, 0x83, v, 2);
	else
		put_tlv(&t, 0x84, f->aid, f->aid_len);
	if (f->kind == USIM_FILE_MF) {
		/* Proprietary information, 11.1.1.4.6: UICC characteristics
		 * (clock stop allowed, no preferred level; 3 V and 1.8 V
		 * classes) ('80', 11.1.1.4.6.1). */
		put_tlv(&t, 0xa5, "\x80\x01\x71", 3);
	}
	put_tlv(&t, 0x8a, &f->lcs, 1);
	if (f->arr_fid) {
		v[0] = (uint8_t)(f->arr_fid >> 8);
		v[1] = (uint8_t)f->arr_fid;
		v[2] = f->arr_record;
		put_tlv(&t, 0x8b, v, 3);
	}
	if (fs_is_df(f)) {
		/* Local PINs count in the ADF and the DFs below it. */
		int a = idx;

		while (a > 0 && p->files[a].kind != USIM_FILE_ADF)
			a = p->files[a].parent;
		put_pin_status(p, a > 0, &t);
		uint32_t total = df_total_size(p, idx);

		v[0] = (uint8_t)(total >> 8);
		v[1] = (uint8_t)total;
		put_tlv(&t, 0x81, v, 2);
	} else {
		v[0] = (uint8_t)(f->size >> 8);
		v[1] = (uint8_t)f->size;
		put_tlv(&t, 0x80, v, 2);
		/* '88' with no value: SFI not supported (11.1.1.4.8). */
		if (f->sfi) {
			v[0] = (uint8_t)(f->sfi << 3);
			put_tlv(&t, 0x88, v, 1);
		} else {
			put_tlv(&t, 0x88, v, 0);
		}
	}
	if (t.overflow || t.len + 2 > max || t.len > 255)
		return 0;
	out[0] = 0x62;
	out[1] = (uint8_t)t.len;
	memcpy(out + 2, body, t.len);
	return t.len + 2;
}

/* ---- Whole-profile validation ----------------------------------------- */

_printf_(3, 4) static int fail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (why && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Whether an EF.DIR record holds application template '61' with this AID
 * ('4F', TS 102 221 13.1). */
static bool dir_has_aid(const struct usim_profile *p, int dir,
			const struct usim_file *adf)
{
	const struct usim_file *d = &p->files[dir];

	for (unsigned r = 0; r < d->rec_count; r++) {
		const uint8_t *rec = d->data + (size_t)r * d->rec_len;

		if (d->rec_len < 4 || rec[0] != 0x61 || rec[2] != 0x4f)
			continue;
		if (rec[3] == adf->aid_len && 4u + rec[3] <= d->rec_len &&
		    !memcmp(rec + 4, adf->aid, adf->aid_len))
			return true;
	}
	return false;
}

int usim_profile_validate(const struct usim_profile *p, char *why,
			  size_t why_size)
{
	int dir;

	if (!p || !p->n_files)
		return fail(why, why_size, "empty profile");
	if (p->atr_len > USIM_ATR_MAX)
		return fail(why, why_size, "ATR longer than %d bytes",
			    USIM_ATR_MAX);
	if (aka_algo_config_validate(&p->aka) < 0)
		return fail(why, why_size, "invalid algorithm parameters");
	if (aka_sqn_config_validate(&p->sqn_cfg) < 0)
		return fail(why, why_size, "invalid SQN settings");
	dir = fs_child(p, 0, USIM_FID_DIR);
	for (size_t i = 0; i < p->n_files; i++) {
		const struct usim_file *f = &p->files[i];
		uint16_t path[USIM_MAX_DEPTH + 1];
		int n = usim_profile_path(p, (int)i, path, ARRAY_SIZE(path));
		char name[8 * (USIM_MAX_DEPTH + 1)] = "";

		for (int k = 0; k < n; k++)
			snprintf(name + strlen(name), sizeof(name) - strlen(name),
				 "%s%04X", k ? "/" : "", path[k]);
		if (f->kind == USIM_FILE_ADF) {
			if (dir < 0 ||
			    p->files[dir].kind != USIM_FILE_EF_LINEAR)
				return fail(why, why_size,
					    "ADF present but no linear EF.DIR 2F00 under the MF");
			if (!dir_has_aid(p, dir, f))
				return fail(why, why_size,
					    "EF.DIR has no record for the ADF %d",
					    (int)i);
		}
		if (f->arr_fid) {
			size_t len;
			const uint8_t *rec = fs_arr_record(p, (int)i, &len);

			if (!rec)
				return fail(why, why_size,
					    "%s: EF.ARR %04X record %u not found",
					    name, f->arr_fid, f->arr_record);
			int bad = arr_unknown_key_ref(p, rec, len);

			if (bad >= 0)
				return fail(why, why_size,
					    "%s: access rule uses key reference %02X, which has no PIN",
					    name, bad);
		}
	}
	return 0;
}
