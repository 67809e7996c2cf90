// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Crash-consistency driver for daemon/store/ (run by crash-test.sh, which
 * kills it with SIGKILL at random points).
 *
 *   store-crash run DB LOG SEED     loop for ever over random operations
 *   store-crash check DB LOG        compare the store with the log
 *   store-crash audit DB EVENT      store_check(), then print how many
 *                                   audit entries EVENT has (other tests)
 *
 * run: installs the test profile under fresh ICCIDs, enables (switches),
 * deletes, and commits SQN steps together with an EF update and a PIN
 * counter change as one change-record batch (what the daemon does for an
 * AUTHENTICATE / UPDATE BINARY / VERIFY), and updates EF.PLMNwAcT (a
 * transparent EF) and EF.OPL (two records) together with
 * store_profile_update_files() (an update over the air: after a kill both
 * hold the old contents or both the new, never a mix).  Before each
 * operation it appends
 * "B n op args" to LOG and fsyncs; after the store call returned, "D n"
 * (fsync'ed): as the daemon, it "answers" only after the commit.
 *
 * check: replays LOG into a model.  Every operation with a "D" line must be
 * in the store; the one operation begun but not done may be there or not
 * (either whole).  Compares the set of profiles, the enabled one, every
 * SQN array entry, the EF and PIN state, loads each profile completely and
 * runs store_check() (integrity_check, foreign keys, whole profiles, at
 * most one enabled).  It then appends "R n 0|1" (the in-flight operation's
 * fate) so that the next run's history is definite.  Exit 0 when all
 * holds, 1 with a message otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store/store.h"
#include "daemon/usim/profile-json.h"
#include "macro.h"

#define PROFILE_PATH "daemon/usim/profiles/test-usim.json"
#define MAXP 16
#define NIND 32 /* test profile: IND 5 bits */

static int xor_seal(void *ctx, const uint8_t *sec, size_t len, uint8_t *blob,
		    size_t max, size_t *ret_len)
{
	(void)ctx;
	if (len > max)
		return -ENOBUFS;
	for (size_t i = 0; i < len; i++)
		blob[i] = sec[i] ^ 0x3c;
	*ret_len = len;
	return 0;
}

static const struct store_sealer sealer = { xor_seal, xor_seal, NULL };

static _printf_(1, 2) _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

static void log_line(int fd, const char *fmt, ...) _printf_(2, 3);
static void log_line(int fd, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(fd, buf, (size_t)n) != n || fsync(fd) < 0)
		die("log write: %m");
}

/* Index of EF.PL (3F00/2F05) and PIN2 in the test profile. */
static int ef_index(const struct usim_profile *p)
{
	return usim_profile_find_path(p, (const uint16_t[]){ 0x3f00, 0x2f05 }, 2);
}

/* EF.PLMNwAcT (ADF.USIM/6F60, 40 bytes) and EF.OPL (6FC6, 2 records of 8). */
static void upd_files(const struct usim_profile *p, int ret_idx[2])
{
	int adf = usim_profile_find_adf(p, (const uint8_t *)"\xa0\x00\x00\x00\x87\x10\x02", 7);

	ret_idx[0] = usim_profile_find_child(p, adf, 0x6f60);
	ret_idx[1] = usim_profile_find_child(p, adf, 0x6fc6);
	if (adf < 0 || ret_idx[0] < 0 || ret_idx[1] < 0 || p->files[ret_idx[0]].size != 40 ||
	    p->files[ret_idx[1]].size != 16)
		die("the test profile has no EF.PLMNwAcT / EF.OPL of the expected sizes");
}

/* The contents an update numbered no writes: file f, byte k. */
static uint8_t upd_byte(unsigned long no, int f, size_t k)
{
	return (uint8_t)((no * (f ? 7u : 1u) + k) & 0xff);
}

static int pin2_index(const struct usim_profile *p)
{
	for (size_t i = 0; i < p->n_pins; i++)
		if (p->pins[i].key_ref == USIM_KEYREF_PIN2)
			return (int)i;
	return -1;
}

/* ---- run ---- */

