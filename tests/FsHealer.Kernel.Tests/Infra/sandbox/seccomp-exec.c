/* seccomp-exec: run a command under a system call filter built like systemd's SystemCallFilter= (allow list).
 *   seccomp-exec LISTFILE DENY [--mdwe] -- COMMAND [ARGS...]
 * LISTFILE: one system call per line, "+name" allowed, "-name" known to systemd but not allowed.
 * DENY: what a known, not allowed call gets: "kill" (SIGSYS, systemd's default) or an errno number
 * (SystemCallErrorNumber=). Calls not in the file at all (newer than systemd's list) fail with ENOSYS, as systemd does.
 * --mdwe: MemoryDenyWriteExecute=true as systemd builds it: mmap() of memory both writable and executable, and
 * mprotect()/pkey_mprotect() adding PROT_EXEC, fail with EPERM.
 * Build: gcc -O2 -Wall seccomp-exec.c -lseccomp -o seccomp-exec */
#include <errno.h>
#include <sys/mman.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int mdwe = argc > 3 && !strcmp(argv[3], "--mdwe");
	int cmd = mdwe ? 5 : 4;
	if (argc <= cmd || strcmp(argv[cmd - 1], "--")) {
		fprintf(stderr, "usage: %s LISTFILE kill|ERRNO [--mdwe] -- COMMAND [ARGS...]\n", argv[0]);
		return 64;
	}
	uint32_t deny = strcmp(argv[2], "kill") ? SCMP_ACT_ERRNO(atoi(argv[2])) : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
	if (!ctx) { perror("seccomp_init"); return 70; }
	FILE *f = fopen(argv[1], "r");
	if (!f) { perror(argv[1]); return 66; }
	char line[256];
	int allowed = 0, denied = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] != '+' && line[0] != '-') continue;
		int nr = seccomp_syscall_resolve_name(line + 1);
		if (nr == __NR_SCMP_ERROR || nr < 0) continue; /* not on this architecture */
		int r = seccomp_rule_add(ctx, line[0] == '+' ? SCMP_ACT_ALLOW : deny, nr, 0);
		if (r < 0 && r != -EEXIST) { fprintf(stderr, "seccomp_rule_add %s: %s\n", line + 1, strerror(-r)); return 70; }
		if (line[0] == '+') allowed++; else denied++;
	}
	fclose(f);
	if (allowed == 0) { fprintf(stderr, "%s: no allowed system calls\n", argv[1]); return 65; }
	if (mdwe) {
		/* systemd's seccomp_memory_deny_write_execute(): a filter of its own (the kernel applies the strictest
		 * answer of all filters), default allow; loaded first, while seccomp(2) is still allowed */
		scmp_filter_ctx m = seccomp_init(SCMP_ACT_ALLOW);
		if (!m
		    || seccomp_rule_add(m, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE)) < 0
		    || seccomp_rule_add(m, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0
		    || seccomp_rule_add(m, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(pkey_mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0
		    || seccomp_load(m) < 0) {
			fprintf(stderr, "MemoryDenyWriteExecute filter: failed\n");
			return 70;
		}
	}
	/* last: from here on seccomp(2) itself may be filtered */
	int r = seccomp_load(ctx);
	if (r < 0) { fprintf(stderr, "seccomp_load: %s\n", strerror(-r)); return 70; }
	execvp(argv[cmd], argv + cmd);
	perror(argv[cmd]);
	return 127;
}
