// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The card and its slots: the USIM engine (daemon/usim/usim.h) over the
 * enabled profile with its K in the TPM (tre-aka.h), the vusim.ko slots
 * (lib/vusim-nl.h, docs/vusim-abi.md) served from the epoll loop, and the
 * rule of usim.h: every change record of a command is committed with
 * store_apply() before its response leaves (docs/store.md "Durability").
 *
 * Slots: mcimd claims the orphaned slots it finds (a previous mcimd that
 * exited or crashed left them, the modem keeps its /dev/vusimN open) and
 * adds new ones up to [slots] count.  The card of the enabled profile goes
 * into slot 0 (the store enables at most one profile); the other slots stay
 * empty.  With [slots] count = 0 the card runs detached: only the `apdu`
 * control method reaches it (tests, diagnostics).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/tre/tre-aka.h"
#include "vusim-nl.h"

struct mcimd_card {
	int64_t id;
	char iccid[STORE_ICCID_MAX + 1];
	struct usim_profile *profile;
	struct tre_key *key;
	struct aka_key aka;
	struct usim_engine *engine;
	/* A REFRESH file change notification awaits a successful TERMINAL
	 * RESPONSE; the switch timer resets the card when it fires. */
	bool fcn;
};

/*
 * Keeps the pages of the card's profile (OPc/TOPc, PIN and PUK values) in
 * RAM and out of core dumps (docs/security.md); usim_profile_free() wipes
 * them.  Best effort: RLIMIT_MEMLOCK may refuse the lock.
 */
static void lock_secrets(void *p, size_t n, bool lock)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(page - 1);
	size_t len = (((uintptr_t)p + n + page - 1) & ~(page - 1)) - a;

	if (!lock) {
		munlock((void *)a, len);
		return;
	}
	if (mlock((void *)a, len) < 0)
		log_warning("mlock of the card's secrets: %m ([Service] LimitMEMLOCK)");
	madvise((void *)a, len, MADV_DONTDUMP);
}

static void card_free(struct mcimd_card *c)
{
	if (!c)
		return;
	usim_engine_free(c->engine);
	if (c->profile)
		lock_secrets(c->profile, sizeof(*c->profile), false);
	usim_profile_free(c->profile); /* wipes OPc and PIN values */
	tre_key_free(c->key);          /* flushes the TPM object */
	free(c);
}