static int run(const char *db, const char *logpath, unsigned seed)
{
	_cleanup_store_ struct store *s = NULL;
	struct usim_profile *tmpl = NULL, *cur = NULL;
	struct aka_plain_secret k;
	struct store_profile_info *list = NULL;
	char why[PROFILE_JSON_WHY_SIZE];
	int64_t cur_id = -1;
	size_t n = 0;
	unsigned long opno;
	int fd, r;

	srand(seed);
	opno = (unsigned long)seed * 1000000ul;
	if (profile_json_load_file(PROFILE_PATH, &tmpl, &k, why, sizeof(why)) < 0)
		die("profile: %s", why);
	wipe(&k, sizeof(k));
	r = store_open(db, &sealer, &s, why, sizeof(why));
	if (r < 0)
		die("open: %s", why);
	fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		die("log: %m");
	for (;;) {
		int64_t pick;
		int op = rand() % 100;

		free(list);
		list = NULL;
		if (store_profile_list(s, &list, &n) < 0)
			die("list: %s", store_errmsg(s));
		opno++;
		if (n < 2 || (op < 10 && n < 6)) {
			char iccid[STORE_ICCID_MAX + 1];
			struct store_profile_meta m = { .iccid = iccid,
							.cls = STORE_CLASS_OPERATIONAL };

			snprintf(iccid, sizeof(iccid), "8999%016lu", opno);
			log_line(fd, "B %lu I %s\n", opno, iccid);
			r = store_profile_install(s, &m, tmpl, NULL, 0, NULL);
			if (r < 0)
				die("install: %s", store_errmsg(s));
			log_line(fd, "D %lu\n", opno);
			continue;
		}
		pick = list[(size_t)rand() % n].id;
		if (op < 20) {
			struct store_profile_info i;

			store_profile_get(s, pick, &i);
			log_line(fd, "B %lu E %s\n", opno, i.iccid);
			if (store_profile_enable(s, pick) < 0)
				die("enable: %s", store_errmsg(s));
			log_line(fd, "D %lu\n", opno);
		} else if (op < 25 && n > 3) {
			struct store_profile_info i;

			store_profile_get(s, pick, &i);
			log_line(fd, "B %lu X %s\n", opno, i.iccid);
			if (store_profile_delete(s, pick) < 0)
				die("delete: %s", store_errmsg(s));
			log_line(fd, "D %lu\n", opno);
			if (pick == cur_id) {
				usim_profile_free(cur);
				cur = NULL;
				cur_id = -1;
			}
		} else if (op < 35) {
			/* Two EFs updated over the air in one transaction. */
			struct store_profile_info i;
			struct usim_profile *ft = NULL;
			uint8_t a[40], b[16];
			int idx[2];

			if (store_profile_load_files(s, pick, &ft) < 0)
				die("load files: %s", store_errmsg(s));
			upd_files(ft, idx);
			usim_profile_free(ft);
			for (size_t j = 0; j < sizeof(a); j++)
				a[j] = upd_byte(opno, 0, j);
			for (size_t j = 0; j < sizeof(b); j++)
				b[j] = upd_byte(opno, 1, j);
			store_profile_get(s, pick, &i);
			log_line(fd, "B %lu F %s\n", opno, i.iccid);
			if (store_profile_update_files(s, pick, (const struct usim_file_update[]){
					{ idx[0], a, sizeof(a) }, { idx[1], b, sizeof(b) } }, 2) < 0)
				die("update files: %s", store_errmsg(s));
			log_line(fd, "D %lu\n", opno);
			if (pick == cur_id) { /* the cached model is stale now */
				usim_profile_free(cur);
				cur = NULL;
				cur_id = -1;
			}
		} else {
			/* An SQN step with an EF update and a PIN counter, as
			 * one batch of change records. */
			struct store_profile_info i;
			struct usim_change ch[3];
			unsigned ind = (unsigned)rand() % NIND;
			int ef, pin;

			if (store_profile_enabled(s, &i) < 0)
				i.id = pick;
			if (i.id != cur_id) {
				usim_profile_free(cur);
				cur = NULL;
				if (store_profile_load(s, i.id, &cur) < 0)
					die("load: %s", store_errmsg(s));
				cur_id = i.id;
			}
			store_profile_get(s, cur_id, &i);
			ef = ef_index(cur);
			pin = pin2_index(cur);
			cur->sqn.seq_ms[ind] += 1 + (unsigned)rand() % 3;
			cur->files[ef].data[0] = (uint8_t)(opno & 0xff);
			cur->files[ef].data[1] = (uint8_t)(opno >> 8 & 0xff);
			cur->pins[pin].tries_left = (uint8_t)(opno % 4);
			ch[0] = (struct usim_change){ .kind = USIM_CHANGE_SQN, .index = ind };
			ch[1] = (struct usim_change){ .kind = USIM_CHANGE_EF,
						      .index = (uint32_t)ef, .len = 2 };
			ch[2] = (struct usim_change){ .kind = USIM_CHANGE_PIN,
						      .index = (uint32_t)pin };
			log_line(fd, "B %lu S %s %u %" PRIu64 " %lu\n", opno, i.iccid, ind,
				 cur->sqn.seq_ms[ind], opno);
			if (store_apply(s, cur_id, cur, ch, 3, 0) < 0)
				die("apply: %s", store_errmsg(s));
			log_line(fd, "D %lu\n", opno);
		}
	}
}

