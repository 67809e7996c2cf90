// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * http.h on libcurl's multi socket API (cu.multi_socket_action(3)):
 * CURLMOPT_SOCKETFUNCTION puts curl's sockets into the epoll loop (one
 * struct sock each), CURLMOPT_TIMERFUNCTION arms one timerfd; the
 * transfers that ended are collected with cu.multi_info_read() after
 * every action.  A retry's backoff is a timerfd of its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <curl/curl.h>
#include <dlfcn.h>

#include "daemon/mcimd/http.h"
#include "macro.h"

/*
 * libcurl is loaded at the first request, not linked: with its dependencies
 * (GnuTLS, Kerberos, LDAP, ...) it would add about 4 MiB to the resident
 * set of every mcimd, also of those that never talk to an operator
 * (tests/bench/README.md, mcimd.rss_8_profiles_kib).  Once loaded it stays.
 */
#define CURL_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *m);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption option, ...);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
	CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev_bitmask,
					 int *running_handles);
	CURLMsg *(*multi_info_read)(CURLM *m, int *msgs_in_queue);
	CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *sockp);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *e);
	CURLcode (*easy_setopt)(CURL *e, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu;

static int curl_load(char *why, size_t why_size)
{
	static bool loaded;
	void *h;

	if (loaded)
		return 0;
	h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, why_size, "cannot load %s: %s", CURL_SONAME, dlerror());
		return -ELIBACC;
	}
