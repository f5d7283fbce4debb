// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of each msgpool ioctl on its own, from one process: the null ioctl
 * (MSGPOOL_IOC_NOP) as the floor, then store, loan + commit, read borrow,
 * release, free, and batches of 1, 8 and 64 ops, in ns per op.
 * Raw ioctls, so the figures are the kernel's and nothing else.  Last,
 * loan + a write through the mapping + commit of 4 KiB slots, in a plain
 * pool and in a protected one (MSGPOOL_ATTACH_PROTECTED), where the write
 * faults the page in for its holder and the commit unmaps it.
 *
 * "mp_ops mem" instead reports what one pool of the configuration that
 * bench/roudi.toml gives iceoryx costs: its mapping, and how much free
 * memory the system lost creating and mapping it.
 *
 * "mp_ops loop nop|borrow|batch N" runs one path about N times and
 * reports nothing, for a profiler to watch (bench/profile.sh).
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/msgpool.h>

#include "bench.h"

#define SLOTS		1024	/* tokens held at once by one round */
#define MSG		64

static int fd;
static uint64_t tokens[SLOTS];
static char msg[MSG];

static void xioctl(unsigned long req, void *arg, const char *what)
{
	if (ioctl(fd, req, arg))
		die(what, errno);
}

/* A new descriptor on the pool that @at creates, for this user alone. */
static int pool_create(struct msgpool_attach *at)
{
	int pfd = open("/dev/msgpool", O_RDWR);

	at->flags |= MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL;
	at->mode = 0600;
	if (pfd < 0 || ioctl(pfd, MSGPOOL_IOC_ATTACH, at))
		die(at->name, errno);
	return pfd;
}

static void *pool_map(int pfd, size_t size)
{
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, pfd,
			 0);

	if (map == MAP_FAILED)
		die("mmap", errno);
	return map;
}

static void pool_open(void)
{
	struct msgpool_attach at = {
		.name = "bench-ops",
		.nr_classes = 1,
		.classes = { { MSG, SLOTS } },
	};

	fd = pool_create(&at);
}

static void op_nop(void)
{
	struct msgpool_op op = { 0 };

	xioctl(MSGPOOL_IOC_NOP, &op, "nop");
}

static void store_all(void)
{
	struct msgpool_op op;
	int i;

	for (i = 0; i < SLOTS; i++) {
		op = (struct msgpool_op){ .len = MSG,
					  .data = (uintptr_t)msg };
		xioctl(MSGPOOL_IOC_STORE, &op, "store");
		tokens[i] = op.token;
	}
}

static void loan_commit_all(void)
{
	struct msgpool_op op;
	int i;

	for (i = 0; i < SLOTS; i++) {
		op = (struct msgpool_op){ .len = MSG };
		xioctl(MSGPOOL_IOC_LOAN, &op, "loan");
		tokens[i] = op.token;
		op = (struct msgpool_op){ .token = tokens[i], .len = MSG };
		xioctl(MSGPOOL_IOC_COMMIT, &op, "commit");
	}
}

static void token_all(unsigned long req, const char *what)
{
	struct msgpool_op op;
	int i;

	for (i = 0; i < SLOTS; i++) {
		op = (struct msgpool_op){ .token = tokens[i] };
		xioctl(req, &op, what);
	}
}

/*
 * All SLOTS tokens through @code, @k ops per MSGPOOL_IOC_BATCH, each op
 * @op_size bytes (the known 80, or more with zeroes after it).
 */