/* ---- check ---- */

struct mprof {
	char iccid[STORE_ICCID_MAX + 1];
	uint64_t sqn[NIND];
	long last_s; /* opno of the last S op, -1 none */
	long last_f; /* opno of the last F op, -1 none */
};

struct model {
	struct mprof p[MAXP * 4];
	size_t n;
	int enabled; /* index or -1 */
};

struct op {
	unsigned long no;
	char kind;
	char iccid[STORE_ICCID_MAX + 1];
	unsigned ind;
	uint64_t seq;
	long s_no;
};

static int mfind(const struct model *m, const char *iccid)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->p[i].iccid, iccid))
			return (int)i;
	return -1;
}

static void mapply(struct model *m, const struct op *o)
{
	int i = mfind(m, o->iccid);

	switch (o->kind) {
	case 'I':
		if (i >= 0 || m->n == ARRAY_SIZE(m->p))
			die("log: install of %s twice", o->iccid);
		memset(&m->p[m->n], 0, sizeof(m->p[0]));
		snprintf(m->p[m->n].iccid, sizeof(m->p[0].iccid), "%s", o->iccid);
		m->p[m->n].last_f = -1;
		m->p[m->n++].last_s = -1;
		break;
	case 'E':
		m->enabled = i;
		break;
	case 'X':
		if (i < 0)
			die("log: delete of unknown %s", o->iccid);
		if (m->enabled == i)
			m->enabled = -1;
		else if (m->enabled == (int)m->n - 1)
			m->enabled = i;
		m->p[i] = m->p[--m->n];
		break;
	case 'F':
		if (i < 0)
			die("log: file update on unknown %s", o->iccid);
		m->p[i].last_f = (long)o->no;
		break;
	case 'S':
		if (i < 0)
			die("log: SQN on unknown %s", o->iccid);
		m->p[i].sqn[o->ind] = o->seq;
		m->p[i].last_s = o->s_no;
		break;
	}
}

/* Compares store and model; returns NULL when equal, else a reason. */
static const char *compare(struct store *s, const struct model *m, char *buf,
			   size_t size)
{
	struct store_profile_info *list = NULL, en;
	size_t n = 0;
	const char *why = NULL;

	if (store_profile_list(s, &list, &n) < 0)
		die("list: %s", store_errmsg(s));
	if (n != m->n) {
		snprintf(buf, size, "%zu profiles in the store, %zu in the log", n, m->n);
		why = buf;
	}
	for (size_t i = 0; !why && i < n; i++) {
		int j = mfind(m, list[i].iccid);
		struct usim_profile *p = NULL;
		int ef, pin;

		if (j < 0) {
			snprintf(buf, size, "%s in the store, not in the log", list[i].iccid);
			why = buf;
			break;
		}
		if (store_profile_load(s, list[i].id, &p) < 0)
			die("half profile? %s: %s", list[i].iccid, store_errmsg(s));
		for (unsigned k = 0; !why && k < NIND; k++)
			if (p->sqn.seq_ms[k] != m->p[j].sqn[k]) {
				snprintf(buf, size, "%s SEQ_MS(%u) = %" PRIu64 ", log says %"
					 PRIu64, list[i].iccid, k, p->sqn.seq_ms[k],
					 m->p[j].sqn[k]);
				why = buf;
			}
		ef = ef_index(p);
		pin = pin2_index(p);
		if (!why && m->p[j].last_s >= 0) {
			long no = m->p[j].last_s;

			if (p->files[ef].data[0] != (uint8_t)(no & 0xff) ||
			    p->files[ef].data[1] != (uint8_t)(no >> 8 & 0xff) ||
			    p->pins[pin].tries_left != (uint8_t)(no % 4)) {
				snprintf(buf, size, "%s: EF/PIN of op %ld missing",
					 list[i].iccid, no);
				why = buf;
			}
		}
		if (!why && m->p[j].last_f >= 0) {
			int idx[2];

			upd_files(p, idx);
			for (int f = 0; f < 2 && !why; f++)
				for (size_t k = 0; k < p->files[idx[f]].size; k++)
					if (p->files[idx[f]].data[k] !=
					    upd_byte((unsigned long)m->p[j].last_f, f, k)) {
						snprintf(buf, size, "%s: %s of update %ld missing",
							 list[i].iccid, f ? "EF.OPL" : "EF.PLMNwAcT",
							 m->p[j].last_f);
						why = buf;
						break;
					}
		}
		usim_profile_free(p);
	}
	if (!why) {
		int r = store_profile_enabled(s, &en);

		if (r < 0 && m->enabled >= 0) {
			snprintf(buf, size, "none enabled, log says %s",
				 m->p[m->enabled].iccid);
			why = buf;
		} else if (r >= 0 && (m->enabled < 0 ||
				      strcmp(en.iccid, m->p[m->enabled].iccid))) {
			snprintf(buf, size, "%s enabled, log says %s", en.iccid,
				 m->enabled >= 0 ? m->p[m->enabled].iccid : "none");
			why = buf;
		}
	}
	free(list);
	return why;
}

