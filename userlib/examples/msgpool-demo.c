// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool-demo: creates a pool, runs msgpool-producer and msgpool-consumer
 * (found next to this program) as separate processes connected by pipes
 * that carry only tokens, and reports what passed through the pool.
 *
 *   msgpool-demo [-n MESSAGES] [-s MAX_BYTES]
 *
 * Exits 0 only if every message arrived intact and the pool has as many
 * free slots afterwards as before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/wait.h>

#include "msgpool.h"
#include "demo-msg.h"

struct report {
	unsigned long long messages, bytes, ns, bad;
};

static const struct msgpool_config demo_config = {
	.nr_classes = 3,
	.classes = { { 256, 256 }, { 4096, 128 }, { 65536, 32 } },
	.type_id = DEMO_TYPE_ID,
};

static pid_t run(const char *dir, const char *prog, char *const args[],
		 const int *keep, int nr_keep)
{
	char path[PATH_MAX];
	pid_t pid = fork();
	int i;

	if (pid)
		return pid;
	/* Only the pipe ends named on the command line stay open. */
	for (i = 0; i < nr_keep; i++)
		fcntl(keep[i], F_SETFD, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, prog);
	execv(path, args);
	fprintf(stderr, "msgpool-demo: %s: %m\n", path);
	_exit(127);
}

static int reap(pid_t pid, const char *who)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	fprintf(stderr, "msgpool-demo: %s failed (status 0x%x)\n", who,
		status);
	return -1;
}

/* Reads what @fd gives until end of file, as a string. */
static int slurp(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t r;

	while (got < size - 1) {
		r = read(fd, buf + got, size - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	buf[got] = '\0';
	return r < 0 ? -1 : 0;
}

struct pipes {
	int tok[2];		/* producer -> consumer: tokens */
	int ack[2];		/* consumer -> producer: count received */
	int out[2];		/* consumer -> demo: report line */
};

static pid_t spawn_producer(const char *dir, const char *name,
			    uint32_t count, uint32_t max,
			    const struct pipes *p)
{
	char n[16], s[16], t[16], a[16];
	char *const args[] = {
		"msgpool-producer", "--pool", (char *)name, "--count", n,
		"--max-size", s, "--token-fd", t, "--ack-fd", a, NULL,
	};
	const int keep[] = { p->tok[1], p->ack[0] };

	snprintf(n, sizeof(n), "%u", count);
	snprintf(s, sizeof(s), "%u", max);
	snprintf(t, sizeof(t), "%d", p->tok[1]);
	snprintf(a, sizeof(a), "%d", p->ack[0]);
	return run(dir, args[0], args, keep, 2);
}

static pid_t spawn_consumer(const char *dir, const char *name,
			    const struct pipes *p)
{
	char t[16], a[16], r[16];
	char *const args[] = {
		"msgpool-consumer", "--pool", (char *)name, "--token-fd", t,
		"--ack-fd", a, "--report-fd", r, NULL,
	};
	const int keep[] = { p->tok[0], p->ack[1], p->out[1] };

	snprintf(t, sizeof(t), "%d", p->tok[0]);
	snprintf(a, sizeof(a), "%d", p->ack[1]);
	snprintf(r, sizeof(r), "%d", p->out[1]);
	return run(dir, args[0], args, keep, 3);
}

static int exchange(const char *dir, const char *name, uint32_t count,
		    uint32_t max, struct report *rep)
{
	struct pipes p;
	pid_t prod, cons;
	char buf[256];
	int ok;

	if (pipe2(p.tok, O_CLOEXEC) || pipe2(p.ack, O_CLOEXEC) ||
	    pipe2(p.out, O_CLOEXEC))
		return -1;
	fflush(stdout);
	prod = spawn_producer(dir, name, count, max, &p);
	cons = spawn_consumer(dir, name, &p);
	close(p.tok[0]);
	close(p.tok[1]);
	close(p.ack[0]);
	close(p.ack[1]);
	close(p.out[1]);
	ok = !slurp(p.out[0], buf, sizeof(buf)) &&
	     sscanf(buf, "messages=%llu bytes=%llu ns=%llu bad=%llu",
		    &rep->messages, &rep->bytes, &rep->ns, &rep->bad) == 4;
	close(p.out[0]);
	if (prod < 0 || cons < 0)
		return -1;
	if (reap(prod, "msgpool-producer") | reap(cons, "msgpool-consumer"))
		return -1;
	return ok ? 0 : -1;
}

#define USAGE "msgpool-demo [-n MESSAGES] [-s MAX_BYTES]"

int main(int argc, char **argv)
{
	uint32_t count = 20000, max = 8192;
	struct report rep = { 0, 0, 0, 0 };
	char self[PATH_MAX], name[MSGPOOL_NAME_MAX];
	int64_t before, after;
	struct msgpool *pool;
	struct msgpool_info st;
	ssize_t len;
	int c, err;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if ((c == 'n' && demo_parse_u32(optarg, &count)) ||
		    (c == 's' && demo_parse_u32(optarg, &max)) || c == '?')
			demo_usage(USAGE);
	}
	if (!count || max < DEMO_MIN_LEN || max > 65536)
		demo_usage(USAGE);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0) {
		perror("msgpool-demo: /proc/self/exe");
		return 1;
	}
	self[len] = '\0';

	snprintf(name, sizeof(name), "demo-%d", (int)getpid());
	err = msgpool_open(name, &demo_config,
			   MSGPOOL_OPEN_CREATE | MSGPOOL_OPEN_EXCL, 0600, &pool);
	if (!err)
		err = msgpool_stats(pool, &st);
	if (err) {
		fprintf(stderr, "msgpool-demo: %s\n", msgpool_strerror(err));
		return 1;
	}
	printf("msgpool-demo: pool %s: %u classes, %llu slots, %llu bytes mapped\n",
	       name, st.nr_classes, (unsigned long long)st.capacity,
	       (unsigned long long)st.map_size);
	before = msgpool_available(pool);
	if (exchange(dirname(self), name, count, max, &rep))
		return 1;
	after = msgpool_available(pool);
	msgpool_close(&pool);

	printf("messages passed:  %llu\n", rep.messages);
	printf("bytes moved:      %llu in place, %llu bytes of tokens piped\n",
	       rep.bytes, (rep.messages + 1) * 8);
	printf("messages/second:  %.0f\n",
	       rep.ns ? rep.messages * 1e9 / rep.ns : 0.0);
	printf("bad checksums:    %llu\n", rep.bad);
	printf("available before: %lld, after: %lld (%s)\n", (long long)before,
	       (long long)after, before == after ? "no slot leaked" :
	       "SLOTS LEAKED");
	return rep.messages == count && !rep.bad && before == after ? 0 : 1;
}