static void batch_sized(uint32_t code, int k, size_t op_size)
{
	static unsigned char buf[64 * 2 * sizeof(struct msgpool_op)];
	struct msgpool_batch_args b = { .op_size = op_size };
	struct msgpool_op *op;
	int i, j;

	for (i = 0; i < SLOTS; i += k) {
		memset(buf, 0, k * op_size);
		for (j = 0; j < k; j++) {
			op = (struct msgpool_op *)(buf + j * op_size);
			op->op = code;
			op->token = code == MSGPOOL_OP_NOP ? 0 : tokens[i + j];
		}
		b.ops = (uintptr_t)buf;
		b.count = k;
		xioctl(MSGPOOL_IOC_BATCH, &b, "batch");
		for (j = 0; j < k; j++) {
			op = (struct msgpool_op *)(buf + j * op_size);
			if (op->result)
				die("batch op", -op->result);
		}
	}
}

static void batch_all(uint32_t code, int k)
{
	batch_sized(code, k, sizeof(struct msgpool_op));
}

/*
 * What copying to and from userspace costs here, beside the ioctls: a
 * read() of /dev/zero of 8, 80 and 4096 bytes, and NOP batches whose ops
 * carry 80 zero bytes more.  Under an emulator a string copy can cost
 * more than the syscall around it.
 */
static void probes(int nrep, long n)
{
	static const size_t sizes[] = { 8, 80, 4096 };
	static char buf[4096];
	double v[MAX_REPEATS];
	int zero = open("/dev/zero", O_RDONLY), r, i;
	char name[64];
	uint64_t s;
	long k;

	if (zero < 0)
		die("/dev/zero", errno);
	for (i = 0; i < 3; i++) {
		for (r = 0; r < nrep; r++) {
			s = now_ns();
			for (k = 0; k < n; k++)
				if (read(zero, buf, sizes[i]) < 0)
					die("read", errno);
			v[r] = (double)(now_ns() - s) / n;
		}
		snprintf(name, sizeof(name), "read(/dev/zero) %zu B",
			 sizes[i]);
		report("probe", name, "-", sizes[i], v, nrep, "ns/op");
	}
	close(zero);
	for (r = 0; r < nrep; r++) {
		s = now_ns();
		for (k = 0; k < n / SLOTS + 1; k++)
			batch_sized(MSGPOOL_OP_NOP, 64,
				    2 * sizeof(struct msgpool_op));
		v[r] = (double)(now_ns() - s) / ((n / SLOTS + 1) * SLOTS);
	}
	report("probe", "batch nop x64, 160-byte ops", "-", 160, v, nrep,
	       "ns/op");
}

/* Adds the ns that @stmt takes to @acc. */
#define TIMED(acc, stmt)						\
	do {								\
		uint64_t s_ = now_ns();					\
									\
		stmt;							\
		(acc) += now_ns() - s_;					\
	} while (0)

/*
 * Per op ns of each measured step of one round, over @rounds rounds:
 * t[0] store, t[1] free, t[2] loan+commit, t[3] borrow, t[4] release,
 * t[5..7] batch NOP 1/8/64, t[8..10] batch borrow+release 1/8/64.
 */
#define STEPS	11
static void round_run(long rounds, double *t)
{
	static const int ks[] = { 1, 8, 64 };
	uint64_t s;
	long r;
	int i;

	memset(t, 0, STEPS * sizeof(*t));
	for (r = 0; r < rounds; r++) {
		TIMED(t[0], store_all());
		TIMED(t[1], token_all(MSGPOOL_IOC_FREE, "free"));
		TIMED(t[2], loan_commit_all());
		TIMED(t[3], token_all(MSGPOOL_IOC_BORROW, "borrow"));
		TIMED(t[4], token_all(MSGPOOL_IOC_RELEASE, "release"));
		for (i = 0; i < 3; i++) {
			TIMED(t[5 + i], batch_all(MSGPOOL_OP_NOP, ks[i]));
			s = now_ns();
			batch_all(MSGPOOL_OP_BORROW, ks[i]);
			batch_all(MSGPOOL_OP_RELEASE, ks[i]);
			t[8 + i] += (now_ns() - s) / 2.0;
		}
		token_all(MSGPOOL_IOC_FREE, "free");
	}
	for (i = 0; i < STEPS; i++)
		t[i] /= (double)rounds * SLOTS;
}