/* Builds the card of the enabled profile from the store. */
static int card_load(struct mcimd *d, struct mcimd_card **ret)
{
	struct store_profile_info info;
	struct mcimd_card *c;
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len = 0;
	int r;

	r = store_profile_enabled(d->store, &info);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->id = info.id;
	snprintf(c->iccid, sizeof(c->iccid), "%s", info.iccid);
	r = store_profile_load(d->store, info.id, &c->profile);
	if (r < 0) {
		log_error("profile %s: %s", info.iccid, store_errmsg(d->store));
		goto fail;
	}
	lock_secrets(c->profile, sizeof(*c->profile), true);
	r = store_blob_get(d->store, info.id, STORE_BLOB_KEY, &blob, &len);
	if (r < 0) {
		log_error("profile %s: no key blob: %s", info.iccid, store_errmsg(d->store));
		goto fail;
	}
	r = mcimd_tpm_key(d, blob, len, &c->key);
	if (r < 0) {
		log_error("profile %s: loading K into the TPM: %s", info.iccid,
			  d->tre ? tre_errmsg(d->tre) : strerror(-r));
		goto fail;
	}
	r = tre_aka_key(c->key, &c->aka);
	if (r == 0 && d->cfg.atr_len) {
		memcpy(c->profile->atr, d->cfg.atr, d->cfg.atr_len);
		c->profile->atr_len = d->cfg.atr_len;
	}
	if (r == 0)
		r = usim_engine_new(c->profile, &c->aka, &c->engine);
	if (r == 0)
		r = usim_engine_set_transport(c->engine,
					      (enum usim_transport)d->cfg.slot_transport);
	if (r < 0) {
		log_error("profile %s: the card engine: %s", info.iccid, strerror(-r));
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	card_free(c);
	return r;
}

static void trace_atr(struct mcimd *d, const uint8_t *atr, size_t len)
{
	if (d->trace)
		gsmtap_send_atr(d->trace, 0, atr, len);
}

static int card_insert(struct mcimd *d)
{
	uint8_t atr[USIM_ATR_MAX];
	size_t atr_len = 0;
	int r;

	if (!d->card)
		return 0;
	if (d->n_slots == 0) {
		log_notice("card %s ready, detached (no slot)", d->card->iccid);
		return 0;
	}
	r = usim_engine_reset(d->card->engine, USIM_RESET_COLD, atr, sizeof(atr), &atr_len);
	if (r == 0)
		r = vusim_nl_card_insert(d->nl, d->slots[0].index, atr, atr_len);
	if (r < 0) {
		log_error("slot 0 (/dev/vusim%u): inserting the card: %s %s", d->slots[0].index,
			  strerror(-r), vusim_nl_error(d->nl));
		return r;
	}
	d->slots[0].card = true;
	trace_atr(d, atr, atr_len);
	log_notice("card %s inserted in /dev/vusim%u", d->card->iccid, d->slots[0].index);
	return 0;
}

/* Why no card can be served now (NULL: one can). */
static const char *card_blocked_why(const struct mcimd *d)
{
	if (!d->tre)
		return "no TPM";
	if (d->tamper_recorded)
		return "a tamper event recorded before this start (it outlives restarts)";
	if (d->tampered)
		return "a tamper event since mcimd started";
	if (!d->platform_ok)
		return "the platform state (PCRs) is not the approved one";
	if (d->store_frozen)
		return "the store's state key cannot be unsealed";
	return NULL;
}

int mcimd_card_start(struct mcimd *d)
{
	int r;

	if (d->card)
		return 0;
	if (card_blocked_why(d))
		return -ENODEV;
	r = card_load(d, &d->card);
	if (r == -ENOENT) {
		log_info("no enabled profile: the slot stays empty");
		return 0;
	}
	if (r < 0)
		return r;
	return card_insert(d);
}

static void switch_timer_set(struct mcimd *d, unsigned ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000 } };

	if (d->switch_timer.fd >= 0)
		timerfd_settime(d->switch_timer.fd, 0, &its, NULL);
}

void mcimd_card_stop(struct mcimd *d, const char *why)
{
	int r;

	card_free(d->next_card);
	d->next_card = NULL;
	switch_timer_set(d, 0);

	if (d->n_slots && d->slots[0].card) {
		r = vusim_nl_card_remove(d->nl, d->slots[0].index);
		if (r < 0 && r != -ENOMEDIUM)
			log_error("removing the card from /dev/vusim%u: %s", d->slots[0].index,
				  strerror(-r));
		d->slots[0].card = false;
	}
	if (d->card)
		log_notice("card %s removed (%s)", d->card->iccid, why);
	card_free(d->card);
	d->card = NULL;
}

int mcimd_card_restart(struct mcimd *d, const char *why)
{
	mcimd_card_stop(d, why);
	return mcimd_card_start(d);
}

/* TS 102 223 5.2: TERMINAL PROFILE byte 3 b8 = REFRESH supported. */
static bool terminal_refreshes(struct mcimd_card *c)
{
	size_t len = 0;
	const uint8_t *tp = usim_engine_terminal_profile(c->engine, &len);

	return tp && len >= 3 && (tp[2] & 0x80);
}

int mcimd_card_switch(struct mcimd *d)
{
	struct mcimd_card *next = NULL;
	int r;

	if (d->card && d->n_slots && d->slots[0].card && d->switch_timer.fd >= 0 &&
	    terminal_refreshes(d->card)) {
		r = card_load(d, &next);
		if (r == 0 && usim_engine_refresh(d->card->engine, USIM_REFRESH_UICC_RESET) == 0) {
			card_free(d->next_card);
			d->next_card = next;
			switch_timer_set(d, MCIMD_REFRESH_TIMEOUT_S * 1000);
			log_notice("profile switch to %s: proactive REFRESH (UICC reset) queued",
				   next->iccid);
			return 0;
		}
		card_free(next);
	}
	return mcimd_card_restart(d, "profile switch");
}

