// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ifd-vusim: a pcsc-lite reader driver (IFD handler, API version 3 of
 * ifdhandler.h) for vusim.ko slots.  Each reader is one /dev/vusimN, opened
 * as the modem side of the slot (kernel/uapi/linux/vusim.h): a command APDU
 * is one write(), its response one read(); power and reset are the driver's
 * ioctls; card insertion and removal are EPOLLPRI on the device.
 *
 * Threading (pcscd's model): pcscd runs one event thread per reader that
 * calls our polling function (TAG_IFD_POLLING_THREAD_WITH_TIMEOUT) and then
 * IFDHICCPresence(); client threads call IFDHTransmitToICC(), IFDHPowerICC()
 * and the capability functions.  Each reader has a mutex around its device
 * file; the polling thread never holds it while it sleeps: it polls a dup()
 * of the file (same open file, so the same EPOLLPRI state) and an eventfd
 * that IFDHStopPolling() and IFDHCloseChannel() use to wake it.
 *
 * Slot gone (EPOLLHUP, ENODEV) or not there yet when pcscd starts: the
 * reader stays, without a card (IFDHICCPresence() says IFD_ICC_NOT_PRESENT:
 * IFD_NO_SUCH_DEVICE would make pcscd re-read reader.conf.d each time),
 * keeping its device path; when a slot with that index exists (again) the
 * next
 * presence check opens it (docs/pcsc.md, "Hotplug"); while the slot is
 * gone, the polling function looks once a second (SLOT_RETRY_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <PCSC/debuglog.h>
#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include <linux/vusim.h>

#include "ifd-vusim.h"
#include "macro.h"

/* pcscd numbers readers in the high 16 bits of the Lun (one slot each). */
#define MAX_READERS PCSCLITE_MAX_READERS_CONTEXTS
/* How often a reader whose slot is gone looks for it again. */
#define SLOT_RETRY_MS 1000

struct reader {
	pthread_mutex_t lock;	/* fd, atr, rsp */
	bool used;
	char path[64];
	int fd;			/* -1 while the slot is gone */
	int wake_fd;		/* eventfd: stop the polling thread */
	uint8_t atr[VUSIM_ATR_MAX];
	size_t atr_len;
	uint8_t *rsp;		/* VUSIM_APDU_MAX bytes, wiped after each use */
	uint32_t timeout_ms;	/* the slot's answer timeout, last seen */
};

static struct reader readers[MAX_READERS];
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;

static struct reader *reader_of(DWORD lun)
{
	size_t i = (lun >> 16) & 0xffff;
	struct reader *r;

	if (i >= MAX_READERS || (lun & 0xffff) != 0)
		return NULL;
	pthread_mutex_lock(&readers_lock);
	r = readers[i].used ? &readers[i] : NULL;
	pthread_mutex_unlock(&readers_lock);
	return r;
}

/* Opens the slot's device; 0 or -errno.  Called with r->lock held or
 * before the reader is visible. */
static int reader_open(struct reader *r)
{
	struct vusim_status st;
	int fd;

	fd = open(r->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* A vusim slot answers VUSIM_IOC_STATUS; anything else is refused. */
	if (ioctl(fd, VUSIM_IOC_STATUS, &st) < 0) {
		int err = errno == ENOTTY ? ENODEV : errno;

		close(fd);
		return -err;
	}
	r->fd = fd;
	r->timeout_ms = st.timeout_ms;
	return 0;
}

static void reader_drop_fd(struct reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->atr_len = 0;
}

/* Status of the slot; reopens a slot that was deleted and exists again.
 * 0 or -errno (-ENODEV: no slot). */
static int reader_status(struct reader *r, struct vusim_status *ret)
{
	if (r->fd >= 0 && ioctl(r->fd, VUSIM_IOC_STATUS, ret) == 0) {
		r->timeout_ms = ret->timeout_ms;
		return 0;
	}
	if (r->fd >= 0 && errno != ENODEV)
		return -errno;
	reader_drop_fd(r);
	if (reader_open(r) < 0)
		return -ENODEV;
	Log2(PCSC_LOG_INFO, "%s is back", r->path);
	return ioctl(r->fd, VUSIM_IOC_STATUS, ret) < 0 ? -errno : 0;
}

RESPONSECODE ifd_vusim_code(int err, enum ifd_vusim_op op)
{
	switch (err) {
	case 0:
		return IFD_SUCCESS;
	case ENODEV:
	case ENXIO:
	case ENOENT:
		return IFD_NO_SUCH_DEVICE;
	case ENOMEDIUM:
		return IFD_ICC_NOT_PRESENT;
	case ETIMEDOUT:
		return IFD_RESPONSE_TIMEOUT;
	case ENOMEM:
	case EOVERFLOW:
		return op == IFD_VUSIM_OP_APDU ? IFD_ERROR_INSUFFICIENT_BUFFER
					       : IFD_COMMUNICATION_ERROR;
	default:
		/* EIO, ENOLINK, ENOTCONN, EBUSY, EMSGSIZE, EINVAL, ...: the
		 * card could not be reached or refused the request. */
		return op == IFD_VUSIM_OP_POWER ? IFD_ERROR_POWER_ACTION
						: IFD_COMMUNICATION_ERROR;
	}
}

int ifd_vusim_parse_name(const char *name, char *ret_path, size_t size)
{
	unsigned long n;
	char *end;

	if (!name || !*name)
		return -EINVAL;
	/* DEVICENAME /dev/vusimN, or just the slot index N. */
	if (name[0] != '/') {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (errno || end == name || *end || n > 65535)
			return -EINVAL;
		if ((size_t)snprintf(ret_path, size, "/dev/" VUSIM_DEV_PREFIX "%lu", n) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	if (strncmp(name, "/dev/" VUSIM_DEV_PREFIX, strlen("/dev/" VUSIM_DEV_PREFIX)))
		return -EINVAL;
	if (strlen(name) >= size)
		return -ENAMETOOLONG;
	strcpy(ret_path, name);
	return 0;
}

static RESPONSECODE create(DWORD lun, const char *path)
{
	size_t i = (lun >> 16) & 0xffff;
	struct reader *r;
	int err;

	if (i >= MAX_READERS || (lun & 0xffff) != 0) {
		Log2(PCSC_LOG_ERROR, "Lun 0x%lX out of range", (unsigned long)lun);
		return IFD_COMMUNICATION_ERROR;
	}
	pthread_mutex_lock(&readers_lock);
	r = &readers[i];
	if (r->used) {
		pthread_mutex_unlock(&readers_lock);
		Log2(PCSC_LOG_ERROR, "Lun 0x%lX already open", (unsigned long)lun);
		return IFD_COMMUNICATION_ERROR;
	}
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	strcpy(r->path, path);
	r->rsp = malloc(VUSIM_APDU_MAX);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = !r->rsp ? -ENOMEM : r->wake_fd < 0 ? -errno : reader_open(r);
	/* A slot that does not exist yet: the reader waits for it (hotplug). */
	if (err == -ENOENT) {
		Log2(PCSC_LOG_INFO, "%s does not exist yet: waiting for it", path);
		err = 0;
	}
	if (err < 0) {
		free(r->rsp);
		if (r->wake_fd >= 0)
			close(r->wake_fd);
		pthread_mutex_unlock(&readers_lock);
		Log3(PCSC_LOG_ERROR, "cannot open %s: %s", path, strerror(-err));
		return ifd_vusim_code(-err, IFD_VUSIM_OP_OTHER);
	}
	pthread_mutex_init(&r->lock, NULL);
	r->used = true;
	pthread_mutex_unlock(&readers_lock);
	Log2(PCSC_LOG_INFO, "reader on %s", path);
	return IFD_SUCCESS;
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	char path[sizeof(readers[0].path)];

	if (ifd_vusim_parse_name(DeviceName, path, sizeof(path)) < 0) {
		Log2(PCSC_LOG_ERROR, "DEVICENAME %s: expected /dev/vusimN",
		     DeviceName ? DeviceName : "(none)");
		return IFD_COMMUNICATION_ERROR;
	}
	return create(Lun, path);
}

/* CHANNELID N without DEVICENAME: slot N. */
RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	char path[sizeof(readers[0].path)];

	snprintf(path, sizeof(path), "/dev/" VUSIM_DEV_PREFIX "%lu", (unsigned long)Channel);
	return create(Lun, path);
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
	struct reader *r = reader_of(Lun);

	if (!r)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&readers_lock);
	pthread_mutex_lock(&r->lock);
	reader_drop_fd(r);
	close(r->wake_fd);
	wipe(r->rsp, VUSIM_APDU_MAX);
	free(r->rsp);
	r->used = false;
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_unlock(&readers_lock);
	return IFD_SUCCESS;
}

/*
 * The polling thread (TAG_IFD_POLLING_THREAD_WITH_TIMEOUT): returns when the
 * card state changed (EPOLLPRI), the slot went away or came back, the
 * thread is told to stop, or after timeout ms.  pcscd then calls
 * IFDHICCPresence(), whose VUSIM_IOC_STATUS clears the EPOLLPRI event.
 */
static RESPONSECODE IFDHPolling(DWORD Lun, int timeout)
{
	struct reader *r = reader_of(Lun);
	struct pollfd p[2];
	int fd = -1;
	RESPONSECODE rc = IFD_SUCCESS;

	if (!r)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&r->lock);
	if (r->fd >= 0)
		fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&r->lock);

	p[0] = (struct pollfd){ .fd = r->wake_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = fd, .events = POLLPRI };
	/* No slot: look for it again after SLOT_RETRY_MS (pcscd then calls
	 * IFDHICCPresence(), which reopens it). */
	if (fd < 0 && (timeout < 0 || timeout > SLOT_RETRY_MS))
		timeout = SLOT_RETRY_MS;
	if (poll(p, 2, timeout) < 0 && errno != EINTR)
		rc = IFD_COMMUNICATION_ERROR;
	if (p[0].revents & POLLIN) {
		uint64_t v;

		if (read(r->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			rc = IFD_COMMUNICATION_ERROR;
	}
	/* EPOLLHUP (slot deleted): return, IFDHICCPresence() says so. */
	if (fd >= 0)
		close(fd);
	return rc;
}

/* TAG_IFD_STOP_POLLING_THREAD: wakes IFDHPolling() at once. */
static RESPONSECODE IFDHStopPolling(DWORD Lun)
{
	struct reader *r = reader_of(Lun);
	uint64_t one = 1;

	if (!r)
		return IFD_COMMUNICATION_ERROR;
	if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return IFD_COMMUNICATION_ERROR;
	return IFD_SUCCESS;
}

static RESPONSECODE put_value(PDWORD Length, PUCHAR Value, const void *v, size_t n)
{
	if (*Length < n)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(Value, v, n);
	*Length = n;
	return IFD_SUCCESS;
}

static RESPONSECODE put_byte(PDWORD Length, PUCHAR Value, uint8_t b)
{
	return put_value(Length, Value, &b, 1);
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	struct reader *r = reader_of(Lun);
	RESPONSECODE rc;

	if (!r || !Length || !Value)
		return IFD_COMMUNICATION_ERROR;
	switch (Tag) {
	case TAG_IFD_ATR:
	case SCARD_ATTR_ATR_STRING:
		pthread_mutex_lock(&r->lock);
		rc = put_value(Length, Value, r->atr, r->atr_len);
		pthread_mutex_unlock(&r->lock);
		return rc;
	case TAG_IFD_SLOTS_NUMBER:
		return put_byte(Length, Value, 1);
	case TAG_IFD_SIMULTANEOUS_ACCESS:
		return put_byte(Length, Value, MAX_READERS);
	case TAG_IFD_THREAD_SAFE:	/* readers are independent */
		return put_byte(Length, Value, 1);
	case TAG_IFD_SLOT_THREAD_SAFE:
		return put_byte(Length, Value, 0);
	case TAG_IFD_POLLING_THREAD_KILLABLE:
		return put_byte(Length, Value, 0);
	case TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: {
		RESPONSECODE (*f)(DWORD, int) = IFDHPolling;

		return put_value(Length, Value, &f, sizeof(f));
	}
	case TAG_IFD_STOP_POLLING_THREAD: {
		RESPONSECODE (*f)(DWORD) = IFDHStopPolling;

		return put_value(Length, Value, &f, sizeof(f));
	}
	case SCARD_ATTR_MAXINPUT: {
		/* Extended APDUs pass (pcsc-lite asks before sending one). */
		DWORD max = VUSIM_APDU_MAX;

		return put_value(Length, Value, &max, sizeof(max));
	}
	case SCARD_ATTR_VENDOR_NAME:
		return put_value(Length, Value, "mcim", sizeof("mcim"));
	default:
		return IFD_ERROR_TAG;
	}
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	(void)Lun;
	(void)Tag;
	(void)Length;
	(void)Value;
	return IFD_NOT_SUPPORTED;
}

/*
 * Protocol selection (ISO/IEC 7816-3 9): a virtual slot has no PPS
 * exchange; the protocol is the one the card's ATR offers first
 * (vusim_status.protocol, from TD1).
 */
RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags,
				       UCHAR PTS1, UCHAR PTS2, UCHAR PTS3)
{
	struct reader *r = reader_of(Lun);
	struct vusim_status st;
	DWORD want;
	int err;

	(void)Flags;
	(void)PTS1;
	(void)PTS2;
	(void)PTS3;
	if (!r)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&r->lock);
	err = reader_status(r, &st);
	pthread_mutex_unlock(&r->lock);
	if (err < 0)
		return ifd_vusim_code(-err, IFD_VUSIM_OP_OTHER);
	if (!(st.flags & VUSIM_STATUS_PRESENT))
		return IFD_ICC_NOT_PRESENT;
	want = st.protocol == 1 ? SCARD_PROTOCOL_T1 : SCARD_PROTOCOL_T0;
	return Protocol == want ? IFD_SUCCESS : IFD_PROTOCOL_NOT_SUPPORTED;
}

/* One ioctl that answers an ATR (power on, reset, get ATR); caches it.
 * 0 or -errno. */
static int power(struct reader *r, unsigned long req)
{
	struct vusim_atr a = { 0 };

	if (r->fd < 0)
		return -ENODEV;
	if (ioctl(r->fd, req, &a) < 0)
		return -errno;
	if (a.len < VUSIM_ATR_MIN || a.len > VUSIM_ATR_MAX)
		return -EIO;
	memcpy(r->atr, a.atr, a.len);
	r->atr_len = a.len;
	return 0;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	struct reader *r = reader_of(Lun);
	struct vusim_status st;
	int err;

	if (!r || !AtrLength)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&r->lock);
	err = reader_status(r, &st);
	if (err < 0)
		goto out;
	switch (Action) {
	case IFD_POWER_DOWN:	/* ISO/IEC 7816-3 6.4 */
		r->atr_len = 0;
		err = ioctl(r->fd, VUSIM_IOC_POWER_OFF) < 0 ? -errno : 0;
		break;
	case IFD_POWER_UP:	/* 6.2.2; a card already powered keeps its ATR */
		err = power(r, (st.flags & VUSIM_STATUS_POWERED) ? VUSIM_IOC_GET_ATR
							     : VUSIM_IOC_POWER_ON);
		break;
	case IFD_RESET:		/* 6.2.3 warm reset; powers up a card that is off */
		err = power(r, (st.flags & VUSIM_STATUS_POWERED) ? VUSIM_IOC_WARM_RESET
							     : VUSIM_IOC_POWER_ON);
		break;
	default:
		pthread_mutex_unlock(&r->lock);
		return IFD_NOT_SUPPORTED;
	}
out:
	if (err < 0 || Action == IFD_POWER_DOWN) {
		*AtrLength = 0;
	} else if (Atr) {
		if (*AtrLength && *AtrLength < r->atr_len)
			err = -EOVERFLOW;
		else
			memcpy(Atr, r->atr, r->atr_len);
		*AtrLength = err ? 0 : r->atr_len;
	}
	pthread_mutex_unlock(&r->lock);
	if (err < 0)
		Log4(PCSC_LOG_ERROR, "%s: power action %lu: %s", r->path,
		     (unsigned long)Action, strerror(-err));
	return ifd_vusim_code(-err, IFD_VUSIM_OP_POWER);
}