#define SYM(n)                                                                       \
	do {                                                                         \
		*(void **)&cu.n = dlsym(h, "curl_" #n);                              \
		if (!cu.n) {                                                         \
			snprintf(why, why_size, "%s lacks curl_" #n, CURL_SONAME);   \
			dlclose(h);                                                  \
			return -ELIBBAD;                                             \
		}                                                                    \
	} while (0)
	SYM(global_init);
	SYM(multi_init);
	SYM(multi_cleanup);
	SYM(multi_setopt);
	SYM(multi_add_handle);
	SYM(multi_remove_handle);
	SYM(multi_socket_action);
	SYM(multi_info_read);
	SYM(multi_assign);
	SYM(easy_init);
	SYM(easy_cleanup);
	SYM(easy_setopt);
	SYM(easy_getinfo);
	SYM(easy_strerror);
	SYM(slist_append);
	SYM(slist_free_all);
#undef SYM
	loaded = true;
	return 0;
}

struct sock {
	struct loop_source src; /* first: dispatch gets this pointer */
	struct http *h;
	struct sock *next_dead;
};

struct http_xfer {
	struct http *h;
	struct http_xfer *next;
	CURL *easy;
	struct curl_slist *headers;
	char *url, *body, *ca;
	size_t len;
	long timeout_s;
	unsigned retries, attempts;
	bool idempotent;
	size_t body_max;
	char *rsp;
	size_t rsp_len, rsp_cap;
	bool too_large;
	char errbuf[CURL_ERROR_SIZE];
	struct loop_source backoff; /* timerfd between attempts */
	http_done_fn done;
	void *user;
};

struct http {
	struct loop *loop;
	CURLM *multi;
	struct loop_source timer;
	struct sock *dead;  /* removed from the loop; freed after the dispatch */
	struct http_xfer *xfers;
};

static const char *const fail_names[] = {
	[HTTP_OK] = "ok",
	[HTTP_UNREACHABLE] = "unreachable",
	[HTTP_TLS] = "tls",
	[HTTP_TIMEOUT] = "timeout",
	[HTTP_TOO_LARGE] = "too-large",
	[HTTP_IO] = "io",
	[HTTP_LOCAL] = "local",
};

const char *http_fail_name(enum http_fail f)
{
	return (size_t)f < ARRAY_SIZE(fail_names) ? fail_names[f] : "?";
}

static void reap(struct http *h)
{
	while (h->dead) {
		struct sock *k = h->dead;

		h->dead = k->next_dead;
		free(k);
	}
}

static int arm(int fd, long ms)
{
	struct itimerspec its = { 0 };

	if (ms >= 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
		if (!ms)
			its.it_value.tv_nsec = 1; /* 0 would disarm */
	}
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void xfer_free(struct http_xfer *x)
{
	if (!x)
		return;
	if (x->easy) {
		cu.multi_remove_handle(x->h->multi, x->easy);
		cu.easy_cleanup(x->easy);
	}
	cu.slist_free_all(x->headers);
	if (x->backoff.fd >= 0) {
		loop_del(x->h->loop, &x->backoff);
		close(x->backoff.fd);
	}
	free(x->url);
	free(x->body);
	free(x->ca);
	free(x->rsp);
	free(x);
}

static void unlink_xfer(struct http_xfer *x)
{
	for (struct http_xfer **p = &x->h->xfers; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
}

static size_t on_write(char *data, size_t size, size_t n, void *user)
{
	struct http_xfer *x = user;
	size_t len = size * n;

	if (len > x->body_max - x->rsp_len) {
		x->too_large = true;
		return 0; /* CURLE_WRITE_ERROR: the transfer stops */
	}
	if (x->rsp_len + len + 1 > x->rsp_cap) {
		size_t cap = MAX(x->rsp_cap * 2, x->rsp_len + len + 1);
		char *p = realloc(x->rsp, MIN(cap, x->body_max + 1));

		if (!p)
			return 0;
		x->rsp = p;
		x->rsp_cap = MIN(cap, x->body_max + 1);
	}
	memcpy(x->rsp + x->rsp_len, data, len);
	x->rsp_len += len;
	x->rsp[x->rsp_len] = 0;
	return len;
}

#define SET(opt, val) (r = r ? r : cu.easy_setopt(e, opt, val))

static int start_attempt(struct http_xfer *x)
{
	CURL *e = cu.easy_init();
	CURLcode r = CURLE_OK;

	if (!e)
		return -ENOMEM;
	x->rsp_len = 0;
	x->too_large = false;
	x->errbuf[0] = 0;
	SET(CURLOPT_URL, x->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, x->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->len);
	SET(CURLOPT_HTTPHEADER, x->headers);
	SET(CURLOPT_USERAGENT, "mcimd/" MCIM_VERSION);
	/* The operator's root only: no CA directory, no system store. */
	SET(CURLOPT_CAINFO, x->ca);
	SET(CURLOPT_CAPATH, NULL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_TIMEOUT, x->timeout_s);
	SET(CURLOPT_CONNECTTIMEOUT, x->timeout_s);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_PRIVATE, x);
	if (r != CURLE_OK) {
		cu.easy_cleanup(e);
		return r == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	}
	if (cu.multi_add_handle(x->h->multi, e) != CURLM_OK) {
		cu.easy_cleanup(e);
		return -ENOMEM;
	}
	x->easy = e;
	x->attempts++;
	return 0;
}

_printf_(2, 3) static void say(struct http_response *rsp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rsp->why, sizeof(rsp->why), fmt, ap); /* truncated if need be */
	va_end(ap);
}

static void classify(struct http_xfer *x, CURLcode rc, struct http_response *rsp)
{
	const char *what = x->errbuf[0] ? x->errbuf : cu.easy_strerror(rc);

	switch (rc) {
	case CURLE_OK:
		rsp->fail = HTTP_OK;
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		rsp->fail = HTTP_UNREACHABLE;
		say(rsp, "cannot reach %s: %s", x->url, what);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		rsp->fail = HTTP_TLS;
		say(rsp, "TLS with %s failed (is it the operator of the pinned root %s?): %s",
		    x->url, x->ca, what);
		return;
	case CURLE_SSL_CACERT_BADFILE:
		rsp->fail = HTTP_LOCAL;
		say(rsp, "the pinned root %s cannot be used: %s", x->ca, what);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		rsp->fail = HTTP_TIMEOUT;
		say(rsp, "%s did not answer within %ld s", x->url, x->timeout_s);
		return;
	case CURLE_WRITE_ERROR:
		if (x->too_large) {
			rsp->fail = HTTP_TOO_LARGE;
			say(rsp, "the answer of %s is longer than %zu bytes", x->url, x->body_max);
			return;
		}
		rsp->fail = HTTP_LOCAL;
		say(rsp, "out of memory for the answer of %s", x->url);
		return;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		rsp->fail = HTTP_LOCAL;
		say(rsp, "%s: %s", x->url, what);
		return;
	default:
		rsp->fail = HTTP_IO;
		say(rsp, "exchange with %s failed: %s", x->url, what);
		return;
	}
}

/* The delay before another attempt, or -1: no retry. */
static long retry_delay(const struct http_xfer *x, const struct http_response *rsp)
{
	long backoff = MIN(1L << MIN(x->attempts - 1, 5u), (long)HTTP_BACKOFF_MAX);

	if (x->attempts > x->retries)
		return -1;
	switch (rsp->fail) {
	case HTTP_UNREACHABLE:
		return backoff;
	case HTTP_TIMEOUT:
	case HTTP_IO:
		return x->idempotent ? backoff : -1;
	case HTTP_OK:
		break;
	default:
		return -1;
	}
	switch (rsp->status) {
	case 429:
	case 503:
		if (rsp->retry_after > HTTP_RETRY_AFTER_MAX)
			return -1;
		return rsp->retry_after >= 0 ? rsp->retry_after : backoff;
	case 500:
	case 502:
	case 504:
		return x->idempotent ? backoff : -1;
	default:
		return -1;
	}
}

static void finish(struct http_xfer *x, CURLcode rc)
{
	struct http_response rsp = { .retry_after = -1 };
	curl_off_t ra = -1;
	long delay;

	classify(x, rc, &rsp);
	if (rsp.fail == HTTP_OK) {
		cu.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &rsp.status);
		/* Delta-seconds or an HTTP date; 0 when absent (or 0). */
		if (cu.easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			rsp.retry_after = ra > 86400 * 365 ? 86400 * 365 : (long)ra;
	}
	cu.multi_remove_handle(x->h->multi, x->easy);
	cu.easy_cleanup(x->easy);
	x->easy = NULL;
	delay = retry_delay(x, &rsp);
	if (delay >= 0 && arm(x->backoff.fd, delay * 1000) == 0)
		return; /* on_backoff() starts the next attempt */
	rsp.body = x->rsp ? x->rsp : (char *)"";
	rsp.len = x->rsp_len;
	rsp.attempts = x->attempts;
	unlink_xfer(x);
	x->done(x->user, &rsp);
	xfer_free(x);
}

static void check_done(struct http *h)
{
	CURLMsg *m;
	int left;

	while ((m = cu.multi_info_read(h->multi, &left))) {
		struct http_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x)
			finish(x, m->data.result);
	}
}

