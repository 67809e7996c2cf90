#!/usr/bin/env python3
# memscan.py PID HEX...: where the byte strings HEX occur in the memory of
# process PID (root: /proc/PID/mem, which needs no core dump, so it works on
# a non-dumpable process).  Prints one line per string:
#   HEX total=N unlocked=M
# with M the occurrences in mappings that are not mlock'ed (VmFlags "lo" of
# /proc/PID/smaps).
import re
import sys

pid = int(sys.argv[1])
needles = [bytes.fromhex(h) for h in sys.argv[2:]]
regions = []
with open(f"/proc/{pid}/smaps") as f:
    cur = None
    for line in f:
        m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if m:
            cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), False]
            regions.append(cur)
        elif line.startswith("VmFlags:") and cur is not None:
            cur[3] = " lo" in line
counts = {n: [0, 0] for n in needles}
with open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for start, end, perms, locked in regions:
        if perms[0] != "r":
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        for n in needles:
            i = data.find(n)
            while i >= 0:
                counts[n][0] += 1
                if not locked:
                    counts[n][1] += 1
                i = data.find(n, i + 1)
for n in needles:
    print(f"{n.hex()} total={counts[n][0]} unlocked={counts[n][1]}")