static long memfree_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void mem_row(const char *mode, double kib)
{
	double v = kib;

	report("mem", "msgpool", mode, 0, &v, 1, "KiB");
}

/* The traffic of the latency and throughput runs, in one pool. */
static int pool_memory(void)
{
	struct msgpool_attach at = {
		.name = "bench-mem",
		.nr_classes = 4,
		.classes = { { 64, 64 }, { 4096, 64 }, { 65536, 64 },
			     { 1 << 20, 32 } },
	};
	long before = memfree_kib(), created;
	void *map;

	fd = pool_create(&at);
	created = memfree_kib();
	map = pool_map(fd, at.map_size);
	mem_row("mapping size", at.map_size / 1024.0);
	mem_row("MemFree drop at create", before - created);
	mem_row("MemFree drop, mapped", before - memfree_kib());
	munmap(map, at.map_size);
	close(fd);
	return 0;
}

/* ns per loan + one-byte write through the mapping + commit + free. */
static double page_round(int pfd, volatile char *map, long n)
{
	struct msgpool_op op;
	uint64_t s = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		op = (struct msgpool_op){ .len = 4096 };
		if (ioctl(pfd, MSGPOOL_IOC_LOAN, &op))
			die("loan", errno);
		map[op.offset] = 1;
		op = (struct msgpool_op){ .token = op.token, .len = 1 };
		if (ioctl(pfd, MSGPOOL_IOC_COMMIT, &op) ||
		    ioctl(pfd, MSGPOOL_IOC_FREE,
			  &(struct msgpool_op){ .token = op.token }))
			die("commit", errno);
	}
	return (double)(now_ns() - s) / n;
}

static int page_pool(const char *name, uint32_t flags, void **map)
{
	struct msgpool_attach at = {
		.flags = flags,
		.nr_classes = 1,
		.classes = { { 4096, 64 } },
	};
	int pfd;

	strcpy(at.name, name);
	pfd = pool_create(&at);
	*map = pool_map(pfd, at.map_size);
	return pfd;
}

/* The same rounds, interleaved, in a plain and in a protected pool. */
static void protected_rows(int nrep, long n)
{
	double plain[MAX_REPEATS], prot[MAX_REPEATS];
	void *map_plain, *map_prot;
	int fd_plain = page_pool("bench-page", 0, &map_plain);
	int fd_prot = page_pool("bench-page-prot", MSGPOOL_ATTACH_PROTECTED,
				&map_prot);
	int r;

	for (r = 0; r < nrep; r++) {
		plain[r] = page_round(fd_plain, map_plain, n);
		prot[r] = page_round(fd_prot, map_prot, n);
	}
	report("ops", "loan+write+commit+free", "plain", 4096, plain, nrep,
	       "ns/op");
	report("ops", "loan+write+commit+free", "protected", 4096, prot,
	       nrep, "ns/op");
	close(fd_plain);
	close(fd_prot);
}

/* The null ioctl, read borrow + release, or batches of 64 NOPs. */
static int loop(const char *path, long n)
{
	long r;

	pool_open();
	store_all();
	for (r = 0; r < n; r++) {
		if (!strcmp(path, "nop")) {
			op_nop();
		} else if (!strcmp(path, "borrow")) {
			token_all(MSGPOOL_IOC_BORROW, "borrow");
			token_all(MSGPOOL_IOC_RELEASE, "release");
			r += SLOTS - 1;
		} else if (!strcmp(path, "batch")) {
			batch_all(MSGPOOL_OP_NOP, 64);
			r += SLOTS - 1;
		} else {
			fprintf(stderr, "mp_ops loop nop|borrow|batch N\n");
			return 2;
		}
	}
	return 0;
}

/*
 * Calibration: a loop of fixed length, about 1 ms, timed CALIB_N times on
 * every CPU at once, one process pinned to each.  On an idle machine every
 * sample is the same; a vCPU preempted by its host, or an interrupt storm,
 * shows as a long tail.  Rows: calib|spin 1 ms, WHEN|cpuN|0.
 */