static void on_backoff(struct loop_source *src, uint32_t events)
{
	struct http_xfer *x = (struct http_xfer *)((char *)src - offsetof(struct http_xfer, backoff));
	struct http *h = x->h;
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	/* x may be freed here, inside its own backoff dispatch: loop_run_once()
	 * does not touch a source after its dispatch returned (loop.c). */
	if (start_attempt(x) < 0) {
		struct http_response rsp = { .fail = HTTP_LOCAL, .retry_after = -1,
					     .body = (char *)"", .attempts = x->attempts };

		say(&rsp, "%s: cannot start another attempt", x->url);
		unlink_xfer(x);
		x->done(x->user, &rsp);
		xfer_free(x);
	}
	reap(h);
}

static void on_sock(struct loop_source *src, uint32_t events)
{
	struct sock *k = (struct sock *)src;
	struct http *h = k->h;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	cu.multi_socket_action(h->multi, src->fd, flags, &running);
	check_done(h);
	reap(h);
}

static void on_timer(struct loop_source *src, uint32_t events)
{
	struct http *h = (struct http *)((char *)src - offsetof(struct http, timer));
	uint64_t n;
	int running;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	cu.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
	reap(h);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct sock *k = socketp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (k) {
			loop_del(h->loop, &k->src);
			k->next_dead = h->dead;
			h->dead = k;
			cu.multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	if (k)
		return loop_mod(h->loop, &k->src, ev) < 0 ? -1 : 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	k->src = (struct loop_source){ .fd = s, .dispatch = on_sock };
	k->h = h;
	if (loop_add(h->loop, &k->src, ev) < 0) {
		free(k);
		return -1;
	}
	cu.multi_assign(h->multi, s, k);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)m;
	return arm(h->timer.fd, timeout_ms) < 0 ? -1 : 0;
}

