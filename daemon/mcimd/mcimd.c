// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimd: the device daemon (docs/man/mcimd.8).  This file is the main
 * program: options, configuration, the event loop with its signal and
 * timer sources, the store, the TPM, the slots, the control socket,
 * systemd readiness.
 *
 * Start: store (with the TRE's sealer), TPM (anti-rollback check: an older
 * store is refused, exit status 3), slots (claimed or added), the enabled
 * profile's card inserted, control socket, READY=1.
 *
 * Signals (signalfd): SIGTERM and SIGINT end the loop cleanly (card
 * removed, TPM objects flushed, control socket removed, store closed);
 * SIGHUP reloads the configuration: the log
 * level and the trace target take effect at once, the other keys at the
 * next start (a bad file is refused and the old configuration stays).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/mcimd/notify.h"

#define TICK_SECONDS 60 /* housekeeping: WAL checkpoint */

static void on_signal(struct loop_source *src, uint32_t events)
{
	struct mcimd *d = (struct mcimd *)((char *)src - offsetof(struct mcimd, signals));
	struct signalfd_siginfo si;
	struct mcimd_config cfg;
	char why[CONFIG_WHY_SIZE];

	(void)events;
	if (read(src->fd, &si, sizeof(si)) != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		log_notice("signal %u: shutting down", si.ssi_signo);
		notify_send("STOPPING=1");
		d->stop = true;
		break;
	case SIGHUP:
		notify_send("RELOADING=1");
		if (config_load(&cfg, d->config_path, why, sizeof(why)) < 0) {
			log_error("reload refused, keeping the old configuration: %s", why);
		} else {
			char dummy[CONTROL_WHY_SIZE];

			log_set_level(cfg.log_level);
			if (d->trace || cfg.trace_enabled)
				mcimd_trace_set(d, cfg.trace_enabled, cfg.trace_host,
						cfg.trace_port, dummy, sizeof(dummy));
			d->cfg = cfg;
			log_notice("configuration reloaded from %s", d->config_path);
		}
		notify_send("READY=1");
		break;
	}
}

static void on_tick(struct loop_source *src, uint32_t events)
{
	struct mcimd *d = (struct mcimd *)((char *)src - offsetof(struct mcimd, tick));
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (store_checkpoint(d->store) < 0)
		log_debug("store checkpoint: %s", store_errmsg(d->store));
	control_server_drop_idle(d->control);
	mcimd_bootstrap(d);
	mcimd_tamper_report_send(d);
	mcimd_switch_tick(d);
}

static int setup_signals(struct mcimd *d)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	d->signals = (struct loop_source){ .fd = fd, .dispatch = on_signal };
	return loop_add(d->loop, &d->signals, EPOLLIN);
}

static int setup_tick(struct mcimd *d)
{
	struct itimerspec its = { .it_interval = { TICK_SECONDS, 0 },
				  .it_value = { TICK_SECONDS, 0 } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -errno;
	}
	d->tick = (struct loop_source){ .fd = fd, .dispatch = on_tick };
	return loop_add(d->loop, &d->tick, EPOLLIN);
}

int mcimd_tamper_event(struct mcimd *d, const char *reason, bool revoke)
{
	int r = 0;

	d->tampered = true;
	if (d->tre) {
		/* Extends the PCR; the TRE's handler (tpm.c) removes the card. */
		r = tre_tamper(d->tre, reason, revoke ? TRE_TAMPER_REVOKE : 0);
		if (r < 0)
			log_error("TAMPER: the TPM: %s", tre_errmsg(d->tre));
	}
	mcimd_card_stop(d, "tamper");
	log_error("TAMPER: %s%s", reason, revoke ? " (epoch revoked: keys gone for good)" : "");
	if (store_audit(d->store, "tamper", NULL, reason) < 0 ||
	    /* The report the operator client sends (mcimd_tamper_report_send). */
	    store_audit(d->store, "tamper-report", NULL, "queued") < 0 ||
	    mcimd_tamper_report_queue(d, reason) < 0)
		log_error("audit: %s", store_errmsg(d->store));
	if (mcimd_tamper_persist(d) < 0 && r == 0)
		r = -EIO;
	mcimd_tamper_report_send(d);
	return r;
}

