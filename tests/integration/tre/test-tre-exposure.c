/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key exposure: the parent (acting as the operator) makes K_a (mode a, AES
 * key) and K_b (mode b, sealed), imports them and writes only the blobs and
 * approved policy to a directory, then starts this program again as a child
 * ("child DIR"), the stand-in for mcimd, which never sees K.  After many
 * authentications the parent scans every readable mapping of the child
 * through /proc/PID/mem:
 *   mode a: K_a's bytes never appear;
 *   mode b: K_b is absent after the computations, and present while the
 *           child is paused inside one (which also shows the scan works).
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "daemon/aka/aka.h"
#include "daemon/tre/tre-aka.h"
#include "tre-test.h"

#define AUTHS 200

struct shared {
	struct tre_policy pol;
	uint8_t opc[16];
};

static int to_parent = -1, from_parent = -1;

static int file_rw(const char *dir, const char *name, void *p, size_t n, bool write)
{
	char path[4096];
	FILE *f;
	size_t r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, write ? "wbe" : "rbe");
	if (!f)
		return -errno;
	r = write ? fwrite(p, n, 1, f) : fread(p, n, 1, f);
	fclose(f);
	return r == 1 ? 0 : -EIO;
}

static void say(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		exit(3);
}

static char hear(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1)
		return 0;
	return c;
}

/* ---- child: the daemon stand-in ---- */

static int pause_inside(const uint8_t *s _unused_, size_t len _unused_, void *ud _unused_)
{
	say(to_parent, 'P'); /* K is in the locked buffer now */
	return hear(from_parent) == 'c' ? 0 : -EIO;
}

static int run_auths(struct tre_key *k, const uint8_t opc[16], unsigned n)
{
	struct aka_algo_config cfg = { .algo = AKA_ALGO_MILENAGE };
	struct aka_sqn_config sc;
	struct aka_sqn_state st = { 0 };
	struct aka_key key;
	unsigned done = 0;

	aka_milenage_params_default(&cfg.milenage);
	memcpy(cfg.milenage.opc, opc, 16);
	aka_sqn_config_default(&sc);
	if (tre_aka_key(k, &key) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		struct aka_auth_result r;
		uint8_t rand[16], autn[16];

		/* The network side would need K: here AUTN is random, so the
		 * MAC check fails, after all of f1..f5 ran on K. */
		tt_random(rand, 16);
		tt_random(autn, 16);
		if (aka_usim_authenticate(&cfg, &key, &sc, &st, rand, autn, 16, 0, &r) == 0 &&
		    r.status == AKA_STATUS_MAC_FAILURE)
			done++;
		aka_auth_result_wipe(&r);
	}
	return done == n ? 0 : -EIO;
}

static int child(const char *dir)
{
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *ka = NULL, *kb = NULL;
	struct tre_blob ba, bb;
	struct shared sh;
	int e;

	to_parent = 3;
	from_parent = 4;
	t = tt_open(NULL);
	e = file_rw(dir, "shared", &sh, sizeof(sh), false);
	if (e == 0)
		e = file_rw(dir, "a.blob", &ba, sizeof(ba), false);
	if (e == 0)
		e = file_rw(dir, "b.blob", &bb, sizeof(bb), false);
	if (e == 0)
		e = tre_key_load(t, &ba, &ka);
	if (e == 0)
		e = tre_key_set_policy(ka, &sh.pol);
	if (e == 0)
		e = tre_key_load(t, &bb, &kb);
	if (e == 0)
		e = tre_key_set_policy(kb, &sh.pol);
	if (e == 0)
		e = run_auths(ka, sh.opc, AUTHS);
	say(to_parent, e == 0 ? 'A' : 'E');
	if (hear(from_parent) != 'b')
		return 1;
	e = run_auths(kb, sh.opc, AUTHS / 4);
	say(to_parent, e == 0 ? 'B' : 'E');
	if (hear(from_parent) != 'p')
		return 1;
	e = tre_key_with_secret(kb, pause_inside, NULL);
	say(to_parent, e == 0 ? 'D' : 'E');
	hear(from_parent); /* until the parent is done */
	return 0;
}

