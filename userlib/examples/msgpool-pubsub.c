// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool-pubsub: one publisher, three subscriber processes.
 *
 * The publisher writes each message in place and publishes it to every
 * subscriber; the pool is small, so it waits (backpressure) for the
 * slowest.  Subscriber 1 is slow, subscriber 2 is killed half way
 * through: its unread messages are freed for it and the others go on.
 * The survivors check that they received every message, in order, with
 * the right payload.  Prints a summary; exits 1 on any loss.
 *
 * Usage: msgpool-pubsub [messages]     (default 5000)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msgpool.h"

#define NR_SUBS		3
#define SLOW		1	/* sleeps on every message */
#define VICTIM		2	/* killed half way through */

struct payload {
	uint64_t seq;
	uint64_t check;
};

static uint64_t check_of(uint64_t seq)
{
	return seq * 0x9E3779B97F4A7C15ULL;
}

/* Reads @count messages; 0 if all came in order, else 1. */
static int subscriber(const char *name, int id, unsigned int count,
		      int ready)
{
	const struct timespec nap = { .tv_nsec = 200000 };
	struct msgpool *pool;
	struct msgpool_guard g;
	const struct payload *p;
	uint64_t want;
	unsigned int n;
	int reader, err;

	err = msgpool_open(name, NULL, MSGPOOL_OPEN_RDONLY, 0, &pool);
	if (err) {
		fprintf(stderr, "subscriber %d: %s\n", id,
			msgpool_strerror(err));
		return 1;
	}
	reader = msgpool_subscribe(pool);
	if (reader < 0 || write(ready, "r", 1) != 1)
		return 1;
	for (n = 0; n < count; n++) {
		err = msgpool_take(pool, 0, &g);
		if (err) {
			fprintf(stderr, "subscriber %d: take: %s\n", id,
				msgpool_strerror(err));
			return 1;
		}
		want = n + 1;
		p = g.data;
		if (g.hdr.seq != want || p->seq != want ||
		    p->check != check_of(want)) {
			fprintf(stderr, "subscriber %d: got seq %llu, want %llu\n",
				id, (unsigned long long)g.hdr.seq,
				(unsigned long long)want);
			return 1;
		}
		if (id == SLOW)
			nanosleep(&nap, NULL);
		err = msgpool_mark_read(pool, &g);
		if (err)
			return 1;
	}
	want = msgpool_missed(pool);
	printf("subscriber %d (reader %d): %u messages in order, %llu missed\n",
	       id, reader, n, (unsigned long long)want);
	msgpool_close(&pool);
	return want ? 1 : 0;
}

static int publish(struct msgpool *pool, uint64_t seq)
{
	struct msgpool_guard g;
	struct payload *p;
	int err;

	err = msgpool_loan(pool, sizeof(*p), MSGPOOL_WAIT, &g);
	if (err)
		return err;
	p = g.data;
	p->seq = seq;
	p->check = check_of(seq);
	err = msgpool_publish(pool, &g, sizeof(*p), seq);
	if (!err && g.hdr.seq != seq)
		err = MSGPOOL_E_SYSTEM;
	return err;
}

int main(int argc, char **argv)
{
	struct msgpool_config cfg = {
		.nr_classes = 1, .classes = { { 64, 16 } },
	};
	unsigned int count = argc > 1 ? strtoul(argv[1], NULL, 0) : 5000;
	pid_t pids[NR_SUBS];
	struct msgpool *pool;
	char name[MSGPOOL_NAME_MAX], c;
	int fds[2], i, status, failed = 0, err;
	uint64_t seq;

	snprintf(name, sizeof(name), "pubsub-demo.%d", (int)getpid());
	err = msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE | MSGPOOL_OPEN_EXCL,
			   0600, &pool);
	if (err) {
		fprintf(stderr, "msgpool-pubsub: %s\n", msgpool_strerror(err));
		return 1;
	}
	if (!count || pipe(fds))
		return 1;
	for (i = 0; i < NR_SUBS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (!pids[i]) {
			msgpool_close(&pool);
			_exit(subscriber(name, i, count, fds[1]));
		}
		if (read(fds[0], &c, 1) != 1) {
			fprintf(stderr, "subscriber %d did not start\n", i);
			return 1;
		}
	}

	for (seq = 1; seq <= count; seq++) {
		if (seq == count / 2 + 1) {
			kill(pids[VICTIM], SIGKILL);
			printf("publisher: killed subscriber %d after %llu messages\n",
			       VICTIM, (unsigned long long)seq - 1);
		}
		err = publish(pool, seq);
		if (err) {
			fprintf(stderr, "publisher: %s\n",
				msgpool_strerror(err));
			failed = 1;
			break;
		}
	}
	printf("publisher: %llu messages published\n",
	       (unsigned long long)seq - 1);

	for (i = 0; i < NR_SUBS; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i])
			return 1;
		if (i == VICTIM)
			failed |= !WIFSIGNALED(status);
		else
			failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	if (msgpool_available(pool) != msgpool_capacity(pool)) {
		fprintf(stderr, "msgpool-pubsub: slots left behind\n");
		failed = 1;
	}
	printf("msgpool-pubsub: %s\n", failed ? "LOSS OR ERROR" :
	       "every survivor received every message in order");
	msgpool_close(&pool);
	return failed;
}