void mcimd_tamper(const char *reason, void *user_data)
{
	mcimd_tamper_event(user_data, reason, false);
}

static void release_heap(void *data)
{
	struct mcimd *d = data;

	d->trim_pending = false;
	malloc_trim(0);
}

void mcimd_release_heap(struct mcimd *d)
{
	if (!d->trim_pending && loop_defer(d->loop, release_heap, d) == 0)
		d->trim_pending = true;
}

static int group_id(const char *name, gid_t *ret)
{
	struct group *g = getgrnam(name);

	if (!g)
		return -ENOENT;
	*ret = g->gr_gid;
	return 0;
}

static int setup_control(struct mcimd *d)
{
	struct control_config cc = {
		.path = d->cfg.control_socket, .mode = 0660,
		.max_clients = d->cfg.max_clients,
		.max_per_uid = d->cfg.max_clients_per_user,
		.idle_ms = d->cfg.idle_timeout * 1000u,
	};
	int r;

	if (group_id(d->cfg.control_group, &cc.group) < 0) {
		log_error("%s: [control] group: no group '%s'", d->config_path,
			  d->cfg.control_group);
		return -ENOENT;
	}
	if (group_id(d->cfg.admin_group, &cc.admin_group) < 0) {
		log_warning("[control] admin_group: no group '%s': admin methods are "
			    "for root only", d->cfg.admin_group);
		cc.admin_group = (gid_t)-1;
	}
	r = control_server_new(&cc, d->loop, mcimd_handlers, d, &d->control);
	if (r < 0)
		log_error("control socket %s: %s", cc.path, strerror(-r));
	return r;
}

