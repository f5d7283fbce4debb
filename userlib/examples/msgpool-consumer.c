// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool-consumer: receives tokens, reads the messages in place, frees
 * them.
 *
 *   msgpool-consumer --pool NAME --token-fd FD --ack-fd FD [--report-fd FD]
 *
 * Tokens arrive 8 bytes each on --token-fd until a 0 token.  Each batch is
 * borrowed with MSGPOOL_ADOPT (the consumer becomes the owner, so the
 * messages survive the producer), checked, released and freed, three
 * system calls per batch.  At the end the consumer writes the count of
 * messages to --ack-fd, which lets the producer exit, and a line
 * "messages=N bytes=B ns=T bad=K" to --report-fd.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "msgpool.h"
#include "demo-msg.h"

#define BATCH		64

struct totals {
	uint64_t messages, bytes, bad;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int consume(struct msgpool *pool, const uint64_t *tokens, size_t n,
		   struct totals *t)
{
	struct msgpool_guard g[BATCH];
	int res[BATCH];
	size_t i;
	int err;

	err = msgpool_read_many(pool, tokens, n, MSGPOOL_ADOPT, g, res);
	for (i = 0; i < n; i++) {
		if (res[i])
			continue;
		if (!demo_check(g[i].data, g[i].hdr.len) ||
		    ((const struct demo_msg *)g[i].data)->seq != g[i].hdr.tag)
			t->bad++;
		t->messages++;
		t->bytes += g[i].hdr.len;
	}
	if (err) {
		fprintf(stderr, "consumer: read: %s\n", msgpool_strerror(err));
		return err;
	}
	err = msgpool_release_many(pool, g, n, NULL);
	if (!err)
		err = msgpool_free_many(pool, tokens, n, NULL);
	if (err)
		fprintf(stderr, "consumer: %s\n", msgpool_strerror(err));
	return err;
}

/*
 * Reads up to BATCH tokens.  Pipe writes of whole tokens are atomic, but
 * a read may still end inside one, so a partial token is completed.
 * Returns the count, 0 at the end marker, -1 on error.
 */
static int next_tokens(int fd, uint64_t *tokens, int *ended)
{
	ssize_t r = read(fd, tokens, BATCH * sizeof(*tokens));
	size_t n, rest;
	int i;

	if (r <= 0)
		return -1;
	rest = r % sizeof(*tokens);
	if (rest && demo_read_all(fd, (char *)tokens + r,
				  sizeof(*tokens) - rest) != 1)
		return -1;
	n = (r + sizeof(*tokens) - 1) / sizeof(*tokens);
	for (i = 0; i < (int)n; i++) {
		if (!tokens[i]) {
			*ended = 1;
			return i;
		}
	}
	return n;
}

#define USAGE "msgpool-consumer --pool NAME --token-fd FD --ack-fd FD " \
	      "[--report-fd FD]"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pool", required_argument, NULL, 'p' },
		{ "token-fd", required_argument, NULL, 't' },
		{ "ack-fd", required_argument, NULL, 'a' },
		{ "report-fd", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t tfd = UINT32_MAX, afd = UINT32_MAX, rfd = UINT32_MAX;
	struct totals t = { 0, 0, 0 };
	uint64_t tokens[BATCH], start = 0;
	const char *name = NULL;
	struct msgpool *pool;
	int c, n, ended = 0;
	char line[128];
	int err = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p')
			name = optarg;
		else if ((c == 't' && demo_parse_u32(optarg, &tfd)) ||
			 (c == 'a' && demo_parse_u32(optarg, &afd)) ||
			 (c == 'r' && demo_parse_u32(optarg, &rfd)) || c == '?')
			demo_usage(USAGE);
	}
	if (!name || tfd > INT32_MAX || afd > INT32_MAX)
		demo_usage(USAGE);
	pool = demo_open("consumer", name);
	while (!ended && !err) {
		n = next_tokens(tfd, tokens, &ended);
		if (n < 0) {
			fprintf(stderr, "consumer: token pipe closed early\n");
			return 1;
		}
		if (!start)
			start = now_ns();
		if (n)
			err = consume(pool, tokens, n, &t);
	}
	if (err)
		return 1;
	snprintf(line, sizeof(line), "messages=%llu bytes=%llu ns=%llu bad=%llu\n",
		 (unsigned long long)t.messages, (unsigned long long)t.bytes,
		 (unsigned long long)(now_ns() - start),
		 (unsigned long long)t.bad);
	if (demo_write_all(afd, &t.messages, sizeof(t.messages)) ||
	    (rfd <= INT32_MAX && demo_write_all(rfd, line, strlen(line)))) {
		perror("consumer: ack");
		return 1;
	}
	printf("consumer: %llu messages adopted, read in place, freed; "
	       "%llu bad checksums\n", (unsigned long long)t.messages,
	       (unsigned long long)t.bad);
	msgpool_close(&pool);
	return t.bad ? 1 : 0;
}