/* The terminal reset the card: a pending switch takes place now. */
static void switch_on_reset(struct mcimd *d)
{
	if (!d->next_card)
		return;
	card_free(d->card);
	d->card = d->next_card;
	d->next_card = NULL;
	switch_timer_set(d, 0);
	log_notice("card %s in /dev/vusim%u after the terminal's reset (REFRESH)",
		   d->card->iccid, d->slots[0].index);
}

enum mcimd_card_news mcimd_card_files_changed(struct mcimd *d, int64_t id,
					      const struct usim_file_update *u, size_t n,
					      enum usim_refresh_mode mode)
{
	struct mcimd_card *c = d->card;
	int r = -EOPNOTSUPP;

	if (!mcimd_card_uses(d, id))
		return MCIMD_CARD_NONE;
	/* A switch under way brings this profile's card from the store, or
	 * takes it away: only the card served now takes a REFRESH. */
	if (c->id == id && !d->next_card && d->switch_timer.fd >= 0 && terminal_refreshes(c))
		r = usim_engine_update_files(c->engine, mode, u, n);
	if (r == 0) {
		c->fcn = true;
		switch_timer_set(d, MCIMD_REFRESH_TIMEOUT_S * 1000);
		return MCIMD_CARD_REFRESH;
	}
	if (r != -EOPNOTSUPP)
		log_warning("card %s: no REFRESH for the update (%s): card reset", c->iccid,
			    strerror(-r));
	mcimd_card_restart(d, "files updated");
	return MCIMD_CARD_RESET;
}

/* The terminal answered the file change notification (a TERMINAL RESPONSE
 * result '0X' is "command performed", TS 102 223 8.12), or reset the card. */
static void fcn_answered(struct mcimd *d, const struct usim_change *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].kind != USIM_CHANGE_PROACTIVE || ch[i].record != 1 || !d->card->fcn)
			continue;
		if (ch[i].offset < 0x10) {
			d->card->fcn = false;
			switch_timer_set(d, 0);
			log_notice("card %s: the terminal performed the REFRESH (result %02X)",
				   d->card->iccid, ch[i].offset);
		} else {
			log_notice("card %s: the terminal answered the REFRESH with result %02X: "
				   "card reset", d->card->iccid, ch[i].offset);
			switch_timer_set(d, 1); /* after this response */
		}
	}
}

static void on_switch_timer(struct loop_source *src, uint32_t events)
{
	struct mcimd *d = (struct mcimd *)((char *)src - offsetof(struct mcimd, switch_timer));
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (!d->next_card && d->card && d->card->fcn) {
		log_notice("card %s: the REFRESH (file change) was not performed: card reset",
			   d->card->iccid);
		mcimd_card_restart(d, "files updated, REFRESH not performed");
		return;
	}
	if (!d->next_card)
		return;
	log_notice("the terminal did not act upon the REFRESH in %u s: removing the card",
		   MCIMD_REFRESH_TIMEOUT_S);
	mcimd_card_restart(d, "REFRESH not acted upon");
}

const char *mcimd_card_iccid(const struct mcimd *d)
{
	return d->card ? d->card->iccid : NULL;
}

int64_t mcimd_card_profile(const struct mcimd *d)
{
	return d->card && !d->next_card ? d->card->id : -1;
}

bool mcimd_card_uses(const struct mcimd *d, int64_t id)
{
	return (d->card && d->card->id == id) || (d->next_card && d->next_card->id == id);
}

const char *mcimd_card_absent_why(const struct mcimd *d, int64_t id)
{
	const char *why;

	if (mcimd_card_uses(d, id))
		return NULL;
	why = card_blocked_why(d);
	return why ? why : "the card did not start (see mcimd's log)";
}

/*
 * One command through the engine; its change records are durable before
 * this returns 0 (usim.h, store_apply()).  On a failed commit the response
 * is withheld (-EIO) and the card rebuilt from the store, whose state is
 * then the truth (the engine had already advanced in memory).
 */
