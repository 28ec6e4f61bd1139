// SPDX-License-Identifier: GPL-2.0
/*
 * vushm-demo - show, step by step, what vushm does: a backend's memfd
 * appears in a VMM's mapping of a window and goes away again, while the
 * VMM's memory layout never changes.  Part 1 uses a plain process as the
 * "VMM"; part 2 a real QEMU (driven over qtest, tests/qemu/qtest.c).
 *
 * Run as root with vushm.ko loaded (tests/demo/run-demo.sh, "make demo").
 * Exit status: 0 every step behaved as described, 1 one did not, 4 the QEMU
 * part could not run (no qemu-system-x86_64) but everything else did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uapi/linux/vushm.h>

#include "qtest.h"

#define CONTROL_NODE	"/dev/vushm/control"
#define WIN_NAME	"vushm-demo"
#define WIN_NAME_QEMU	"vushm-demo-qemu"
#define MIB		(1ULL << 20)
#define WIN_SIZE	(64 * MIB)
#define AT		(1 * MIB)		/* where the text is mapped */
#define AT_RW		(2 * MIB)		/* the read-write page (QEMU) */
#define MAP_LEN		(64 * 1024ULL)
#define TEXT		"Hello from the backend's memfd, mapped by vushm!"
#define REPLY		"and hello back from the guest, through BAR2"
#define SHOW		48			/* bytes shown per read */

