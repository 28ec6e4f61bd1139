#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KTAP test of the QEMU command line README.md gives for a real host
# ("Running the helper for a QEMU VM", between the "qemu-cmdline" markers):
# the vushm-helper and qemu-system-x86_64 commands are taken from README.md
# and run as written, with only these changes:
#   - the helper: --owner nobody:nogroup (the VM has no libvirt-qemu user);
#     tests/peers/vu-test-backend --device blk listens on its --backend path;
#   - QEMU runs as nobody:nogroup, -accel kvm becomes -accel tcg (no KVM in
#     the VM), and -S -nodefaults -display none -qmp stdio are added: no
#     guest runs, QMP asks QEMU what it made of the options, then quits.
# Checked: the block has the pieces vhost-user needs (guest RAM a shared
# memfd backend made the machine's RAM, the window as a shared file backend
# behind ivshmem-plain, the chardev on the helper's socket), QEMU accepts
# it, QMP's view (prelaunch, memory backends shared with their sizes, the
# machine's RAM backend, ivshmem BAR2 and the vhost-user device on the PCI
# bus, the chardev open), QEMU's shared mappings of the memfd and of the
# window node, the vhost-user handshake through the helper, a clean quit.
#
# Runs in the test VM only (make check, root, vushm loaded): it uses the
# README's own paths (/run/vm1-vu.sock, /dev/vushm/vm1-vu-0).
set -u
TOP=${VUSHM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
README=$TOP/README.md
W=$(mktemp -d /tmp/vushm-qemu-opts.XXXXXX)
be_pid=
hp_pid=
win=
listen=
backend=
n=0
fails=0
. "$(dirname "$0")/lib.sh"

cleanup() {
	[ -n "$hp_pid" ] && kill -KILL "$hp_pid" 2>/dev/null
	[ -n "$be_pid" ] && kill -KILL "$be_pid" 2>/dev/null
	wait 2>/dev/null
	[ -n "$win" ] && destroy_window "$win" 2>/dev/null
	[ -n "$listen" ] && rm -f "$listen"
	[ -n "$backend" ] && rm -f "$backend"
	rm -rf "$W"
}
trap cleanup EXIT


if [ "${VUSHM_IN_VM:-0}" != 1 ] || [ "$(id -u)" != 0 ] || [ ! -e /dev/vushm/control ]; then
	echo "1..0 # SKIP runs in the test VM only (root, vushm loaded; it uses README's /run and /dev/vushm paths)"
	exit 4
fi
for f in "$TOP/helper/vushm-helper" "$TOP/tests/peers/vu-test-backend"; do
	if [ ! -x "$f" ]; then
		echo "1..0 # SKIP $f not built"
		exit 4
	fi
done
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "1..0 # SKIP no qemu-system-x86_64"
	exit 4
fi

echo "KTAP version 1"
echo "1..12"
echo "# $(qemu-system-x86_64 --version | head -n 1)"

# ---- the README block ---------------------------------------------------------------
# Writes W/helper.argv and W/qemu.argv (NUL-separated words) from the code
# lines between the markers: a command starts with its program name, a
# trailing backslash continues it, '#' lines are comments.
parse_readme() {
	python3 - "$README" "$W" <<'EOF'
import sys
text = open(sys.argv[1]).read().splitlines()
begin = [i for i, l in enumerate(text) if l.startswith("<!-- qemu-cmdline:")]
end = [i for i, l in enumerate(text) if l.startswith("<!-- qemu-cmdline end")]
if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
    sys.exit("README.md: want one <!-- qemu-cmdline: ... --> ... <!-- qemu-cmdline end --> block")
cmds, cur, cont = [], None, False
for l in text[begin[0] + 1:end[0]]:
    if not l.startswith("    "):
        if cont:
            sys.exit("README.md: continued line not followed by a code line")
        continue
    l = l.strip()
    if l.startswith("#"):
        continue
    words = l.rstrip("\\").split()
    if cont:
        cur.extend(words)
    else:
        cur = list(words)
        cmds.append(cur)
    cont = l.endswith("\\")
progs = [c[0] for c in cmds]
if progs != ["vushm-helper", "qemu-system-x86_64"]:
    sys.exit("README.md: want the commands vushm-helper, qemu-system-x86_64; found %s" % progs)
for name, c in zip(("helper", "qemu"), cmds):
    open("%s/%s.argv" % (sys.argv[2], name), "w").write("\0".join(c[1:]) + "\0")
    print("# %s" % " ".join(c))
EOF
}
if out=$(parse_readme 2>&1); then
	ok "README.md: the marked block holds a vushm-helper and a qemu-system-x86_64 command"
	echo "$out"
else
	diag <<<"$out"
	bail "README.md: the marked block holds a vushm-helper and a qemu-system-x86_64 command"
fi
mapfile -d '' -t hargs <"$W/helper.argv"
mapfile -d '' -t qargs <"$W/qemu.argv"

# Facts about the commands as KEY=VALUE lines in W/facts; exit 1 with the
# reasons when a piece vhost-user or the window needs is missing.
check_qemu_args() {
	python3 - "$W/qemu.argv" "$W/helper.argv" >"$W/facts" <<'EOF'
import sys
q = open(sys.argv[1]).read().split("\0")[:-1]
h = open(sys.argv[2]).read().split("\0")[:-1]
opts = {}
for i, a in enumerate(q):
    if a.startswith("-") and i + 1 < len(q) and not q[i + 1].startswith("-"):
        opts.setdefault(a, []).append(q[i + 1])
def kv(s):
    parts = s.split(",")
    d = {"": parts[0]}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        d[k] = v
    return d
objs = {kv(o)["id"]: kv(o) for o in opts.get("-object", []) if "id" in kv(o)}
devs = [kv(d) for d in opts.get("-device", [])]
chardevs = {kv(c)["id"]: kv(c) for c in opts.get("-chardev", []) if "id" in kv(c)}
errs = []
def need(cond, why):
    if not cond:
        errs.append(why)
machine = kv(opts.get("-machine", [""])[-1])
ram = objs.get(machine.get("memory-backend"), {})
need(ram.get("") == "memory-backend-memfd" and ram.get("share") == "on",
     "-machine memory-backend= does not name a memory-backend-memfd with share=on")
need(opts.get("-m", [None])[-1] == ram.get("size"), "-m is not the RAM backend's size")
ivs = [d for d in devs if d[""] == "ivshmem-plain"]
need(len(ivs) == 1, "want one ivshmem-plain device")
shm = objs.get(ivs[0].get("memdev") if ivs else None, {})
need(shm.get("") == "memory-backend-file" and shm.get("share") == "on" and
     shm.get("mem-path", "").startswith("/dev/vushm/"),
     "the ivshmem-plain memdev is not a memory-backend-file on /dev/vushm/ with share=on")
vus = [d for d in devs if d[""].startswith("vhost-user-") and d[""].endswith("-pci")]
need(len(vus) == 1, "want one vhost-user-*-pci device")
ch = chardevs.get(vus[0].get("chardev") if vus else None, {})
listen = h[h.index("--listen") + 1] if "--listen" in h else None
need(ch.get("") == "socket" and ch.get("path") == listen,
     "the vhost-user device's chardev is not a socket on the helper's --listen path")
need("--backend" in h, "the helper has no --backend")
need(opts.get("-accel") == ["kvm"], "no -accel kvm")
if errs:
    sys.exit("\n".join(errs))
print("WIN=%s" % shm["mem-path"][len("/dev/vushm/"):])
print("WIN_SIZE=%s" % shm["size"])
print("RAM_SIZE=%s" % ram["size"])
print("LISTEN=%s" % listen)
print("BACKEND=%s" % h[h.index("--backend") + 1])
print("QDEV=%s" % vus[0][""])
print("CHARDEV=%s" % vus[0]["chardev"])
EOF
}
t "README's QEMU command: shared memfd RAM as the machine's memory, the window behind ivshmem-plain, the chardev on the helper's socket" \
	check_qemu_args
# shellcheck disable=SC1091
. "$W/facts" 2>/dev/null
if [ -z "${WIN:-}" ] || [ -z "${LISTEN:-}" ] || [ -z "${BACKEND:-}" ]; then
	bail "README's commands unusable"
fi
if [ -e "/dev/vushm/$WIN" ] || [ -e "$LISTEN" ] || [ -e "$BACKEND" ]; then
	bail "/dev/vushm/$WIN, $LISTEN or $BACKEND exists already: not a fresh VM"
fi
win=$WIN
listen=$LISTEN
backend=$BACKEND

# Size strings as QEMU reads them (K, M, G, T: powers of 1024).
bytes() {
	local v=$1 m=1
	case $v in
	*[kK]) m=$((1 << 10)) v=${v%?} ;;
	*M) m=$((1 << 20)) v=${v%?} ;;
	*G) m=$((1 << 30)) v=${v%?} ;;
	*T) m=$((1 << 40)) v=${v%?} ;;
	esac
	echo $((v * m))
}