/* Waits until the slot takes a command (another opener, e.g. a modem,
 * may have one outstanding: EBUSY), at most the slot's timeout. */
static int wait_writable(struct reader *r)
{
	struct pollfd p = { .fd = r->fd, .events = POLLOUT };

	for (;;) {
		int n = poll(&p, 1, (int)r->timeout_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (p.revents & (POLLHUP | POLLERR))
			return -ENODEV;
		return 0;
	}
}

/* One command APDU through the device: write, then a blocking read into
 * r->rsp.  Returns the response length or -errno. */
static ssize_t exchange(struct reader *r, const uint8_t *cmd, size_t len)
{
	ssize_t n;
	int tries = 0;

	if (r->fd < 0)
		return -ENODEV;
	while (write(r->fd, cmd, len) < 0) {
		int err;

		if (errno == EINTR)
			continue;
		if (errno != EBUSY || ++tries > 3)
			return -errno;
		err = wait_writable(r);
		if (err < 0)
			return err;
	}
	do {
		n = read(r->fd, r->rsp, VUSIM_APDU_MAX);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
			       DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
			       PSCARD_IO_HEADER RecvPci)
{
	struct reader *r = reader_of(Lun);
	ssize_t n;
	int err = 0;

	if (!r || !TxBuffer || !RxBuffer || !RxLength)
		return IFD_COMMUNICATION_ERROR;
	/* ISO/IEC 7816-4 5.1: CLA INS P1 P2 at least; the slot's limit. */
	if (TxLength < VUSIM_APDU_CMD_MIN || TxLength > VUSIM_APDU_MAX) {
		Log3(PCSC_LOG_ERROR, "%s: APDU of %lu bytes refused", r->path,
		     (unsigned long)TxLength);
		*RxLength = 0;
		return IFD_COMMUNICATION_ERROR;
	}
	pthread_mutex_lock(&r->lock);
	n = exchange(r, TxBuffer, TxLength);
	if (n < 0)
		err = (int)-n;
	else if ((size_t)n > *RxLength)
		err = EOVERFLOW;
	if (err) {
		*RxLength = 0;
	} else {
		memcpy(RxBuffer, r->rsp, (size_t)n);
		*RxLength = (DWORD)n;
	}
	if (n > 0)
		wipe(r->rsp, (size_t)n);
	pthread_mutex_unlock(&r->lock);
	if (err) {
		Log3(PCSC_LOG_ERROR, "%s: APDU exchange: %s", r->path, strerror(err));
		return ifd_vusim_code(err, IFD_VUSIM_OP_APDU);
	}
	if (RecvPci)
		RecvPci->Protocol = SendPci.Protocol;
	return IFD_SUCCESS;
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
			 PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
	/* No escape commands: a virtual slot has no PIN pad, display or
	 * vendor features (PC/SC part 10 CM_IOCTL_GET_FEATURE_REQUEST
	 * answers an empty list). */
	(void)Lun;
	(void)TxBuffer;
	(void)TxLength;
	(void)RxBuffer;
	(void)RxLength;
	if (pdwBytesReturned)
		*pdwBytesReturned = 0;
	if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST)
		return IFD_SUCCESS;
	return IFD_ERROR_NOT_SUPPORTED;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
	struct reader *r = reader_of(Lun);
	struct vusim_status st;
	int err;

	if (!r)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&r->lock);
	err = reader_status(r, &st);
	if (!err && !(st.flags & VUSIM_STATUS_PRESENT))
		r->atr_len = 0;
	pthread_mutex_unlock(&r->lock);
	if (err == -ENODEV)	/* no slot: a reader without a card */
		return IFD_ICC_NOT_PRESENT;
	if (err < 0)
		return ifd_vusim_code(-err, IFD_VUSIM_OP_OTHER);
	return (st.flags & VUSIM_STATUS_PRESENT) ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
}