int mcimd_card_process(struct mcimd *d, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
		       size_t rsp_size, size_t *rsp_len)
{
	const struct usim_change *ch = NULL;
	size_t n = 0;
	unsigned flags = 0;
	int r;

	if (!d->card)
		return -ENOMEDIUM;
	r = usim_engine_process(d->card->engine, cmd, cmd_len, rsp, rsp_size, rsp_len, &ch, &n);
	if (r < 0)
		return r;
	if (n) {
		r = store_apply(d->store, d->card->id, d->card->profile, ch, n, flags);
		if (r < 0) {
			struct mcimd_card *fresh = NULL;

			log_error("card %s: commit failed, response withheld: %s", d->card->iccid,
				  store_errmsg(d->store));
			if (card_load(d, &fresh) == 0) {
				card_free(d->card);
				d->card = fresh;
			} else {
				mcimd_card_stop(d, "store failure");
			}
			return -EIO;
		}
		/* An SQN above the ceiling moved it: the TPM's counter first. */
		if (mcimd_rollback_sync(d) < 0) {
			mcimd_card_stop(d, "generation counter");
			return -EIO;
		}
		fcn_answered(d, ch, n);
	}
	/* AUTHENTICATE accepted a fresh SQN (MAC and SQN verified, RES
	 * returned, now durable): a switch's proof (switch.c). */
	for (size_t i = 0; i < n; i++)
		if (ch[i].kind == USIM_CHANGE_SQN) {
			mcimd_switch_proof(d, d->card->id);
			break;
		}
	if (d->trace)
		gsmtap_send_apdu_masked(d->trace, 0, cmd, cmd_len, rsp, *rsp_len,
					gsmtap_key_data(d->card->profile->files,
							d->card->profile->n_files, cmd, cmd_len,
							rsp, *rsp_len, ch, n));
	return 0;
}

/* ---- vusim.ko requests ---- */

static int on_apdu(void *userdata, uint32_t slot, const uint8_t *cmd, size_t cmd_len,
		   uint8_t *rsp, size_t *rsp_len)
{
	struct mcimd *d = userdata;

	if (!d->n_slots || slot != d->slots[0].index || !d->slots[0].card)
		return -ENOMEDIUM;
	return mcimd_card_process(d, cmd, cmd_len, rsp, VUSIM_APDU_MAX, rsp_len);
}

static int on_power(void *userdata, uint32_t slot, uint8_t op, uint8_t *atr, size_t *atr_len)
{
	struct mcimd *d = userdata;
	int r;

	if (!d->n_slots || slot != d->slots[0].index || !d->card)
		return -ENOMEDIUM;
	switch (op) {
	case VUSIM_POWER_OFF:
		log_debug("card powered off");
		return 0;
	case VUSIM_POWER_ON:
	case VUSIM_POWER_COLD_RESET:
	case VUSIM_POWER_WARM_RESET:
		switch_on_reset(d);
		r = usim_engine_reset(d->card->engine,
				      op == VUSIM_POWER_WARM_RESET ? USIM_RESET_WARM
								   : USIM_RESET_COLD,
				      atr, VUSIM_ATR_MAX, atr_len);
		/* A reset reads every file again: a fetched REFRESH is moot. */
		if (d->card->fcn && !usim_engine_proactive_pending(d->card->engine)) {
			d->card->fcn = false;
			switch_timer_set(d, 0);
		}
		if (r == 0)
			trace_atr(d, atr, *atr_len);
		return r;
	default:
		return -EOPNOTSUPP;
	}
}

static void on_netlink(struct loop_source *src, uint32_t events)
{
	static const struct vusim_backend_ops ops = { .apdu = on_apdu, .power = on_power };
	struct mcimd *d = (struct mcimd *)((char *)src - offsetof(struct mcimd, nl_src));
	int r;

	(void)events;
	r = vusim_nl_serve(d->nl, &ops, d, 0);
	if (r < 0 && r != -EINTR)
		log_warning("vusim: serving requests: %s", strerror(-r));
}

struct orphans {
	uint32_t slot[CONFIG_MAX_SLOTS];
	unsigned n;
};