static int step_no, failures;
static int ctl = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define STEP(fmt, ...)	say("[%d] " fmt, ++step_no, ##__VA_ARGS__)
#define NOTE(fmt, ...)	say("     " fmt, ##__VA_ARGS__)

/* Report one expectation; returns @ok. */
static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("     %s: ", ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
	return ok;
}

static void __attribute__((noreturn)) fatal(const char *fmt, ...)
{
	va_list ap;

	printf("     FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nvushm demo: stopped at step %d\n", step_no);
	exit(1);
}

/* "Hello..." for printable bytes, "00 00 00 ..." otherwise. */
static const char *show(const void *buf, size_t len)
{
	static char out[4 * SHOW + 8];
	const unsigned char *p = buf;
	bool printable = p[0] != 0;
	size_t n = len < SHOW ? len : SHOW, o = 0;

	for (size_t i = 0; i < n && p[i]; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			printable = false;
	if (printable)
		return snprintf(out, sizeof(out), "\"%.*s\"", (int)strnlen(buf, n),
				(const char *)buf), out;
	for (size_t i = 0; i < n && i < 16; i++)
		o += snprintf(out + o, sizeof(out) - o, "%02x ", p[i]);
	snprintf(out + o, sizeof(out) - o, "...");
	return out;
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static const char *sysfs(const char *name, const char *attr)
{
	static char val[8][64];
	static int slot;
	char path[128], *v = val[slot++ % 8];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/vushm/%s/%s", name, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return "?";
	n = read(fd, v, 63);
	close(fd);
	if (n < 0)
		return "?";
	while (n > 0 && v[n - 1] == '\n')
		n--;
	v[n] = '\0';
	return v;
}

static const char *size_str(uint64_t bytes)
{
	static char buf[4][32];
	static int slot;
	char *b = buf[slot++ % 4];

	if (bytes >= (1ULL << 40) && !(bytes % (1ULL << 40)))
		snprintf(b, 32, "%" PRIu64 " TiB", bytes >> 40);
	else if (bytes >= MIB && !(bytes % MIB))
		snprintf(b, 32, "%" PRIu64 " MiB", bytes >> 20);
	else if (bytes >= 1024 && !(bytes % 1024))
		snprintf(b, 32, "%" PRIu64 " KiB", bytes >> 10);
	else
		snprintf(b, 32, "%" PRIu64 " bytes", bytes);
	return b;
}

static int create_window(const char *name, uint32_t mode)
{
	struct vushm_create c = { .size = WIN_SIZE, .mode = mode,
				  .hole_policy = VUSHM_HOLE_ZERO };
	int fd;

	snprintf(c.name, sizeof(c.name), "%s", name);
	fd = ioctl(ctl, VUSHM_CREATE, &c);
	if (fd < 0 && errno == EEXIST) {	/* left over by an earlier run */
		struct vushm_window_ref ref = { 0 };

		snprintf(ref.name, sizeof(ref.name), "%s", name);
		ioctl(ctl, VUSHM_DESTROY, &ref);
		fd = ioctl(ctl, VUSHM_CREATE, &c);
	}
	if (fd < 0)
		fatal("VUSHM_CREATE %s: %s", name, strerror(errno));
	return fd;
}

static int destroy_window(const char *name)
{
	struct vushm_window_ref ref = { 0 };

	snprintf(ref.name, sizeof(ref.name), "%s", name);
	return ioctl(ctl, VUSHM_DESTROY, &ref);
}

static int map(int ctlr, int fd, uint64_t shm_offset, uint64_t flags)
{
	struct vushm_map m = { .fd = fd, .shm_offset = shm_offset,
			       .len = MAP_LEN, .flags = flags };

	return ioctl(ctlr, VUSHM_MAP, &m);
}

static int unmap(int ctlr, uint64_t shm_offset)
{
	struct vushm_unmap u = { .shm_offset = shm_offset, .len = MAP_LEN };

	return ioctl(ctlr, VUSHM_UNMAP, &u);
}

static int backend_memfd(const char *text)
{
	int fd = memfd_create("vushm-demo-backend", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, MAP_LEN) ||
	    pwrite(fd, text, strlen(text) + 1, 0) != (ssize_t)strlen(text) + 1)
		fatal("memfd: %s", strerror(errno));
	return fd;
}

/* ---- part 1: a process standing in for the VMM ------------------------ */

enum { VMM_READ, VMM_WRITE, VMM_EXIT };

struct vmm_req {
	int op;
	uint64_t off;
};

struct vmm_resp {
	int sig;			/* VMM_WRITE: signal caught, 0 if none */
	unsigned char data[SHOW];	/* VMM_READ */
};

struct vmm {
	pid_t pid;
	int req, resp;
};

static sigjmp_buf vmm_jmp;
static volatile sig_atomic_t vmm_sig;

static void vmm_on_signal(int sig)
{
	vmm_sig = sig;
	siglongjmp(vmm_jmp, 1);
}

/* The VMM: maps the node once, then reads and writes where it is told. */
static void __attribute__((noreturn)) vmm_main(const char *node, int req,
					       int resp)
{
	struct sigaction sa = { .sa_handler = vmm_on_signal };
	volatile unsigned char *win;
	struct vmm_req r;
	int fd;

	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		say("     vmm: open %s: %s", node, strerror(errno));
		_exit(1);
	}
	win = mmap(NULL, WIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (win == MAP_FAILED) {
		say("     vmm: mmap: %s", strerror(errno));
		_exit(1);
	}
	close(fd);
	say("     vmm (pid %d): %s mapped at %p, %s, MAP_SHARED, read-write",
	    getpid(), node, (void *)win, size_str(WIN_SIZE));
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	/* ready */
	if (write(resp, &(struct vmm_resp){ 0 }, sizeof(struct vmm_resp)) < 0)
		_exit(1);
	while (read(req, &r, sizeof(r)) == sizeof(r)) {
		struct vmm_resp out = { 0 };

		switch (r.op) {
		case VMM_READ:
			vmm_sig = 0;
			if (!sigsetjmp(vmm_jmp, 1))
				memcpy(out.data, (void *)(win + r.off), SHOW);
			out.sig = vmm_sig;
			break;
		case VMM_WRITE:
			vmm_sig = 0;
			if (!sigsetjmp(vmm_jmp, 1))
				memcpy((void *)(win + r.off), "VMM WAS HERE", 12);
			out.sig = vmm_sig;
			break;
		default:
			_exit(0);
		}
		if (write(resp, &out, sizeof(out)) != sizeof(out))
			_exit(1);
	}
	_exit(0);
}

static void vmm_start(struct vmm *v, const char *node)
{
	int req[2], resp[2];
	struct vmm_resp ready;

	if (pipe(req) || pipe(resp))
		fatal("pipe: %s", strerror(errno));
	fflush(stdout);
	v->pid = fork();
	if (v->pid < 0)
		fatal("fork: %s", strerror(errno));
	if (!v->pid) {
		close(req[1]);
		close(resp[0]);
		vmm_main(node, req[0], resp[1]);
	}
	close(req[0]);
	close(resp[1]);
	v->req = req[1];
	v->resp = resp[0];
	if (read(v->resp, &ready, sizeof(ready)) != sizeof(ready))
		fatal("the VMM process did not start");
}

static struct vmm_resp vmm_do(struct vmm *v, int op, uint64_t off)
{
	struct vmm_req r = { .op = op, .off = off };
	struct vmm_resp out;

	if (write(v->req, &r, sizeof(r)) != sizeof(r) ||
	    read(v->resp, &out, sizeof(out)) != sizeof(out))
		fatal("the VMM process died");
	return out;
}

static void vmm_stop(struct vmm *v)
{
	int status;

	close(v->req);
	close(v->resp);
	waitpid(v->pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the VMM exited normally");
}

static void part1(void)
{
	const char *node = "/dev/vushm/" WIN_NAME;
	struct vushm_info info = { 0 };
	unsigned char before[SHOW], after[SHOW];
	struct vmm_resp r;
	struct vmm vmm;
	struct stat st;
	int ctlr, fd, ret;

	STEP("module loaded: %s", CONTROL_NODE);
	if (ioctl(ctl, VUSHM_GET_INFO, &info))
		fatal("VUSHM_GET_INFO: %s", strerror(errno));
	NOTE("GET_INFO: api version %u, page size %u, features%s%s%s%s",
	     info.api_version, info.page_size,
	     info.features & VUSHM_F_URING_CMD ? " uring_cmd" : "",
	     info.features & VUSHM_F_HOLE_SIGBUS ? " hole_sigbus" : "",
	     info.features & VUSHM_F_EPHEMERAL ? " ephemeral" : "",
	     info.features & VUSHM_F_ATTACH ? " attach" : "");
	NOTE("limits: windows up to %s, %u windows, %u mappings per window",
	     size_str(info.max_window_size), info.max_windows,
	     info.max_mappings);
	check(info.api_version == VUSHM_API_VERSION, "api version %d expected",
	      VUSHM_API_VERSION);

	STEP("create window \"%s\": %s, hole policy zero, mode 0640",
	     WIN_NAME, size_str(WIN_SIZE));
	ctlr = create_window(WIN_NAME, 0640);
	if (stat(node, &st))
		fatal("stat %s: %s", node, strerror(errno));
	NOTE("node %s: char %u:%u, owner %u:%u, mode %04o", node,
	     major(st.st_rdev), minor(st.st_rdev), st.st_uid, st.st_gid,
	     st.st_mode & 07777);
	NOTE("sysfs /sys/class/vushm/%s: size=%s shmid=%s hole_policy=%s "
	     "controller=%s nr_mappings=%s", WIN_NAME, sysfs(WIN_NAME, "size"),
	     sysfs(WIN_NAME, "shmid"), sysfs(WIN_NAME, "hole_policy"),
	     sysfs(WIN_NAME, "controller"), sysfs(WIN_NAME, "nr_mappings"));
	check(S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0640 &&
	      !strcmp(sysfs(WIN_NAME, "size"), "67108864") &&
	      !strcmp(sysfs(WIN_NAME, "hole_policy"), "zero"),
	      "character device, mode 0640, sysfs size and hole policy");

	STEP("a \"VMM\" process opens the node and mmaps the whole window");
	vmm_start(&vmm, node);
	NOTE("sysfs nr_vmas=%s", sysfs(WIN_NAME, "nr_vmas"));
	r = vmm_do(&vmm, VMM_READ, AT);
	NOTE("vmm reads window+1 MiB: %s", show(r.data, SHOW));
	check(!r.sig && all_zero(r.data, SHOW), "nothing mapped: zeros");

	STEP("a \"backend\" fills a memfd (%s) with text", size_str(MAP_LEN));
	fd = backend_memfd(TEXT);
	NOTE("memfd: \"%s\"", TEXT);

	STEP("VUSHM_MAP memfd[0, 64 KiB) at window offset 1 MiB, read-only");
	if (map(ctlr, fd, AT, 0))
		fatal("VUSHM_MAP: %s", strerror(errno));
	NOTE("sysfs nr_mappings=%s mapped_bytes=%s",
	     sysfs(WIN_NAME, "nr_mappings"), sysfs(WIN_NAME, "mapped_bytes"));

	STEP("the VMM reads window+1 MiB again (same mapping, no mmap call)");
	r = vmm_do(&vmm, VMM_READ, AT);
	NOTE("vmm reads: %s", show(r.data, SHOW));
	check(!r.sig && !memcmp(r.data, TEXT, SHOW),
	      "the VMM sees the backend's bytes");

	STEP("the VMM tries to write into the read-only mapping");
	if (pread(fd, before, SHOW, 0) != SHOW)
		fatal("pread: %s", strerror(errno));
	r = vmm_do(&vmm, VMM_WRITE, AT);
	NOTE("vmm store: %s", r.sig ? strsignal(r.sig) : "no fault");
	if (pread(fd, after, SHOW, 0) != SHOW)
		fatal("pread: %s", strerror(errno));
	check(r.sig == SIGBUS, "refused with SIGBUS (caught by the VMM)");
	check(!memcmp(before, after, SHOW), "the memfd is unchanged: %s",
	      show(after, SHOW));

	STEP("VUSHM_UNMAP window offset 1 MiB");
	if (unmap(ctlr, AT))
		fatal("VUSHM_UNMAP: %s", strerror(errno));
	NOTE("sysfs nr_mappings=%s", sysfs(WIN_NAME, "nr_mappings"));
	r = vmm_do(&vmm, VMM_READ, AT);
	NOTE("vmm reads window+1 MiB: %s", show(r.data, SHOW));
	check(!r.sig && all_zero(r.data, SHOW),
	      "zeros again; the VMM's mapping is still there");

	STEP("the VMM exits; VUSHM_DESTROY \"%s\"", WIN_NAME);
	vmm_stop(&vmm);
	close(fd);
	ret = destroy_window(WIN_NAME);
	check(!ret, "VUSHM_DESTROY: %s", ret ? strerror(errno) : "done");
	check(access(node, F_OK) && access("/sys/class/vushm/" WIN_NAME, F_OK),
	      "node and sysfs directory are gone");
	close(ctlr);
}

/* ---- part 2: QEMU ------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void qemu_fatal(struct qtest *qt, const char *what)
{
	char err[512];

	qtest_kill(qt);
	fatal("%s: %s; QEMU stderr: '%s'", what, qt->err,
	      qtest_stderr(qt, err, sizeof(err)));
}

static bool part2(void)
{
	const char *node = "/dev/vushm/" WIN_NAME_QEMU;
	struct qtest_config cfg = { .mem_path = node, .size = WIN_SIZE };
	unsigned char buf[SHOW], before[SHOW], after[SHOW];
	char qemu[512], st[64];
	struct qtest qt;
	uint64_t bar_size;
	int ctlr, fd, fd_rw, ret, status;
	double t;

	putchar('\n');
	say("Part 2: the same with a real VMM, QEMU with an ivshmem-plain device");
	if (qtest_find_qemu(NULL, qemu, sizeof(qemu))) {
		say("     skipped: qemu-system-x86_64 not found (set VUSHM_QEMU)");
		return false;
	}

	STEP("create window \"%s\" (%s)", WIN_NAME_QEMU, size_str(WIN_SIZE));
	ctlr = create_window(WIN_NAME_QEMU, 0600);

	STEP("start QEMU on it: %s", qemu);
	NOTE("-object memory-backend-file,mem-path=%s,share=on,size=64M", node);
	NOTE("-device ivshmem-plain -S -qtest stdio  (the guest never runs;");
	NOTE(" this program plays the guest over the qtest protocol)");
	t = now_s();
	if (qtest_start(&qt, &cfg))
		fatal("start QEMU: %s", qt.err);
	if (qtest_ivshmem_bar2(&qt, QTEST_BAR2_ADDR, &bar_size))
		qemu_fatal(&qt, "program the ivshmem BAR2");
	NOTE("QEMU pid %d ready in %.1f s; guest PCI: ivshmem BAR2 (%s) placed "
	     "at 0x%llx", qt.pid, now_s() - t, size_str(bar_size),
	     QTEST_BAR2_ADDR);
	check(bar_size == WIN_SIZE, "BAR2 is the window's size");
	NOTE("sysfs nr_vmas=%s (QEMU's mapping)", sysfs(WIN_NAME_QEMU, "nr_vmas"));

	STEP("backend memfd with the text; VUSHM_MAP at window offset 1 MiB, "
	     "read-only");
	fd = backend_memfd(TEXT);
	if (map(ctlr, fd, AT, 0))
		fatal("VUSHM_MAP: %s", strerror(errno));
	if (qtest_read(&qt, QTEST_BAR2_ADDR + AT, buf, SHOW))
		qemu_fatal(&qt, "qtest read");
	NOTE("guest reads BAR2+1 MiB: %s", show(buf, SHOW));
	check(!memcmp(buf, TEXT, SHOW), "the guest sees the backend's bytes");

	STEP("VUSHM_UNMAP window offset 1 MiB");
	if (unmap(ctlr, AT))
		fatal("VUSHM_UNMAP: %s", strerror(errno));
	if (qtest_read(&qt, QTEST_BAR2_ADDR + AT, buf, SHOW))
		qemu_fatal(&qt, "qtest read");
	NOTE("guest reads BAR2+1 MiB: %s", show(buf, SHOW));
	check(all_zero(buf, SHOW), "zeros; QEMU's memory layout did not change");

	STEP("VUSHM_MAP a second memfd at window offset 2 MiB, read-write");
	fd_rw = backend_memfd("");
	if (map(ctlr, fd_rw, AT_RW, VUSHM_MAP_RW))
		fatal("VUSHM_MAP: %s", strerror(errno));
	if (qtest_write(&qt, QTEST_BAR2_ADDR + AT_RW, REPLY, sizeof(REPLY)))
		qemu_fatal(&qt, "qtest write");
	NOTE("guest writes BAR2+2 MiB: \"%s\"", REPLY);
	if (pread(fd_rw, buf, SHOW, 0) != SHOW)
		fatal("pread: %s", strerror(errno));
	NOTE("backend reads its memfd: %s", show(buf, SHOW));
	check(!memcmp(buf, REPLY, sizeof(REPLY)), "the store reached the memfd");
	check(qtest_alive(&qt), "QEMU is running");

	STEP("VUSHM_MAP the text read-only again; the guest stores into it");
	if (map(ctlr, fd, AT, 0))
		fatal("VUSHM_MAP: %s", strerror(errno));
	if (pread(fd, before, SHOW, 0) != SHOW)
		fatal("pread: %s", strerror(errno));
	ret = qtest_write(&qt, QTEST_BAR2_ADDR + AT, "GUEST WAS HERE", 14);
	if (ret)
		qtest_wait(&qt, 10000);
	NOTE("guest store: %s, QEMU %s", ret ? "no reply" : "answered OK",
	     qtest_alive(&qt) ? "still runs" :
	     qtest_status_str(qt.status, st, sizeof(st)));
	if (pread(fd, after, SHOW, 0) != SHOW)
		fatal("pread: %s", strerror(errno));
	check(!memcmp(before, after, SHOW), "the memfd is unchanged: %s",
	      show(after, SHOW));
	check(qt.reaped && WIFSIGNALED(qt.status) &&
	      WTERMSIG(qt.status) == SIGBUS,
	      "refused: QEMU's store faulted with SIGBUS, which kills QEMU "
	      "(a shell shows exit 135)");

	STEP("VUSHM_DESTROY \"%s\"", WIN_NAME_QEMU);
	if (qtest_alive(&qt)) {
		status = qtest_stop(&qt);
		NOTE("QEMU stopped: %s", qtest_status_str(status, st,
							  sizeof(st)));
	}
	qtest_close(&qt);
	close(fd);
	close(fd_rw);
	ret = destroy_window(WIN_NAME_QEMU);
	check(!ret, "VUSHM_DESTROY: %s", ret ? strerror(errno) : "done");
	close(ctlr);
	return true;
}

int main(void)
{
	bool qemu_ran;

	say("vushm demo: a backend's memfd appears in, and disappears from, a "
	    "VMM's mapping of a window; the VMM never calls mmap again.");
	putchar('\n');
	say("Part 1: a process standing in for the VMM");
	ctl = open(CONTROL_NODE, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		say("%s: %s (load vushm.ko; run as root)", CONTROL_NODE,
		    strerror(errno));
		return 1;
	}
	part1();
	qemu_ran = part2();

	putchar('\n');
	say("Summary:");
	say("  - /dev/vushm/control created a window; its node, owner, mode and "
	    "sysfs attributes are as requested");
	say("  - MAP made a memfd's bytes appear in an existing mmap of the "
	    "window (a process%s)", qemu_ran ? " and QEMU's BAR2" : "");
	say("  - a read-only mapping refused stores with SIGBUS; the memfd "
	    "stayed unchanged");
	say("  - UNMAP made the same addresses read zeros; no process remapped "
	    "anything");
	if (qemu_ran)
		say("  - an unmodified QEMU used the window as ivshmem memory; a "
		    "read-write mapping carried a guest store to the backend");
	say("  - DESTROY removed the node and its sysfs directory");
	say("%s: %d step(s), %d failed check(s)%s",
	    failures ? "DEMO FAILED" : "DEMO OK", step_no, failures,
	    qemu_ran ? "" : ", QEMU part skipped");
	close(ctl);
	if (failures)
		return 1;
	return qemu_ran ? 0 : 4;
}