#define CALIB_N		500
#define CALIB_CPUS	8

static void spin(long k)
{
	volatile long x = 0;
	long i;

	for (i = 0; i < k; i++)
		x += i;
}

static int calib(const char *when)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), k = 100000, n, i;
	double *v, best = 1e18, t, med[1];
	char name[64], mode[16];
	cpu_set_t set;
	uint64_t s;
	int cpu, status;

	if (ncpu > CALIB_CPUS)
		ncpu = CALIB_CPUS;
	n = bench_quick() ? CALIB_N / 2 : CALIB_N;
	/* k iterations of about 1 ms: the fastest of 10 tries scaled. */
	for (i = 0; i < 10; i++) {
		s = now_ns();
		spin(k);
		t = now_ns() - s;
		if (t < best)
			best = t;
	}
	k = (long)(k * 1e6 / best);
	v = shared_alloc(ncpu * n * sizeof(*v));
	for (cpu = 0; cpu < ncpu; cpu++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork", errno);
		if (pid)
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		spin(k);
		for (i = 0; i < n; i++) {
			s = now_ns();
			spin(k);
			v[cpu * n + i] = (now_ns() - s) / 1e3;
		}
		exit(0);
	}
	while (wait(&status) > 0)
		;
	snprintf(name, sizeof(name), "spin 1 ms, %s", when);
	for (cpu = 0; cpu < ncpu; cpu++) {
		double *tmp = malloc(n * sizeof(*tmp));

		if (!tmp)
			die("malloc", ENOMEM);
		memcpy(tmp, v + cpu * n, n * sizeof(*tmp));
		qsort(tmp, n, sizeof(*tmp), cmp_double);
		med[0] = tmp[n / 2];
		free(tmp);
		snprintf(mode, sizeof(mode), "cpu%d", cpu);
		report("calib", name, mode, 0, med, 1, "us");
		report_samples("calib", name, mode, 0, v + cpu * n, 1, n, 1e3);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const names[STEPS] = {
		"store", "free", "loan+commit", "read borrow", "release",
		"batch nop x1", "batch nop x8", "batch nop x64",
		"batch borrow/release x1", "batch borrow/release x8",
		"batch borrow/release x64",
	};
	double floor[MAX_REPEATS], t[MAX_REPEATS][STEPS], v[MAX_REPEATS];
	int nrep = bench_repeats(), r, i;
	long n = bench_iters(80000), rounds = bench_iters(16), k;
	uint64_t s;

	if (argc > 1 && !strcmp(argv[1], "mem"))
		return pool_memory();
	if (argc > 1 && !strcmp(argv[1], "calib"))
		return calib(argc > 2 ? argv[2] : "-");
	if (argc > 3 && !strcmp(argv[1], "loop"))
		return loop(argv[2], atol(argv[3]));
	pool_open();
	memset(msg, 0x5a, sizeof(msg));
	for (r = 0; r < nrep; r++) {
		s = now_ns();
		for (k = 0; k < n; k++)
			op_nop();
		floor[r] = (double)(now_ns() - s) / n;
		round_run(rounds, t[r]);
	}
	report("ops", "null ioctl", "-", 0, floor, nrep, "ns/op");
	for (i = 0; i < STEPS; i++) {
		for (r = 0; r < nrep; r++)
			v[r] = t[r][i];
		report("ops", names[i], "-", MSG, v, nrep, "ns/op");
	}
	/* read + release, the pair the targets speak of */
	for (r = 0; r < nrep; r++)
		v[r] = t[r][3] + t[r][4];
	report("ops", "read borrow+release", "-", MSG, v, nrep, "ns/op");
	probes(nrep, n / 4);
	protected_rows(nrep, n / 16);
	close(fd);
	return 0;
}
