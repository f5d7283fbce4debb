// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool-producer: writes messages in place into pool slots and passes
 * only their tokens to a consumer.
 *
 *   msgpool-producer --pool NAME --count N --max-size BYTES
 *                    --token-fd FD --ack-fd FD
 *
 * Each message is loaned, written where it lies in the shared mapping,
 * committed, and its 8-byte token written to --token-fd; a 0 token ends
 * the stream.  The producer owns what it committed until the consumer
 * adopts it, and its exit would free what it still owns, so it exits only
 * after the consumer acknowledges (a count of messages on --ack-fd).
 */
#include <getopt.h>
#include <stdio.h>

#include "msgpool.h"
#include "demo-msg.h"

#define PENDING_MAX	64	/* tokens written to the pipe at once */

struct producer {
	struct msgpool *pool;
	int token_fd;
	uint64_t pending[PENDING_MAX];
	size_t nr_pending;
};

static int flush(struct producer *p)
{
	int err = demo_write_all(p->token_fd, p->pending,
				 p->nr_pending * sizeof(p->pending[0]));

	p->nr_pending = 0;
	return err;
}

/*
 * Loans a slot, waiting for one if the pool is full.  Tokens not yet sent
 * are sent first: the consumer can only free slots it has heard of.
 */
static int loan(struct producer *p, uint32_t len, struct msgpool_guard *g)
{
	int err = msgpool_loan(p->pool, len, MSGPOOL_NONBLOCK, g);

	if (err != MSGPOOL_E_NO_FREE_SLOTS)
		return err;
	if (flush(p))
		return MSGPOOL_E_SYSTEM;
	return msgpool_loan(p->pool, len, MSGPOOL_WAIT, g);
}

static int produce(struct producer *p, uint64_t seq, uint32_t max)
{
	uint32_t len = demo_len(seq, max);
	struct msgpool_guard g;
	int err;

	err = loan(p, len, &g);
	if (err)
		return err;
	demo_fill(g.data, seq, len);
	err = msgpool_commit(p->pool, &g, len, seq);
	if (err)
		return err;
	p->pending[p->nr_pending++] = g.token;
	if (p->nr_pending == PENDING_MAX && flush(p))
		return MSGPOOL_E_SYSTEM;
	return 0;
}

#define USAGE "msgpool-producer --pool NAME --count N --max-size BYTES " \
	      "--token-fd FD --ack-fd FD"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pool", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "max-size", required_argument, NULL, 's' },
		{ "token-fd", required_argument, NULL, 't' },
		{ "ack-fd", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t count = 0, max = 0, tfd = UINT32_MAX, afd = UINT32_MAX;
	struct producer p = { .nr_pending = 0 };
	const char *name = NULL;
	uint64_t seq, ack = 0, end = 0;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p')
			name = optarg;
		else if ((c == 'n' && demo_parse_u32(optarg, &count)) ||
			 (c == 's' && demo_parse_u32(optarg, &max)) ||
			 (c == 't' && demo_parse_u32(optarg, &tfd)) ||
			 (c == 'a' && demo_parse_u32(optarg, &afd)) || c == '?')
			demo_usage(USAGE);
	}
	if (!name || !count || max < DEMO_MIN_LEN || tfd > INT32_MAX ||
	    afd > INT32_MAX)
		demo_usage(USAGE);
	p.token_fd = tfd;
	p.pool = demo_open("producer", name);
	for (seq = 0; seq < count && !err; seq++)
		err = produce(&p, seq, max);
	if (err) {
		fprintf(stderr, "producer: message %llu: %s\n",
			(unsigned long long)seq - 1, msgpool_strerror(err));
		return 1;
	}
	if (flush(&p) || demo_write_all(p.token_fd, &end, sizeof(end))) {
		perror("producer: token pipe");
		return 1;
	}
	close(p.token_fd);
	/* Exiting sooner would free messages the consumer has not adopted. */
	if (demo_read_all(afd, &ack, sizeof(ack)) != 1 || ack != count) {
		fprintf(stderr, "producer: consumer acknowledged %llu of %u\n",
			(unsigned long long)ack, count);
		return 1;
	}
	printf("producer: %u messages loaned, written in place, committed\n",
	       count);
	msgpool_close(&p.pool);
	return 0;
}