int http_new(struct loop *l, struct http **ret, char *why, size_t why_size)
{
	static bool initialised;
	struct http *h;
	int r;

	r = curl_load(why, why_size);
	if (r < 0)
		return r;
	/* Once: curl_global_init() is not for every client (curl_global_init(3)). */
	if (!initialised && cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, why_size, "libcurl failed to initialise");
		return -ENOMEM;
	}
	initialised = true;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = l;
	h->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	h->multi = cu.multi_init();
	if (h->timer.fd < 0 || !h->multi) {
		r = h->timer.fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	h->timer.dispatch = on_timer;
	r = loop_add(l, &h->timer, EPOLLIN);
	if (r < 0)
		goto fail;
	cu.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	cu.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	cu.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	cu.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*ret = h;
	return 0;
fail:
	if (h->multi)
		cu.multi_cleanup(h->multi);
	if (h->timer.fd >= 0)
		close(h->timer.fd);
	free(h);
	snprintf(why, why_size, "HTTP client: %s", strerror(-r));
	return r;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	while (h->xfers) {
		struct http_xfer *x = h->xfers;

		h->xfers = x->next;
		xfer_free(x);
	}
	cu.multi_cleanup(h->multi); /* removes the remaining sockets (socket_cb) */
	reap(h);
	loop_del(h->loop, &h->timer);
	close(h->timer.fd);
	free(h);
}

int http_post(struct http *h, const struct http_request *req, http_done_fn done, void *user,
	      struct http_xfer **ret)
{
	struct http_xfer *x;
	int r;

	if (!h || !req || !req->url || !req->ca || !done || !req->body_max || req->timeout_s < 1)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->h = h;
	x->backoff.fd = -1;
	x->url = strdup(req->url);
	x->ca = strdup(req->ca);
	x->body = malloc(req->len + 1);
	x->len = req->len;
	x->timeout_s = req->timeout_s;
	x->retries = req->retries;
	x->idempotent = req->idempotent;
	x->body_max = req->body_max;
	x->done = done;
	x->user = user;
	x->headers = cu.slist_append(NULL, "Content-Type: application/json");
	if (x->headers)
		x->headers = cu.slist_append(x->headers, "Accept: application/json");
	if (x->headers) /* no 100-continue round trip for the large evidence */
		x->headers = cu.slist_append(x->headers, "Expect:");
	if (!x->url || !x->ca || !x->body || !x->headers) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(x->body, req->body, req->len);
	x->body[req->len] = 0;
	x->backoff.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (x->backoff.fd < 0) {
		r = -errno;
		goto fail;
	}
	x->backoff.dispatch = on_backoff;
	r = loop_add(h->loop, &x->backoff, EPOLLIN);
	if (r < 0) {
		close(x->backoff.fd);
		x->backoff.fd = -1;
		goto fail;
	}
	r = start_attempt(x);
	if (r < 0)
		goto fail;
	x->next = h->xfers;
	h->xfers = x;
	if (ret)
		*ret = x;
	return 0;
fail:
	xfer_free(x);
	return r;
}

void http_cancel(struct http_xfer *x)
{
	if (!x)
		return;
	unlink_xfer(x);
	xfer_free(x);
}