static int collect_orphan(const struct vusim_slot_info *info, void *userdata)
{
	struct orphans *o = userdata;

	if (!info->backend && o->n < CONFIG_MAX_SLOTS)
		o->slot[o->n++] = info->slot;
	return 0;
}

/* The timer of REFRESHes not acted upon (also for a detached card). */
static void switch_timer_open(struct mcimd *d)
{
	d->switch_timer = (struct loop_source){
		.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
		.dispatch = on_switch_timer,
	};
	if (d->switch_timer.fd >= 0 && loop_add(d->loop, &d->switch_timer, EPOLLIN) < 0) {
		close(d->switch_timer.fd);
		d->switch_timer.fd = -1; /* switches and updates then remove the card */
	}
}

int mcimd_slots_open(struct mcimd *d)
{
	struct orphans o = { .n = 0 };
	unsigned next = 0;
	int r;

	if (d->cfg.slot_count == 0) {
		switch_timer_open(d);
		return 0;
	}
	r = vusim_nl_open(&d->nl);
	if (r < 0) {
		log_error("vusim driver: %s%s: serving no slot", strerror(-r),
			  r == -ENOENT ? " (is vusim.ko loaded?)" : "");
		d->nl = NULL;
		return r;
	}
	r = vusim_nl_slot_dump(d->nl, collect_orphan, &o);
	if (r < 0)
		log_warning("vusim: listing slots: %s", strerror(-r));
	for (unsigned i = 0; i < d->cfg.slot_count; i++) {
		uint32_t s;

		r = -ENOENT;
		/* An orphan is a slot of a previous mcimd: the modem keeps it open. */
		while (r < 0 && next < o.n) {
			s = o.slot[next++];
			r = vusim_nl_slot_claim(d->nl, s, 0);
			if (r < 0)
				log_warning("vusim: claiming slot %u: %s", s, strerror(-r));
			else
				log_notice("claimed orphaned slot /dev/vusim%u", s);
		}
		if (r < 0) {
			r = vusim_nl_slot_add(d->nl, 0, 0, &s);
			if (r < 0) {
				log_error("vusim: adding a slot: %s %s", strerror(-r),
					  vusim_nl_error(d->nl));
				break;
			}
			log_notice("added slot /dev/vusim%u", s);
		}
		d->slots[d->n_slots++] = (struct mcimd_slot){ .index = s };
	}
	if (d->n_slots == 0) {
		vusim_nl_close(d->nl);
		d->nl = NULL;
		return r;
	}
	d->nl_src = (struct loop_source){ .fd = vusim_nl_fd(d->nl), .dispatch = on_netlink };
	r = loop_add(d->loop, &d->nl_src, EPOLLIN);
	if (r < 0) {
		log_error("event loop: %s", strerror(-r));
		return r;
	}
	switch_timer_open(d);
	return 0;
}

void mcimd_slots_close(struct mcimd *d)
{
	if (d->switch_timer.fd >= 0) {
		loop_del(d->loop, &d->switch_timer);
		close(d->switch_timer.fd);
		d->switch_timer.fd = -1;
	}
	if (!d->nl)
		return;
	loop_del(d->loop, &d->nl_src);
	/* Closing the socket orphans the slots, for the next mcimd. */
	vusim_nl_close(d->nl);
	d->nl = NULL;
	d->n_slots = 0;
}

struct json_object *mcimd_slots_json(struct mcimd *d)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < d->n_slots; i++) {
		struct json_object *o = json_object_new_object();
		char dev[32];

		snprintf(dev, sizeof(dev), "/dev/vusim%u", d->slots[i].index);
		json_object_object_add(o, "index", json_object_new_int((int)i));
		json_object_object_add(o, "device", json_object_new_string(dev));
		json_object_object_add(o, "card", json_object_new_string(
						  d->slots[i].card ? "present" : "absent"));
		json_object_object_add(o, "iccid", i == 0 && d->slots[i].card && d->card
						   ? json_object_new_string(d->card->iccid)
						   : NULL);
		json_object_array_add(a, o);
	}
	return a;
}