/* ---- parent: the operator and the memory scanner ---- */

/* Counts the occurrences of needle in the readable mappings of pid. */
static long scan(pid_t pid, const uint8_t *needle, size_t n)
{
	char path[64], line[512];
	_cleanup_close_ int mem = -1;
	_cleanup_fclose_ FILE *maps = NULL;
	long hits = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
			continue;
		for (unsigned long off = lo; off < hi;) {
			static uint8_t buf[1 << 20];
			size_t want = MIN(sizeof(buf), hi - off);
			ssize_t got = pread(mem, buf, want, (off_t)off);

			if (got <= 0)
				break; /* [vvar] and friends */
			for (ssize_t i = 0; i + (ssize_t)n <= got; i++)
				if (buf[i] == needle[0] && !memcmp(buf + i, needle, n))
					hits++;
			/* overlap so a key across chunk ends is seen */
			off += (size_t)got > n ? (size_t)got - n + 1 : (size_t)got;
		}
	}
	return hits;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/mcim-expo.XXXXXX";
	int up[2], down[2];
	uint8_t ka_bytes[16], kb_bytes[16];
	struct shared sh;
	long hits;
	pid_t pid;
	int e, st;

	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(argv[2]);

	tt_random(ka_bytes, 16);
	tt_random(kb_bytes, 16);
	tt_random(sh.opc, 16);
	if (!mkdtemp(dir))
		return 1;
	{
		_cleanup_tre_ struct tre *t = tt_open(NULL);
		struct tt_operator op;
		struct tre_blob ba, bb;

		tt_operator_init(&op);
		e = tt_approve_now(t, &op, &sh.pol);
		if (e == 0)
			e = tt_import(t, &op, TRE_KIND_AES, ka_bytes, 16, &ba);
		if (e == 0)
			e = tt_import(t, &op, TRE_KIND_SEALED, kb_bytes, 16, &bb);
		if (e == 0)
			e = file_rw(dir, "shared", &sh, sizeof(sh), true);
		if (e == 0)
			e = file_rw(dir, "a.blob", &ba, sizeof(ba), true);
		if (e == 0)
			e = file_rw(dir, "b.blob", &bb, sizeof(bb), true);
		tt_operator_free(&op);
		if (!tap_ok(e == 0, "operator side: K_a and K_b wrapped and imported, blobs written"))
			return tap_end();
	} /* the TRE connection closes: swtpm serves one client at a time */

	if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		/* A new image: nothing of the parent's memory (and K) survives exec. */
		if (dup2(up[1], 3) < 0 || dup2(down[0], 4) < 0)
			_exit(127);
		execl("/proc/self/exe", argv[0], "child", dir, (char *)NULL);
		_exit(127);
	}
	close(up[1]);
	close(down[0]);

	tap_ok(hear(up[0]) == 'A', "child: %d MILENAGE authentications in mode a", AUTHS);
	hits = scan(pid, ka_bytes, 16);
	tap_ok(hits == 0, "mode a: K never appears in the daemon's memory (%ld hits)", hits);
	say(down[1], 'b');
	tap_ok(hear(up[0]) == 'B', "child: %d authentications in mode b", AUTHS / 4);
	hits = scan(pid, kb_bytes, 16);
	tap_ok(hits == 0, "mode b: K is not in the daemon's memory after the computations (%ld hits)",
	       hits);
	say(down[1], 'p');
	tap_ok(hear(up[0]) == 'P', "child paused inside a mode b computation");
	hits = scan(pid, kb_bytes, 16);
	tap_ok(hits >= 1, "mode b: during the computation K is in memory (%ld hit(s)): the scan sees it",
	       hits);
	say(down[1], 'c');
	tap_ok(hear(up[0]) == 'D', "computation finished");
	hits = scan(pid, kb_bytes, 16);
	tap_ok(hits == 0, "mode b: wiped right after the computation (%ld hits)", hits);
	say(down[1], 'q');
	close(down[1]);
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exited cleanly");
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	return tap_end();
}