# ---- backend and helper ------------------------------------------------------------------
# wait_for FILE REGEX PID: until FILE has a line matching REGEX (60 s).
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	grep -qE "$2" "$1" 2>/dev/null
}
"$TOP/tests/peers/vu-test-backend" --socket "$backend" --shmem "0:$(bytes "$WIN_SIZE")" \
	--device blk --no-stdin >"$W/be.out" 2>"$W/be.err" &
be_pid=$!
if wait_for "$W/be.out" '^listening ' "$be_pid"; then
	ok "test backend listening on README's --backend path $backend"
else
	cat "$W/be.out" "$W/be.err" | diag
	bail "test backend listening on README's --backend path $backend"
fi

# README's helper arguments, --owner nobody:nogroup.
hrun=()
for ((i = 0; i < ${#hargs[@]}; i++)); do
	hrun+=("${hargs[i]}")
	if [ "${hargs[i]}" = --owner ]; then
		hrun+=(nobody:nogroup)
		i=$((i + 1))
	fi
done
echo "# vushm-helper ${hrun[*]}"
"$TOP/helper/vushm-helper" "${hrun[@]}" >"$W/hp.out" 2>"$W/hp.err" &
hp_pid=$!
echo "HELPER_LOG=$W/hp.err" >>"$W/facts"
if wait_for "$W/hp.out" '^ready$' "$hp_pid" &&
   grep -qx "window 0 $win /dev/vushm/$win $(bytes "$WIN_SIZE")" "$W/hp.out"; then
	ok "helper (README's arguments) ready; its window is README's mem-path, of README's size"
else
	cat "$W/hp.out" "$W/hp.err" | diag
	bail "helper (README's arguments) ready; its window is README's mem-path, of README's size"
fi

# ---- QEMU ---------------------------------------------------------------------------------------
qrun=()
for ((i = 0; i < ${#qargs[@]}; i++)); do
	if [ "${qargs[i]}" = -accel ] && [ "${qargs[i + 1]:-}" = kvm ]; then
		qrun+=(-accel tcg)
		i=$((i + 1))
	else
		qrun+=("${qargs[i]}")
	fi
done
qrun+=(-S -nodefaults -display none -qmp stdio)
echo "# as nobody: qemu-system-x86_64 ${qrun[*]}"

# QMP over QEMU's stdio: the answers, QEMU's mappings while it waits, its
# pid, exit status and stderr, as JSON in W/qmp.json.
python3 - "$W/qmp.json" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	qemu-system-x86_64 "${qrun[@]}" <<'EOF'
import json, select, subprocess, sys, time
out = {"answers": {}, "rc": None}
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
out["pid"] = p.pid      # setpriv execs QEMU
def line(deadline):
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 1)
        if r:
            l = p.stdout.readline()
            if not l:
                raise EOFError("QEMU closed QMP")
            return json.loads(l)
    raise TimeoutError("no QMP answer within 60 s")
def cmd(name, **args):
    msg = {"execute": name}
    if args:
        msg["arguments"] = args
    p.stdin.write(json.dumps(msg) + "\n")
    p.stdin.flush()
    deadline = time.monotonic() + 60
    while True:
        m = line(deadline)
        if "return" in m or "error" in m:
            return m
try:
    out["greeting"] = line(time.monotonic() + 60)
    cmd("qmp_capabilities")
    a = out["answers"]
    a["status"] = cmd("query-status")
    a["memdev"] = cmd("query-memdev")
    a["ram"] = cmd("qom-get", path="/machine", property="memory-backend")
    a["pci"] = cmd("query-pci")
    a["chardev"] = cmd("query-chardev")
    out["maps"] = open("/proc/%d/maps" % p.pid).read()
    a["quit"] = cmd("quit")
except Exception as e:
    out["error"] = repr(e)
    p.kill()
try:
    out["rc"] = p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    out["rc"] = p.wait()
out["stderr"] = p.stderr.read()
json.dump(out, open(sys.argv[1], "w"))
EOF

qemu_ran() {
	python3 - "$W/qmp.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
if "error" in o or o["rc"] != 0 or o["stderr"].strip() or "greeting" not in o:
    sys.exit("QEMU exit %s, %s\nstderr: %s" % (o["rc"], o.get("error", "no QMP error"), o["stderr"]))
print(o["greeting"]["QMP"]["version"]["package"])
EOF
}
if out=$(qemu_ran 2>&1); then
	ok "QEMU 7.2 accepts README's options (QMP up, quit over QMP, exit 0, nothing on stderr)"
	diag 1 <<<"$out"
else
	diag <<<"$out"
	bail "QEMU 7.2 accepts README's options (QMP up, quit over QMP, exit 0, nothing on stderr)"
fi

# qmp_check PYTHON: runs PYTHON with o (W/qmp.json), a (the QMP return
# values), f (the facts) and size() (QEMU size strings).
qmp_check() {
	python3 - "$W/qmp.json" "$W/facts" "$1" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
a = {k: v.get("return", v) for k, v in o["answers"].items()}
f = dict(l.strip().split("=", 1) for l in open(sys.argv[2]) if "=" in l)
def size(s):
    m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(s[:-1]) * m[s[-1]] if s[-1] in m else int(s)
exec(sys.argv[3])
EOF
}
t "query-status: prelaunch, not running (-S: no guest code ran)" qmp_check '
assert a["status"]["status"] == "prelaunch" and not a["status"]["running"], a["status"]'
t "query-memdev: guest RAM and the window are shared memory backends of README's sizes; the machine's RAM is \"mem\"" qmp_check '
m = {d["id"]: d for d in a["memdev"]}
assert m["mem"]["share"] and m["mem"]["size"] == size(f["RAM_SIZE"]), m
assert m["shm0"]["share"] and m["shm0"]["size"] == size(f["WIN_SIZE"]), m
assert str(a["ram"]).rsplit("/", 1)[-1] == "mem", a["ram"]'
t "query-pci: ivshmem (1af4:1110) with a BAR2 of the window's size, and the vhost-user device" qmp_check '
devs = [d for b in a["pci"] for d in b["devices"]]
iv = [d for d in devs if (d["id"]["vendor"], d["id"]["device"]) == (0x1af4, 0x1110)]
assert len(iv) == 1, devs
bar2 = [r for r in iv[0]["regions"] if r["bar"] == 2]
assert bar2 and bar2[0]["size"] == size(f["WIN_SIZE"]), iv[0]["regions"]
want = {"vhost-user-blk-pci": (0x1af4, 0x1001)}.get(f["QDEV"])
vio = [(d["id"]["vendor"], d["id"]["device"]) for d in devs if d["id"]["vendor"] == 0x1af4]
assert (want or vio[-1]) in vio and len(vio) == 2, devs'
t "query-chardev: the vhost-user device's chardev is open; the helper saw QEMU's pid connect" qmp_check '
c = {x["label"]: x for x in a["chardev"]}
assert c[f["CHARDEV"]]["frontend-open"], c
log = open(f["HELPER_LOG"]).read()
assert "session 1: VMM connected (pid %d)" % o["pid"] in log, log'
t "QEMU maps the RAM (a memfd) and the window node shared, whole (/proc/PID/maps)" qmp_check '
def shared(pred, size):
    for l in o["maps"].splitlines():
        m = l.split(None, 5)
        lo, hi = (int(x, 16) for x in m[0].split("-"))
        if len(m) == 6 and m[1][3] == "s" and pred(m[5]) and hi - lo == size:
            return True
    return False
assert shared(lambda p: p.startswith("/memfd:"), size(f["RAM_SIZE"])), "no shared memfd mapping of the RAM size"
assert shared(lambda p: p == "/dev/vushm/" + f["WIN"], size(f["WIN_SIZE"])), "no shared mapping of the whole window node"'
t "the vhost-user handshake went through the helper (SHMEM negotiated with the backend)" \
	grep -q 'session 1: SHMEM negotiated' "$W/hp.err"

# ---- stop -----------------------------------------------------------------------------------------
stop_all() {
	local rc
	kill -TERM "$hp_pid"
	wait "$hp_pid"
	rc=$?
	hp_pid=
	[ "$rc" = 0 ] || { echo "helper exit $rc"; tail -n 20 "$W/hp.err"; return 1; }
	[ ! -e "$listen" ] || { echo "$listen left behind"; return 1; }
	kill -TERM "$be_pid"
	wait "$be_pid"
	be_pid=
	destroy_window "$win" && win=
}
# Not through t(): the helper is a child of this shell, not of a subshell.
if stop_all >"$W/stop.log" 2>&1; then
	ok "helper stops on SIGTERM (exit 0, socket removed); window destroyed"
else
	notok "helper stops on SIGTERM (exit 0, socket removed); window destroyed"
	diag <"$W/stop.log"
fi

echo "# Totals: pass:$((n - fails)) fail:$fails"
[ "$fails" = 0 ]
