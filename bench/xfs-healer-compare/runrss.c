// SPDX-License-Identifier: MIT
/*
 * runrss OUT PROG ARGS... — run PROG, wait for it, write "wall_s cpu_s maxrss_kib exit_code" to the file OUT.
 *
 * A process's peak RSS (ru_maxrss) starts at the peak of the process it was forked from: the kernel carries the
 * parent's high-water mark over fork and exec. Measured from Python (20 MiB) every program "peaked" at 20 MiB. This
 * helper is linked statically and allocates nothing, so the floor it passes on is a few hundred KiB.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: runrss OUT PROG ARGS...\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execv(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     (double)ru.ru_stime.tv_usec / 1e6;
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(f, "%.6f %.6f %ld %d\n", wall, cpu, ru.ru_maxrss, rc);
	fclose(f);
	return 0;
}
