#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pcsc-usim.py: a PC/SC client (python3-pyscard, pcsc-lite's API) for the
test of ifd-vusim (tests/pcsc/README.md).  Prints key=value lines; exits 0
when the PC/SC calls it makes did what it checks, 1 otherwise.

  readers                       the reader names, one per line
  card READER AID PIN1          SELECT ADF.USIM by AID, EF.IMSI, EF.AD, PIN1 checks
  auth READER AID RAND AUTN     AUTHENTICATE (3G context): res, ck, ik
  events READER SECONDS         waits for the card to leave, then to return
  oversize READER               an extended APDU that fits, one longer than the
                                slot takes, then a short one
  transmit READER               one SELECT MF on a fresh connection: sw or error
  hold READER GO DONE           connects, SELECT MF; creates GO; waits for DONE
                                to exist; transmits again: sw or error

APDUs are ISO/IEC 7816-4 / ETSI TS 102 221 commands; T=0 answers 61xx are
followed by GET RESPONSE (TS 102 221 7.3.1.1.4).
"""
import os
import sys
import time

from smartcard.scard import (SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1,
                             SCARD_S_SUCCESS, SCARD_SCOPE_USER,
                             SCARD_SHARE_SHARED, SCARD_LEAVE_CARD,
                             SCARD_STATE_EMPTY, SCARD_STATE_PRESENT,
                             SCARD_STATE_UNAWARE, SCARD_E_TIMEOUT,
                             SCardConnect, SCardDisconnect,
                             SCardEstablishContext, SCardGetErrorMessage,
                             SCardGetStatusChange, SCardListReaders,
                             SCardReleaseContext, SCardStatus, SCardTransmit)
import smartcard.scard as scard


def err_name(rv):
    for k, v in vars(scard).items():
        if (k.startswith("SCARD_E_") or k.startswith("SCARD_W_") or
                k.startswith("SCARD_F_")) and v == rv:
            return k
    return "0x%08x" % (rv & 0xffffffff)


class PcscError(Exception):
    def __init__(self, what, rv):
        super().__init__("%s: %s (%s)" % (what, err_name(rv),
                                          SCardGetErrorMessage(rv).strip()))
        self.rv = rv


def check(what, rv):
    if rv != SCARD_S_SUCCESS:
        raise PcscError(what, rv)


def context():
    rv, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    check("SCardEstablishContext", rv)
    return ctx


def find_reader(ctx, name):
    rv, readers = SCardListReaders(ctx, [])
    check("SCardListReaders", rv)
    for r in readers:
        if name in r:
            return r
    raise SystemExit("no reader named like %r among %r" % (name, readers))


def connect(ctx, reader):
    rv, card, proto = SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
                                   SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1)
    check("SCardConnect", rv)
    return card, proto


def transmit(card, proto, apdu):
    """One APDU; after 61xx, GET RESPONSE.  Returns (data, sw)."""
    rv, rsp = SCardTransmit(card, proto, list(apdu))
    check("SCardTransmit", rv)
    if len(rsp) == 2 and rsp[0] == 0x61:
        rv, rsp = SCardTransmit(card, proto, [0x00, 0xC0, 0x00, 0x00, rsp[1]])
        check("SCardTransmit (GET RESPONSE)", rv)
    return bytes(rsp[:-2]), "%02x%02x" % (rsp[-2], rsp[-1])


def select_aid(card, proto, aid):
    # SELECT by DF name, first occurrence, return FCP (TS 102 221 11.1.1)
    a = bytes.fromhex(aid)
    return transmit(card, proto, [0x00, 0xA4, 0x04, 0x04, len(a)] + list(a))


def read_ef(card, proto, fid):
    """SELECT by file id under the current ADF, then READ BINARY of the size
    its FCP gives (tag 80, TS 102 221 11.1.1.4.1)."""
    fcp, sw = transmit(card, proto, [0x00, 0xA4, 0x00, 0x04, 0x02,
                                     fid >> 8, fid & 0xff])
    if sw != "9000":
        return None, sw
    size, i = None, 2
    while i + 1 < len(fcp):
        tag, ln = fcp[i], fcp[i + 1]
        if tag == 0x80:
            size = int.from_bytes(fcp[i + 2:i + 2 + ln], "big")
        i += 2 + ln
    data, sw = transmit(card, proto, [0x00, 0xB0, 0x00, 0x00, size & 0xff])
    return data, sw


def imsi_digits(ef):
    """EF.IMSI (TS 31.102 4.2.2): length, then BCD with the parity nibble."""
    digits = "".join("%x%x" % (b & 0x0f, b >> 4) for b in ef[1:1 + ef[0]])
    return digits[1:].rstrip("f")


def cmd_readers(_args):
    ctx = context()
    rv, readers = SCardListReaders(ctx, [])
    check("SCardListReaders", rv)
    for r in readers:
        print("reader=%s" % r)
    return 0


def cmd_card(args):
    reader_name, aid, pin = args
    ctx = context()
    reader = find_reader(ctx, reader_name)
    card, proto = connect(ctx, reader)
    rv, _name, state, _p, atr = SCardStatus(card)
    check("SCardStatus", rv)
    print("atr=%s" % bytes(atr).hex())
    print("protocol=T%d" % (0 if proto == SCARD_PROTOCOL_T0 else 1))
    _fcp, sw = select_aid(card, proto, aid)
    print("select_sw=%s" % sw)
    imsi, sw = read_ef(card, proto, 0x6F07)
    print("imsi_sw=%s" % sw)
    if imsi is not None:
        print("imsi=%s" % imsi_digits(imsi))
    ad, sw = read_ef(card, proto, 0x6FAD)
    print("ad_sw=%s" % sw)
    if ad is not None:
        print("ad=%s" % ad.hex())
    # PIN1 (key reference 01, TS 102 221 9.5.1), 8 bytes padded with FF.
    # The test profile has it disabled (as on M2M cards), and VERIFY of a
    # disabled PIN is refused: ENABLE VERIFICATION REQUIREMENT (11.1.11),
    # VERIFY PIN (11.1.9) right and wrong, DISABLE again (11.1.10).
    p = list(pin.encode().ljust(8, b"\xff"))
    wrong = list(b"0000".ljust(8, b"\xff"))
    for key, ins, value in (("enable", 0x28, p), ("verify", 0x20, p),
                            ("verify_wrong", 0x20, wrong),
                            ("verify_again", 0x20, p), ("disable", 0x26, p)):
        _d, sw = transmit(card, proto, [0x00, ins, 0x00, 0x01, 8] + value)
        print("%s_sw=%s" % (key, sw))
    SCardDisconnect(card, SCARD_LEAVE_CARD)
    SCardReleaseContext(ctx)
    return 0


def cmd_auth(args):
    reader_name, aid, rand, autn = args
    ctx = context()
    card, proto = connect(ctx, find_reader(ctx, reader_name))
    _fcp, sw = select_aid(card, proto, aid)
    if sw != "9000":
        print("select_sw=%s" % sw)
        return 1
    # AUTHENTICATE, 3G context (TS 31.102 7.1.2): LV RAND, LV AUTN
    r, a = bytes.fromhex(rand), bytes.fromhex(autn)
    data = bytes([len(r)]) + r + bytes([len(a)]) + a
    rsp, sw = transmit(card, proto, [0x00, 0x88, 0x00, 0x81, len(data)] + list(data))
    print("auth_sw=%s" % sw)
    if sw == "9000" and rsp[:1] == b"\xdb":
        out, i = [], 1
        for _ in range(3):
            ln = rsp[i]
            out.append(rsp[i + 1:i + 1 + ln].hex())
            i += 1 + ln
        print("res=%s\nck=%s\nik=%s" % tuple(out))
    SCardDisconnect(card, SCARD_LEAVE_CARD)
    return 0


def wait_state(ctx, reader, want, deadline):
    state = SCARD_STATE_UNAWARE
    while time.monotonic() < deadline:
        ms = int(max(1, (deadline - time.monotonic()) * 1000))
        rv, states = SCardGetStatusChange(ctx, ms, [(reader, state)])
        if rv == SCARD_E_TIMEOUT:
            break
        check("SCardGetStatusChange", rv)
        _r, state, atr = states[0]
        if state & want:
            return bytes(atr)
        state &= ~scard.SCARD_STATE_CHANGED
    return None


def cmd_events(args):
    reader_name, seconds = args[0], float(args[1])
    ctx = context()
    reader = find_reader(ctx, reader_name)
    deadline = time.monotonic() + seconds
    if wait_state(ctx, reader, SCARD_STATE_PRESENT, deadline) is None:
        print("error=no card at the start")
        return 1
    print("ready=1", flush=True)
    if wait_state(ctx, reader, SCARD_STATE_EMPTY, deadline) is None:
        print("removed=no")
        return 1
    print("removed=yes", flush=True)
    atr = wait_state(ctx, reader, SCARD_STATE_PRESENT, deadline)
    if atr is None:
        print("inserted=no")
        return 1
    print("inserted=yes\natr=%s" % atr.hex())
    return 0


def cmd_oversize(args):
    ctx = context()
    card, proto = connect(ctx, find_reader(ctx, args[0]))
    # An extended APDU that fits (ISO/IEC 7816-4 5.1, case 3E, 300 data
    # bytes: more than pcsc-lite's short buffer): it must reach the card,
    # which answers with a status word of its own.
    n = 300
    apdu = [0x00, 0xD6, 0x00, 0x00, 0x00, n >> 8, n & 0xff] + [0] * n
    rv, rsp = SCardTransmit(card, proto, apdu)
    print("extended=%s" % ("%02x%02x" % (rsp[-2], rsp[-1])
                           if rv == SCARD_S_SUCCESS and len(rsp) >= 2 else err_name(rv)))
    # Extended case 3 (ISO/IEC 7816-4 5.1): 00 Lc1 Lc2 then 65533 bytes:
    # 65540 bytes, more than the slot's VUSIM_APDU_MAX (65531).
    n = 65533
    apdu = [0x00, 0xD6, 0x00, 0x00, 0x00, n >> 8, n & 0xff] + [0] * n
    rv, _rsp = SCardTransmit(card, proto, apdu)
    print("oversize=%s" % ("ok" if rv == SCARD_S_SUCCESS else err_name(rv)))
    try:
        _d, sw = transmit(card, proto, [0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00])
        print("after_sw=%s" % sw)
    except PcscError as e:
        print("after=%s" % e)
    return 0


def cmd_transmit(args):
    ctx = context()
    try:
        card, proto = connect(ctx, find_reader(ctx, args[0]))
        _d, sw = transmit(card, proto, [0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00])
        print("sw=%s" % sw)
    except PcscError as e:
        print("error=%s" % err_name(e.rv))
    return 0


def cmd_hold(args):
    reader_name, go, done = args
    ctx = context()
    card, proto = connect(ctx, find_reader(ctx, reader_name))
    _d, sw = transmit(card, proto, [0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00])
    print("before_sw=%s" % sw, flush=True)
    open(go, "w").close()
    for _ in range(600):
        if os.path.exists(done):
            break
        time.sleep(0.05)
    t0 = time.monotonic()
    try:
        _d, sw = transmit(card, proto, [0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00])
        print("after_sw=%s" % sw)
    except PcscError as e:
        print("after_error=%s" % err_name(e.rv))
    print("after_ms=%d" % ((time.monotonic() - t0) * 1000))
    return 0


COMMANDS = {"readers": (cmd_readers, 0), "card": (cmd_card, 3),
            "auth": (cmd_auth, 4), "events": (cmd_events, 2),
            "oversize": (cmd_oversize, 1), "transmit": (cmd_transmit, 1),
            "hold": (cmd_hold, 3)}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    f, nargs = COMMANDS[sys.argv[1]]
    if len(sys.argv) - 2 != nargs:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return f(sys.argv[2:])
    except PcscError as e:
        print("error=%s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
