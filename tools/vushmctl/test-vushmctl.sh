#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vushmctl against the module (root, vushm loaded; make check runs it in the
# VM): list/show text and JSON against sysfs, monitor for a create, close,
# attach, map, map, unmap, reset, close, destroy sequence (text and JSON),
# create/destroy, exit codes and error messages, and the retry of a dump
# the kernel flags NLM_F_DUMP_INTR (provoked with test-dumpintr.so).  KTAP
# output.
set -u
TOP=${VUSHM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
CTL=$TOP/tools/vushmctl/vushmctl
SHIM=$TOP/tools/vushmctl/test-dumpintr.so
MAXW=/sys/module/vushm/parameters/max_windows
PY=/usr/bin/python3
N=vt-ctl-$$
W=/tmp/vushmctl-test.$$
n=0
fails=0
mkdir -p "$W"
maxw0=
cleanup() {
	local x
	for x in $N-a $N-b $N-c; do "$CTL" destroy "$x" >/dev/null 2>&1; done
	[ -f "$W/many" ] && many destroy
	[ -n "$maxw0" ] && echo "$maxw0" >"$MAXW"
	rm -rf "$W"
}
trap cleanup EXIT

ok() { # description, status
	n=$((n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1"
		fails=$((fails + 1))
	fi
}
# t DESCRIPTION COMMAND...: ok when the command succeeds.
t() { local d=$1; shift; "$@" >"$W/out" 2>&1; local rc=$?; [ $rc = 0 ] || sed 's/^/# /' "$W/out"; ok "$d" $rc; }
# rc EXPECTED DESCRIPTION COMMAND...: ok when the exit status is EXPECTED.
rc() {
	local want=$1 d=$2 got
	shift 2
	"$@" >"$W/out" 2>"$W/err"
	got=$?
	[ "$got" = "$want" ] || echo "# exit $got, want $want: $(head -c 300 "$W/err")"
	ok "$d" "$([ "$got" = "$want" ]; echo $?)"
}
errmsg() { grep -q -- "$1" "$W/err" || { echo "# stderr: $(cat "$W/err")"; return 1; }; }
sysfs() { cat "/sys/class/vushm/$1/$2"; }

if [ "$(id -u)" != 0 ] || [ ! -e /dev/vushm/control ]; then
	echo "1..0 # SKIP needs root and vushm loaded"
	exit 4
fi
if [ ! -x "$CTL" ]; then
	echo "1..0 # SKIP $CTL not built"
	exit 4
fi

# A controller in python: ATTACH, then map/unmap/reset as told on stdin.
# VUSHM_RESET is _IO(0xB8, 0x12), on the controller fd.
cat >"$W/ctl.py" <<'PYEOF'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def iow(nr, size): return (1 << 30) | (size << 16) | (0xB8 << 8) | nr
def ioctl(fd, req, arg):
    r = libc.ioctl(fd, ctypes.c_ulong(req), ctypes.c_char_p(arg))
    if r < 0: raise OSError(ctypes.get_errno(), "ioctl")
    return r
ATTACH, MAP, UNMAP = iow(2, 48), iow(0x10, 56), iow(0x11, 40)
ctl = os.open("/dev/vushm/control", os.O_RDWR)
cfd = ioctl(ctl, ATTACH, struct.pack("32sI12x", sys.argv[1].encode(), 0))
ps = os.sysconf("SC_PAGE_SIZE")
mfd = os.memfd_create("vushmctl-test")
os.ftruncate(mfd, 64 * ps)
st = os.fstat(mfd)
print("%d %d:%d %d" % (os.getpid(), os.major(st.st_dev), os.minor(st.st_dev), st.st_ino), flush=True)
for line in sys.stdin:
    w = line.split()
    if w[0] == "map":
        ioctl(cfd, MAP, struct.pack("iIQQQQ16x", mfd, 0, int(w[1]) * ps, int(w[2]) * ps, int(w[3]) * ps, int(w[4])))
    elif w[0] == "unmap":
        ioctl(cfd, UNMAP, struct.pack("QQQ16x", int(w[1]) * ps, int(w[2]) * ps, 0))
    elif w[0] == "reset":
        if libc.ioctl(cfd, ctypes.c_ulong((0xB8 << 8) | 0x12), 0) < 0:
            raise OSError(ctypes.get_errno(), "VUSHM_RESET")
    print("done", flush=True)
PYEOF

echo "TAP version 13"
echo "1..44"

# Usage and help.
rc 0 "--help exits 0" "$CTL" --help
rc 2 "no command exits 2" "$CTL"
rc 2 "unknown command exits 2" "$CTL" frobnicate
rc 2 "create without --size exits 2" "$CTL" create $N-a
rc 2 "create with a bad size exits 2" "$CTL" create $N-a --size 12Q
rc 2 "create with a bad hole policy exits 2" "$CTL" create $N-a --size 1M --hole-policy maybe

# monitor, text and JSON, from before the create of $N-a to after its
# destroy (checked below)
"$CTL" monitor >"$W/mon.txt" 2>"$W/mon.err" &
mon=$!
"$CTL" -j monitor >"$W/mon.json" 2>"$W/monj.err" &
monj=$!
for _ in $(seq 50); do grep -q monitoring "$W/mon.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.3	# the JSON one prints nothing at start

# create
rc 0 "create $N-a" "$CTL" create $N-a --size 1M --shmid 5 --owner 65534:65534 --mode 0640
t "sysfs: size, shmid, hole policy, no controller" test "$(sysfs $N-a size) $(sysfs $N-a shmid) $(sysfs $N-a hole_policy) $(sysfs $N-a controller)" = "1048576 5 zero 0"
t "node owner and mode" test "$(stat -c '%u:%g %a' /dev/vushm/$N-a)" = "65534:65534 640"
rc 1 "create of an existing name exits 1" "$CTL" create $N-a --size 1M
t "... saying it exists" errmsg "exists already"
rc 1 "create with an unaligned size exits 1" "$CTL" create $N-c --size 1000
rc 0 "create $N-b (sigbus, root)" "$CTL" create $N-b --size 2G --hole-policy sigbus

# list
rc 0 "list" "$CTL" list
cp "$W/out" "$W/list.txt"
t "list text shows both windows" bash -c "grep -Eq '^$N-a +1M +5 +zero +65534:65534 +0640 +- ' '$W/list.txt' && grep -Eq '^$N-b +2G +0 +sigbus ' '$W/list.txt'"
rc 0 "list -j" "$CTL" -j list
cp "$W/out" "$W/list.json"
t "list -j is JSON and matches sysfs" $PY -c '
import json, sys
l = json.load(open(sys.argv[1])); n = sys.argv[2]
w = {x["name"]: x for x in l}
a, b = w[n + "-a"], w[n + "-b"]
s = lambda nm, f: int(open("/sys/class/vushm/%s/%s" % (nm, f)).read())
assert a["size"] == s(n + "-a", "size") == 1 << 20, a
assert (a["shmid"], a["hole_policy"], a["uid"], a["gid"], a["mode"]) == (5, "zero", 65534, 65534, "0640"), a
assert "controller_pid" not in a and a["ephemeral"] is False
assert a["nr_mappings"] == s(n + "-a", "nr_mappings") == 0
assert b["size"] == 2 << 30 and b["hole_policy"] == "sigbus" and b["uid"] == 0
assert a["stats"]["maps"] == 0 and a["stats"]["failures"]["ENOENT"] == 0
' "$W/list.json" $N

# a controller maps and unmaps (the monitors are listening)
coproc PYC { $PY "$W/ctl.py" $N-a 2>&1; }
read -r pypid pydev pyino <&"${PYC[0]}"
echo "map 4 0 8 1" >&"${PYC[1]}"; read -r _ <&"${PYC[0]}"
echo "map 0 16 2 0" >&"${PYC[1]}"; read -r _ <&"${PYC[0]}"

# show, with the mappings
rc 0 "show $N-a" "$CTL" show $N-a
cp "$W/out" "$W/show.txt"
sed 's/^/# show: /' "$W/show.txt"
t "show text: controller pid, mappings" bash -c "grep -q 'controller pid $pypid' '$W/show.txt' && grep -Eq '0x000000000000 0x0000008000 rw +$pydev +$pyino 0x4000' '$W/show.txt' && grep -Eq 'mappings 2 mapped 40K' '$W/show.txt'"
rc 0 "show -j $N-a" "$CTL" -j show $N-a
cp "$W/out" "$W/show.json"
t "show -j is JSON and matches sysfs and the maps" $PY -c '
import json, os, sys
w = json.load(open(sys.argv[1])); n = sys.argv[2]; ps = os.sysconf("SC_PAGE_SIZE")
s = lambda f: int(open("/sys/class/vushm/%s/%s" % (n, f)).read())
assert w["name"] == n and w["controller_pid"] == int(sys.argv[3]), w
assert w["nr_mappings"] == s("nr_mappings") == 2 and w["mapped_bytes"] == s("mapped_bytes") == 10 * ps
assert w["stats"]["maps"] == s("stats/maps") == 2
m = w["mappings"]
assert [(x["shm_offset"], x["len"], x["fd_offset"], x["rw"]) for x in m] == [(0, 8 * ps, 4 * ps, True), (16 * ps, 2 * ps, 0, False)], m
assert all(x["dev"] == sys.argv[4] and x["ino"] == int(sys.argv[5]) for x in m), m
' "$W/show.json" $N-a "$pypid" "$pydev" "$pyino"

echo "unmap 16 2" >&"${PYC[1]}"; read -r _ <&"${PYC[0]}"
echo "reset" >&"${PYC[1]}"; read -r _ <&"${PYC[0]}"
# shellcheck disable=SC1083 # bash closes the coprocess's stdin
exec {PYC[1]}>&- 2>/dev/null || true
wait "$PYC_PID" 2>/dev/null
rc 0 "destroy $N-a" "$CTL" destroy $N-a
t "sysfs entry gone" test ! -e /sys/class/vushm/$N-a
sleep 0.5
kill -INT $mon
wait $mon
ok "monitor exits 0 on SIGINT" $?
kill -TERM $monj
wait $monj
ok "monitor -j exits 0 on SIGTERM" $?
sed 's/^/# monitor: /' "$W/mon.txt"
t "monitor: one timestamped line per event, in order" $PY -c '
import re, sys
ev = [l.split() for l in open(sys.argv[1]) if " %s " % sys.argv[2] in l]
assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", e[0]) for e in ev), ev
assert [e[1] for e in ev] == ["create", "close", "attach", "map", "map", "unmap", "reset", "close", "destroy"], ev
ps = int(sys.argv[3])
assert ev[3][3:8] == ["shm_offset", "0x0", "len", hex(8 * ps), "rw"], ev[3]
assert ev[5][3:8] == ["shm_offset", hex(16 * ps), "len", hex(2 * ps), "ro"], ev[5]
assert ev[2][3:5] == ["pid", sys.argv[4]], ev[2]
' "$W/mon.txt" $N-a "$(getconf PAGESIZE)" "$pypid"
t "monitor: the create line has size, shmid, hole policy, owner, mode" \
	grep -Eq "^[^ ]+ create +$N-a size 1M shmid 5 hole-policy zero owner 65534:65534 mode 0640 mappings 0\$" "$W/mon.txt"
t "monitor: the reset line comes after the unmap, with no mapping left" \
	grep -Eq "^[^ ]+ reset +$N-a mappings 0\$" "$W/mon.txt"
t "monitor -j: one JSON object per line, same events" $PY -c '
import json, os, sys
ps = os.sysconf("SC_PAGE_SIZE")
ev = [json.loads(l) for l in open(sys.argv[1])]
ev = [e for e in ev if e["name"] == sys.argv[2]]
assert [e["event"] for e in ev] == ["create", "close", "attach", "map", "map", "unmap", "reset", "close", "destroy"], ev
c = ev[0]
assert (c["size"], c["shmid"], c["hole_policy"], c["uid"], c["gid"], c["mode"], c["ephemeral"], c["nr_mappings"]) == (1 << 20, 5, "zero", 65534, 65534, "0640", False, 0), c
assert ev[3]["mapping"] == {"shm_offset": 0, "len": 8 * ps, "flags": 1, "rw": True, "fd_offset": 4 * ps, "dev": sys.argv[3], "ino": int(sys.argv[4])}, ev[3]
assert ev[5]["mapping"]["shm_offset"] == 16 * ps and ev[5]["nr_mappings"] == 1
r = ev[6]
assert "mapping" not in r and r["nr_mappings"] == 0 and r["mapped_bytes"] == 0 and r["controller_pid"] > 0, r
assert ev[2]["controller_pid"] > 0 and "controller_pid" not in ev[7]
' "$W/mon.json" $N-a "$pydev" "$pyino"

# Errors
rc 1 "show of a missing window exits 1" "$CTL" show $N-a
t "... saying there is no such window" errmsg "no window named $N-a"
rc 1 "destroy of a missing window exits 1" "$CTL" destroy $N-a
t "... saying there is no such window" errmsg "no window named $N-a"
rc 1 "unprivileged monitor exits 1" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" monitor
t "... saying permission denied" errmsg "permission denied"
rc 1 "unprivileged create exits 1" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" create $N-c --size 1M
t "... saying permission denied, run as root" errmsg "permission denied opening /dev/vushm/control: run as root"
rc 0 "unprivileged list -j: only own windows" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -j list
cp "$W/out" "$W/ulist.json"
t "... $N-b (root's) not in it" $PY -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert all(w["uid"] == 65534 for w in l) and sys.argv[2] not in [w["name"] for w in l], l
' "$W/ulist.json" $N-b

# A dump interrupted by a change: vushmctl retries (up to 5 times).  The
# dump must take more than one part: 150 more windows (max_windows raised
# meanwhile).  test-dumpintr.so creates and destroys a window after the
# first part of a dump arrived, and logs the dump requests.
# many create|destroy: $N-m0 ... $N-m149, 1 page each.
many() {
	$PY - "$1" "$N" <<'PYEOF'
import errno, fcntl, os, struct, sys
ctl = os.open("/dev/vushm/control", os.O_RDWR)
ps = os.sysconf("SC_PAGE_SIZE")
for i in range(150):
    name = ("%s-m%d" % (sys.argv[2], i)).encode()
    if sys.argv[1] == "create":
        c = struct.pack("32sQIIIIII32x", name, ps, 0, 0, 0, 0, 0, 0o600)
        # With a mutable buffer ioctl() returns the call's result: the controller fd.
        os.close(fcntl.ioctl(ctl, (1 << 30) | (len(c) << 16) | (0xB8 << 8) | 0x01, bytearray(c), True))
    else:
        try:
            fcntl.ioctl(ctl, (1 << 30) | (48 << 16) | (0xB8 << 8) | 0x03, struct.pack("32sI12x", name, 0))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
PYEOF
}
intr_list_ok() {
	$PY -c '
import json, sys
log = open(sys.argv[1]).read().split()
assert log[0::2] == ["dump", "churn", "dump"] and log[1] == log[3] != log[5], log
l = json.load(open(sys.argv[2]))
names = [w["name"] for w in l]
want = ["%s-m%d" % (sys.argv[3], i) for i in range(150)] + [sys.argv[3] + "-b"]
assert all(n in names for n in want) and len(names) == len(set(names)), names
assert "vushmctl-test-churn" not in names, names
' "$W/churn1" "$W/intr.json" "$N" || { cat "$W/churn1"; return 1; }
	[ ! -s "$W/intr.err" ] || { cat "$W/intr.err"; return 1; }
}
intr_fail_ok() {
	if ! grep -q 'the windows kept changing during the dump: try again' "$W/intr.err" ||
	   [ "$(grep -c '^dump ' "$W/churn5")" != 5 ] ||
	   [ "$(grep -c '^churn ' "$W/churn5")" != 5 ]; then
		cat "$W/churn5" "$W/intr.err"
		return 1
	fi
}
if [ ! -f "$SHIM" ]; then
	for _ in 1 2 3 4; do echo "ok $((n += 1)) dump retry # SKIP $SHIM not built"; done
else
	maxw0=$(cat "$MAXW")
	[ "$maxw0" -ge 200 ] || echo 200 >"$MAXW"
	: >"$W/many"
	many create
	rc 0 "list -j, one dump disturbed (LD_PRELOAD test-dumpintr.so): exit 0" \
		env LD_PRELOAD="$SHIM" VUSHMCTL_TEST_CHURN=1 VUSHMCTL_TEST_CHURN_LOG="$W/churn1" "$CTL" -j list
	cp "$W/out" "$W/intr.json"
	cp "$W/err" "$W/intr.err"
	t "... flagged NLM_F_DUMP_INTR: retried once; the retry's list is complete; nothing on stderr" intr_list_ok
	rc 1 "list, every dump disturbed: exit 1" \
		env LD_PRELOAD="$SHIM" VUSHMCTL_TEST_CHURN=100 VUSHMCTL_TEST_CHURN_LOG="$W/churn5" "$CTL" list
	cp "$W/err" "$W/intr.err"
	t "... after 5 dumps, saying the windows kept changing" intr_fail_ok
	many destroy
	rm -f "$W/many"
	echo "$maxw0" >"$MAXW"
	maxw0=
fi

rc 0 "destroy $N-b" "$CTL" destroy $N-b

[ "$fails" = 0 ]
