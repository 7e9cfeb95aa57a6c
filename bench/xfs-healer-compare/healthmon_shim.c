// SPDX-License-Identifier: MIT
/*
 * healthmon_shim.c — an LD_PRELOAD stand-in for the Linux 7.0 XFS health monitor, so that xfsprogs' xfs_healer and
 * `fshealer xfs-healer` can be run side by side, as whole processes, on a kernel without one (or with recorded input).
 *
 * It answers, on an otherwise real XFS mount:
 *   XFS_IOC_HEALTH_MONITOR              with an fd reading HEALTHMON_SHIM_STREAM (a file of 64-byte records), or fails
 *                                       with HEALTHMON_SHIM_MONITOR_ERRNO (e.g. 25 = ENOTTY, 17 = EEXIST)
 *   XFS_IOC_HEALTH_FD_ON_MONITORED_FS   0, or HEALTHMON_SHIM_SAMEFS_ERRNO (e.g. 116 = ESTALE) — on the monitor fd only
 *   XFS_IOC_SCRUB_METADATA              type PROBE: HEALTHMON_SHIM_PROBE ("ok" | "errno:N"); anything else: the next
 *                                       outcome of HEALTHMON_SHIM_SCRUB, a comma list used round-robin:
 *                                       success | unnecessary | xfail | corrupt | incomplete | errno:N (default success)
 * and passes every other ioctl to the kernel (syscall(SYS_ioctl), so nothing here depends on symbol lookup order).
 * HEALTHMON_SHIM_LOG=FILE appends one line per scrub call ("type T agno A ino I gen G -> outcome"), to check that
 * both programs repair the same structures in the same order.
 *
 * Symbol lookup: xfs_healer (C) binds `ioctl` through the dynamic linker, which LD_PRELOAD interposes. A .NET
 * process resolves a [LibraryImport("libc")] lazily with dlopen("libc.so.6") + dlsym(handle, "ioctl"), and a
 * handle-scoped dlsym searches libc only — never a preloaded object. So the shim also interposes dlsym and answers
 * "ioctl" with its own function (other names go to the real dlsym, found with dlvsym). The fshealer AOT binary binds
 * libc directly (DirectPInvoke), so it needs only the first; the JIT build (tests) needs the second.
 *
 * Without HEALTHMON_SHIM_STREAM (and without HEALTHMON_SHIM_MONITOR_ERRNO) the shim passes everything through.
 *
 * Build: gcc -O2 -shared -fPIC -o healthmon_shim.so healthmon_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define XFS_IOC_HEALTH_MONITOR            0x40205844UL
#define XFS_IOC_HEALTH_FD_ON_MONITORED_FS 0x40085845UL
#define XFS_IOC_SCRUB_METADATA            0xC040583CUL

#define XFS_SCRUB_TYPE_PROBE        0
#define XFS_SCRUB_OFLAG_CORRUPT     (1u << 1)
#define XFS_SCRUB_OFLAG_XFAIL       (1u << 3)
#define XFS_SCRUB_OFLAG_INCOMPLETE  (1u << 5)
#define XFS_SCRUB_OFLAG_NO_REPAIR_NEEDED (1u << 7)

struct xfs_scrub_metadata {
	uint32_t sm_type, sm_flags;
	uint64_t sm_ino;
	uint32_t sm_gen, sm_agno;
	uint64_t sm_reserved[5];
};

enum outcome_kind { OUT_SUCCESS, OUT_UNNECESSARY, OUT_XFAIL, OUT_CORRUPT, OUT_INCOMPLETE, OUT_ERRNO };
struct outcome { enum outcome_kind kind; int err; };

#define MAX_OUTCOMES 64
static struct outcome outcomes[MAX_OUTCOMES];
static int n_outcomes;
static struct outcome probe = { OUT_SUCCESS, 0 };
static unsigned long scrub_calls;
static int monitor_fd = -1;
static int log_fd = -1;
static int is_active, monitor_errno, samefs_errno;
static const char *stream_path;

static long real_ioctl(int fd, unsigned long req, void *arg)
{
	return syscall(SYS_ioctl, fd, req, arg);
}

static int parse_outcome(const char *s, size_t len, struct outcome *o)
{
#define IS(w) (len == sizeof(w) - 1 && memcmp(s, w, len) == 0)
	if (IS("success") || IS("ok")) { o->kind = OUT_SUCCESS; return 0; }
	if (IS("unnecessary")) { o->kind = OUT_UNNECESSARY; return 0; }
	if (IS("xfail")) { o->kind = OUT_XFAIL; return 0; }
	if (IS("corrupt") || IS("fail")) { o->kind = OUT_CORRUPT; return 0; }
	if (IS("incomplete")) { o->kind = OUT_INCOMPLETE; return 0; }
#undef IS
	if (len > 6 && memcmp(s, "errno:", 6) == 0) {
		o->kind = OUT_ERRNO;
		o->err = atoi(s + 6);
		return o->err > 0 ? 0 : -1;
	}
	return -1;
}

static int env_errno(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? atoi(v) : 0;
}

/* The environment is read once, before main: every ioctl after that costs one comparison more than the kernel's. */
__attribute__((constructor)) static void init(void)
{
	stream_path = getenv("HEALTHMON_SHIM_STREAM");
	monitor_errno = env_errno("HEALTHMON_SHIM_MONITOR_ERRNO");
	samefs_errno = env_errno("HEALTHMON_SHIM_SAMEFS_ERRNO");
	is_active = stream_path != NULL || monitor_errno != 0;
	if (!is_active)
		return;
	const char *s = getenv("HEALTHMON_SHIM_SCRUB");
	if (!s || !*s)
		s = "success";
	int n = 0;
	while (*s && n < MAX_OUTCOMES) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (parse_outcome(s, len, &outcomes[n]) == 0)
			n++;
		else
			fprintf(stderr, "healthmon_shim: bad outcome '%.*s' ignored\n", (int)len, s);
		s += len;
		if (*s == ',')
			s++;
	}
	if (n == 0)
		outcomes[n++] = (struct outcome){ OUT_SUCCESS, 0 };
	n_outcomes = n;
	const char *p = getenv("HEALTHMON_SHIM_PROBE");
	if (p && *p && parse_outcome(p, strlen(p), &probe) != 0)
		fprintf(stderr, "healthmon_shim: bad HEALTHMON_SHIM_PROBE '%s' ignored\n", p);
	const char *l = getenv("HEALTHMON_SHIM_LOG");
	if (l && *l)
		log_fd = (int)syscall(SYS_openat, AT_FDCWD, l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void log_scrub(const struct xfs_scrub_metadata *sm, const char *what)
{
	if (log_fd < 0)
		return;
	char line[160];
	int n = snprintf(line, sizeof(line), "type %u agno %u ino %llu gen %u -> %s\n", sm->sm_type, sm->sm_agno,
			 (unsigned long long)sm->sm_ino, sm->sm_gen, what);
	if (n > 0)
		(void)!write(log_fd, line, (size_t)n);
}

static int fake_scrub(struct xfs_scrub_metadata *sm)
{
	struct outcome o;
	if (sm->sm_type == XFS_SCRUB_TYPE_PROBE) {
		o = probe;
	} else {
		unsigned long i = __atomic_fetch_add(&scrub_calls, 1, __ATOMIC_RELAXED);
		o = outcomes[i % (unsigned long)n_outcomes];
	}
	char what[32];
	switch (o.kind) {
	case OUT_SUCCESS: strcpy(what, "success"); break;
	case OUT_UNNECESSARY: sm->sm_flags |= XFS_SCRUB_OFLAG_NO_REPAIR_NEEDED; strcpy(what, "unnecessary"); break;
	case OUT_XFAIL: sm->sm_flags |= XFS_SCRUB_OFLAG_XFAIL; strcpy(what, "xfail"); break;
	case OUT_CORRUPT: sm->sm_flags |= XFS_SCRUB_OFLAG_CORRUPT; strcpy(what, "corrupt"); break;
	case OUT_INCOMPLETE: sm->sm_flags |= XFS_SCRUB_OFLAG_INCOMPLETE; strcpy(what, "incomplete"); break;
	case OUT_ERRNO: snprintf(what, sizeof(what), "errno %d", o.err); break;
	}
	if (sm->sm_type != XFS_SCRUB_TYPE_PROBE)
		log_scrub(sm, what);
	if (o.kind == OUT_ERRNO) {
		errno = o.err;
		return -1;
	}
	return 0;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	if (!is_active)
		return (int)real_ioctl(fd, req, arg);
	switch (req) {
	case XFS_IOC_HEALTH_MONITOR: {
		if (monitor_errno) {
			errno = monitor_errno;
			return -1;
		}
		if (fd == monitor_fd && monitor_fd >= 0)
			return 0; /* reconfiguring an open monitor (VERBOSE toggle) */
		int mfd = (int)syscall(SYS_openat, AT_FDCWD, stream_path, O_RDONLY | O_CLOEXEC);
		if (mfd < 0)
			return -1;
		monitor_fd = mfd;
		return mfd;
	}
	case XFS_IOC_HEALTH_FD_ON_MONITORED_FS: {
		if (fd != monitor_fd || monitor_fd < 0) {
			errno = ENOTTY;
			return -1;
		}
		if (samefs_errno) {
			errno = samefs_errno;
			return -1;
		}
		return 0;
	}
	case XFS_IOC_SCRUB_METADATA:
		return fake_scrub((struct xfs_scrub_metadata *)arg);
	default:
		return (int)real_ioctl(fd, req, arg);
	}
}

/* glibc >= 2.34 keeps dlsym in libc.so.6 (GLIBC_2.34); older ones in libdl (GLIBC_2.2.5) */
static void *(*resolve_real_dlsym(void))(void *, const char *)
{
	static void *(*real)(void *, const char *);
	if (!real) {
		real = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
		if (!real)
			real = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	}
	return real;
}

void *dlsym(void *restrict handle, const char *restrict name)
{
	if (strcmp(name, "ioctl") == 0)
		return (void *)ioctl;
	return resolve_real_dlsym()(handle, name);
}