static int run(struct mcimd *d)
{
	char why[512];
	uint64_t gen = 0;
	int r;

	r = loop_new(&d->loop);
	if (r < 0)
		return r;
	r = setup_signals(d);
	if (r >= 0)
		r = setup_tick(d);
	if (r < 0) {
		log_error("event loop: %s", strerror(-r));
		return r;
	}
	r = store_open(d->cfg.store_path, mcimd_sealer(d), &d->store, why, sizeof(why));
	if (r < 0) {
		log_error("store: %s", why);
		return r;
	}
	store_generation(d->store, &gen);
	log_info("store %s, generation %llu", d->cfg.store_path, (unsigned long long)gen);
	r = mcimd_tpm_open(d);
	if (r == -ESTALE || r == -EBADMSG) {
		d->exit_code = 3;
		return r; /* a rolled-back store: never served */
	}
	if (r < 0 && d->tre) {
		log_error("TPM: cannot serve profiles: %s", strerror(-r));
		mcimd_tpm_close(d);
	}
	mcimd_slots_open(d);
	if (d->tre)
		mcimd_card_start(d);
	mcimd_bootstrap(d);
	r = setup_control(d);
	if (r < 0)
		return r;
	if (d->cfg.trace_enabled &&
	    mcimd_trace_set(d, true, d->cfg.trace_host, d->cfg.trace_port, why,
			    sizeof(why)) < 0)
		log_warning("trace: %s", why);
	if (d->cfg.tamper_input[0]) {
		r = tamper_input_open(d->loop, d->cfg.tamper_input, d->cfg.tamper_key,
				      mcimd_tamper, d, &d->tamper);
		if (r < 0) {
			/* A missing tamper sensor is itself suspicious. */
			log_error("tamper input %s: %s", d->cfg.tamper_input, strerror(-r));
			snprintf(why, sizeof(why), "tamper input %s cannot be opened",
				 d->cfg.tamper_input);
			mcimd_tamper(why, d);
		}
	}
	d->started = time(NULL);
	mcimd_provision_auto(d);
	mcimd_tamper_report_send(d); /* one queued before this start */
	if (mcimd_switch_open(d) < 0)
		log_error("switch: cannot set up its timer");
	malloc_trim(0); /* start-up's temporaries (mcimd_release_heap) */
	notify_send(d->card ? "READY=1\nSTATUS=serving the card"
			    : "READY=1\nSTATUS=serving the control socket, no card");
	log_notice("mcimd %s ready (control socket %s)", MCIM_VERSION,
		   d->cfg.control_socket);
	while (!d->stop) {
		r = loop_run_once(d->loop, -1);
		if (r < 0) {
			log_error("event loop: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

static void teardown(struct mcimd *d)
{
	mcimd_switch_close(d);
	mcimd_provision_close(d); /* answers a waiting client before it goes */
	control_server_free(d->control);
	tamper_input_free(d->tamper);
	mcimd_card_stop(d, "shutdown"); /* the modem sees the card go */
	mcimd_anchor_close(d);          /* the exact last state (docs/store.md) */
	mcimd_slots_close(d);
	mcimd_tpm_close(d);           /* flushes every TPM object */
	gsmtap_close(d->trace);
	store_close(d->store);
	if (d->loop) {
		loop_del(d->loop, &d->signals);
		loop_del(d->loop, &d->tick);
	}
	if (d->signals.fd >= 0)
		close(d->signals.fd);
	if (d->tick.fd >= 0)
		close(d->tick.fd);
	loop_free(d->loop);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: mcimd [-c FILE] [--check-config] [--version] [--help]\n"
		   "  -c, --config FILE   configuration (default %s)\n"
		   "  -t, --check-config  validate the configuration and exit\n",
		MCIMD_CONFIG_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct mcimd d;
	char why[CONFIG_WHY_SIZE];
	bool check = false;
	int o, r;

	d.config_path = MCIMD_CONFIG_PATH;
	while ((o = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			d.config_path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'V':
			printf("mcimd %s\n", MCIM_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	r = config_load(&d.cfg, d.config_path, why, sizeof(why));
	/* The default file may be absent: then the defaults apply. */
	if (r == -ENOENT && !strcmp(d.config_path, MCIMD_CONFIG_PATH) && !check) {
		config_defaults(&d.cfg);
	} else if (r < 0) {
		fprintf(stderr, "mcimd: %s\n", why);
		return 1;
	}
	if (check) {
		gid_t gid;

		/* What setup_control() will look up. */
		if (group_id(d.cfg.control_group, &gid) < 0) {
			fprintf(stderr, "mcimd: %s: [control] group: no group '%s'\n",
				d.config_path, d.cfg.control_group);
			return 1;
		}
		if (group_id(d.cfg.admin_group, &gid) < 0)
			fprintf(stderr, "mcimd: %s: [control] admin_group: no group '%s': admin "
				"methods will be for root only\n", d.config_path,
				d.cfg.admin_group);
		printf("%s: ok\n", d.config_path);
		return 0;
	}
	umask(0077);
	log_set_level(d.cfg.log_level);
	/* Secrets (OPc, PIN values, session and state keys) never reach a core
	 * dump, and no process of the same uid may read our memory
	 * (docs/security.md); the unit sets LimitCORE=0 as well. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warning("prctl(PR_SET_DUMPABLE): %m");
	if (setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 }) < 0)
		log_debug("setrlimit(RLIMIT_CORE): %m (the unit's LimitCORE=0 applies)");
	/* The algorithms are those of TPM 2.0 and TS 35.206, not the host's
	 * choice: openssl.cnf (or $OPENSSL_CONF) is not read, so it can neither
	 * change them nor load engines or providers into the daemon; and no
	 * OpenSSL error string is ever shown (docs/security.md). */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
				 OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL)) {
		log_error("OpenSSL initialisation failed");
		return 1;
	}
	d.signals.fd = d.tick.fd = d.switch_timer.fd = -1;
	r = run(&d);
	teardown(&d);
	log_notice("stopped");
	return r < 0 ? (d.exit_code ? d.exit_code : 1) : 0;
}
