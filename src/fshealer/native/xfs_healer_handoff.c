// SPDX-License-Identifier: MIT
/*
 * Linked into the Native AOT fshealer binary only (fshealer.csproj, target XfsHealerHandoff). Runs before main(), so
 * before the .NET runtime starts.
 *
 * `fshealer xfs-healer ARGS` (or fshealer started as ".../xfs_healer") runs one process per mounted XFS filesystem for
 * as long as it is mounted. The 14 MB fshealer binary has 9 MiB resident before its Main runs: NativeAOT start-up
 * rehydrates its type data (3 MiB written, 2 MiB read) and faults in code and libc around every page it touches. The
 * same program built alone, fshealer-xfs-healer (src/fshealer-xfs-healer, 2.5 MB), peaks under 6 MiB in an event
 * storm. So when that binary sits next to this one, hand the process over to it with execve — same pid, same
 * arguments, same environment — before anything is loaded: the process's peak stays the small binary's (a process's
 * peak RSS survives execve; here there is next to nothing to carry over).
 *
 * Anything unexpected (no /proc, no such file, it is this very binary, execve fails) and fshealer carries on and runs
 * the healer itself. FSHEALER_XFS_HEALER_INPROCESS=1 asks for that explicitly (tests, benchmarks).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char DROPIN[] = "fshealer-xfs-healer";

__attribute__((constructor)) static void xfs_healer_handoff(int argc, char **argv, char **envp)
{
	if (argc < 1 || !argv || !argv[0])
		return;
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	int as_xfs_healer = strcmp(base, "xfs_healer") == 0;
	int subcommand = argc >= 2 && strcmp(argv[1], "xfs-healer") == 0;
	if (!as_xfs_healer && !subcommand)
		return;
	const char *inproc = getenv("FSHEALER_XFS_HEALER_INPROCESS");
	if (inproc && *inproc && strcmp(inproc, "0") != 0)
		return;

	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - sizeof(DROPIN) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - sizeof(DROPIN) - 1)
		return;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	strcpy(slash + 1, DROPIN);

	struct stat self, dropin;
	if (stat("/proc/self/exe", &self) != 0 || stat(exe, &dropin) != 0 || !S_ISREG(dropin.st_mode))
		return;
	if (self.st_dev == dropin.st_dev && self.st_ino == dropin.st_ino)
		return;   /* a link back to fshealer: never loop */

	if (as_xfs_healer) {
		execve(exe, argv, envp);   /* argv[0] stays ".../xfs_healer": getopt's messages name it */
		return;
	}
	/* fshealer xfs-healer ARGS -> fshealer-xfs-healer ARGS, argv[0] kept */
	char *sub = argv[1];
	argv[1] = argv[0];
	execve(exe, argv + 1, envp);
	argv[1] = sub;
}
