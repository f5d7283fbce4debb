/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The message format of the msgpool demo, shared by msgpool-producer and
 * msgpool-consumer: a small header, then a body derived from the sequence
 * number, so the consumer can check every byte it reads in place.  Also
 * the pipe, argument and open helpers of the demo's programs.
 */
#ifndef MSGPOOL_DEMO_MSG_H
#define MSGPOOL_DEMO_MSG_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgpool.h"

struct demo_msg {
	uint64_t seq;
	uint64_t checksum;	/* FNV-1a of the body */
	uint32_t len;		/* whole message, header included */
	uint32_t pad;
	unsigned char body[];
};

#define DEMO_MIN_LEN	sizeof(struct demo_msg)

/*
 * The pool's type: a fingerprint of struct demo_msg that its programs
 * give msgpool_open(), so a program of another message type cannot open
 * the pool (nor these programs another's).  Any 16 bytes particular to
 * the type do, e.g. a hash of its definition; here, a name and version.
 */
#define DEMO_TYPE_ID	"msgpool-demo-v1"

/* Message lengths spread over DEMO_MIN_LEN..@max by a multiplicative hash. */
static inline uint32_t demo_len(uint64_t seq, uint32_t max)
{
	uint32_t span = max - DEMO_MIN_LEN + 1;

	return DEMO_MIN_LEN + (uint32_t)((seq * 2654435761ULL) % span);
}

static inline uint64_t demo_fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n--) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Writes message @seq of @len bytes at @buf (the slot, in place). */
static inline void demo_fill(void *buf, uint64_t seq, uint32_t len)
{
	struct demo_msg *m = buf;
	size_t n = len - DEMO_MIN_LEN;
	uint64_t x = seq * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		/* xorshift64: cheap bytes that differ per message */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		m->body[i] = (unsigned char)x;
	}
	m->seq = seq;
	m->len = len;
	m->pad = 0;
	m->checksum = demo_fnv(m->body, n);
}

/* 1 if @buf holds an intact message of @len bytes. */
static inline int demo_check(const void *buf, uint32_t len)
{
	const struct demo_msg *m = buf;

	if (len < DEMO_MIN_LEN || m->len != len)
		return 0;
	return m->checksum == demo_fnv(m->body, len - DEMO_MIN_LEN);
}

static inline int demo_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Reads exactly @n bytes; 0 at end of file before the first, -1 else. */
static inline int demo_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r == 0 && got))
			return -1;
		if (r == 0)
			return 0;
		got += r;
	}
	return 1;
}

static inline int demo_parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = v;
	return 0;
}

static inline _Noreturn void demo_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}

/* Opens the pool @name of the demo's type for program @prog, or exits. */
static inline struct msgpool *demo_open(const char *prog, const char *name)
{
	static const struct msgpool_config type = { .type_id = DEMO_TYPE_ID };
	struct msgpool *pool;
	int err = msgpool_open(name, &type, 0, 0, &pool);

	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, name,
			msgpool_strerror(err));
		exit(1);
	}
	return pool;
}

#endif /* MSGPOOL_DEMO_MSG_H */
