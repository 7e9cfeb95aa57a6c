/* faultyfs: a FUSE filesystem exposing /disk.img (pass-through to a backing file) and /ctl.
 * Writing "r START LEN" or "w START LEN" to /ctl makes reads/writes overlapping [START, START+LEN) fail with EIO;
 * "clear" removes all ranges. Reading /ctl prints counters. Every open uses direct_io so all I/O reaches us.
 * Build: gcc -O2 -Wall faultyfs.c $(pkg-config fuse3 --cflags --libs) -o faultyfs
 * Run:   faultyfs BACKING MOUNTPOINT -f -o default_permissions */
#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXR 64
static int bfd = -1;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { char op; off_t start, len; } ranges[MAXR];
static int nranges;
static unsigned long nreads, nwrites, nread_err, nwrite_err;

static int hit(char op, off_t off, size_t sz)
{
	int r = 0;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nranges; i++)
		if (ranges[i].op == op && off < ranges[i].start + ranges[i].len && (off_t)(off + sz) > ranges[i].start) r = 1;
	pthread_mutex_unlock(&mu);
	return r;
}

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) { st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; return 0; }
	if (!strcmp(path, "/disk.img")) {
		struct stat b;
		if (fstat(bfd, &b) < 0) return -errno;
		st->st_mode = S_IFREG | 0600; st->st_nlink = 1; st->st_size = b.st_size; return 0;
	}
	if (!strcmp(path, "/ctl")) { st->st_mode = S_IFREG | 0600; st->st_nlink = 1; st->st_size = 4096; return 0; }
	return -ENOENT;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	(void)off; (void)fi; (void)flags;
	if (strcmp(path, "/")) return -ENOENT;
	fill(buf, ".", NULL, 0, 0); fill(buf, "..", NULL, 0, 0);
	fill(buf, "disk.img", NULL, 0, 0); fill(buf, "ctl", NULL, 0, 0);
	return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/disk.img") && strcmp(path, "/ctl")) return -ENOENT;
	fi->direct_io = 1;
	return 0;
}

static int ff_read(const char *path, char *buf, size_t sz, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	if (!strcmp(path, "/ctl")) {
		char t[4096];
		pthread_mutex_lock(&mu);
		int n = snprintf(t, sizeof t, "reads=%lu writes=%lu read_eio=%lu write_eio=%lu ranges=%d\n",
				 nreads, nwrites, nread_err, nwrite_err, nranges);
		for (int i = 0; i < nranges && n < (int)sizeof t - 64; i++)
			n += snprintf(t + n, sizeof t - n, "%c %lld %lld\n", ranges[i].op, (long long)ranges[i].start, (long long)ranges[i].len);
		pthread_mutex_unlock(&mu);
		if (off >= n) return 0;
		if ((off_t)sz > n - off) sz = n - off;
		memcpy(buf, t + off, sz);
		return sz;
	}
	__atomic_add_fetch(&nreads, 1, __ATOMIC_RELAXED);
	if (hit('r', off, sz)) { __atomic_add_fetch(&nread_err, 1, __ATOMIC_RELAXED); return -EIO; }
	ssize_t r = pread(bfd, buf, sz, off);
	return r < 0 ? -errno : r;
}

static int ff_write(const char *path, const char *buf, size_t sz, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	if (!strcmp(path, "/ctl")) {
		char t[256], op; long long s, l;
		size_t n = sz < sizeof t - 1 ? sz : sizeof t - 1;
		memcpy(t, buf, n); t[n] = 0;
		pthread_mutex_lock(&mu);
		if (!strncmp(t, "clear", 5)) nranges = 0;
		else if (sscanf(t, "%c %lld %lld", &op, &s, &l) == 3 && (op == 'r' || op == 'w') && nranges < MAXR) {
			ranges[nranges].op = op; ranges[nranges].start = s; ranges[nranges].len = l; nranges++;
		} else { pthread_mutex_unlock(&mu); return -EINVAL; }
		pthread_mutex_unlock(&mu);
		return sz;
	}
	__atomic_add_fetch(&nwrites, 1, __ATOMIC_RELAXED);
	if (hit('w', off, sz)) { __atomic_add_fetch(&nwrite_err, 1, __ATOMIC_RELAXED); return -EIO; }
	ssize_t r = pwrite(bfd, buf, sz, off);
	return r < 0 ? -errno : r;
}

static int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	if (!strcmp(path, "/ctl")) return 0;
	if (strcmp(path, "/disk.img")) return -ENOENT;
	return ftruncate(bfd, size) < 0 ? -errno : 0;
}

static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path; (void)fi;
	return (datasync ? fdatasync(bfd) : fsync(bfd)) < 0 ? -errno : 0;
}

static const struct fuse_operations ops = {
	.getattr = ff_getattr, .readdir = ff_readdir, .open = ff_open, .read = ff_read,
	.write = ff_write, .truncate = ff_truncate, .fsync = ff_fsync,
};

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: %s BACKING MOUNTPOINT [fuse options]\n", argv[0]); return 2; }
	bfd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (bfd < 0) { perror(argv[1]); return 1; }
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