/*
 * A kill can land inside the write() of a log line: the kernel copies a
 * write to a regular file page by page and stops at a pending SIGKILL
 * between pages, so a line that crosses a page boundary can be cut.  Such a
 * torn last line is a "B" whose store call never started (log_line returns
 * before it): drop it, as the process never finished saying it.
 */
static void drop_torn_line(const char *logpath)
{
	_cleanup_close_ int fd = open(logpath, O_RDWR | O_CLOEXEC);
	char c;
	off_t end, at;

	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) <= 0)
		return;
	for (at = end; at > 0; at--)
		if (pread(fd, &c, 1, at - 1) != 1 || c == '\n')
			break;
	if (at != end && ftruncate(fd, at) < 0)
		die("log: cannot drop a torn line: %m");
}

static int check(const char *db, const char *logpath)
{
	_cleanup_store_ struct store *s = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	struct model *m = calloc(1, sizeof(*m)), *m2 = calloc(1, sizeof(*m2));
	struct op pending = { 0 };
	bool have_pending = false;
	char line[256], why[256], b1[256], b2[256];
	unsigned long done_ops = 0;
	const char *w1, *w2;
	int fd;

	if (!m || !m2)
		die("oom");
	m->enabled = -1;
	drop_torn_line(logpath);
	f = fopen(logpath, "re");
	while (f && fgets(line, sizeof(line), f)) {
		struct op o = { 0 };
		unsigned long no;
		int fate;

		if (line[0] == 'B') {
			if (have_pending)
				die("log: op %lu begun while %lu unresolved", o.no, pending.no);
			if (sscanf(line, "B %lu %c %20s %u %" SCNu64 " %ld", &o.no, &o.kind,
				   o.iccid, &o.ind, &o.seq, &o.s_no) < 3)
				die("log: bad line %s", line);
			pending = o;
			have_pending = true;
		} else if (line[0] == 'D' || line[0] == 'R') {
			if (line[0] == 'D' ? sscanf(line, "D %lu", &no) != 1
					   : sscanf(line, "R %lu %d", &no, &fate) != 2)
				die("log: bad line %s", line);
			if (!have_pending || no != pending.no)
				die("log: %c %lu without its B", line[0], no);
			if (line[0] == 'D' || fate)
				mapply(m, &pending);
			done_ops += line[0] == 'D';
			have_pending = false;
		}
	}
	if (store_open(db, &sealer, &s, why, sizeof(why)) < 0)
		die("open: %s", why);
	if (store_check(s) < 0)
		die("store_check: %s", store_errmsg(s));
	*m2 = *m;
	w1 = compare(s, m, b1, sizeof(b1));
	if (have_pending)
		mapply(m2, &pending);
	w2 = have_pending ? compare(s, m2, b2, sizeof(b2)) : w1;
	if (w1 && w2)
		die("LOST: %s%s%s", w1, have_pending ? " / with in-flight op: " : "",
		    have_pending ? w2 : "");
	if (have_pending) {
		fd = open(logpath, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			die("log: %m");
		log_line(fd, "R %lu %d\n", pending.no, w1 ? 1 : 0);
		close(fd);
	}
	printf("consistent: %zu profiles, %lu operations done, in-flight %s\n",
	       (w1 ? m2 : m)->n, done_ops,
	       have_pending ? (w1 ? "committed" : "not committed") : "none");
	free(m);
	free(m2);
	return 0;
}

static int audit_count(const char *db, const char *event)
{
	_cleanup_store_ struct store *s = NULL;
	struct store_audit_entry *a = NULL;
	char why[256];
	size_t n = 0, k = 0;

	if (store_open(db, NULL, &s, why, sizeof(why)) < 0)
		die("open: %s", why);
	if (store_check(s) < 0)
		die("store_check: %s", store_errmsg(s));
	if (store_audit_list(s, STORE_AUDIT_KEEP, &a, &n) < 0)
		die("audit: %s", store_errmsg(s));
	for (size_t i = 0; i < n; i++)
		k += !strcmp(a[i].event, event);
	free(a);
	printf("%zu\n", k);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "run"))
		return run(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "check"))
		return check(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "audit"))
		return audit_count(argv[2], argv[3]);
	fprintf(stderr, "usage: store-crash run DB LOG SEED | check DB LOG | audit DB EVENT\n");
	return 2;
}
