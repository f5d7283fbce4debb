/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared bits of the libmsgpool tests.  Each kselftest-harness test runs in
 * its own process, so a name made of the pid and a suffix is unique.
 */
#ifndef MSGPOOL_TEST_HELPERS_H
#define MSGPOOL_TEST_HELPERS_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msgpool.h"
#include "../../selftests/msgpool_task.h"

/* The small pool most tests use: 14 slots in three classes. */
#define SMALL_SIZE	256
#define SMALL_SLOTS	8
#define MID_SIZE	4096
#define MID_SLOTS	4
#define BIG_SIZE	65536
#define BIG_SLOTS	2
#define ALL_SLOTS	(SMALL_SLOTS + MID_SLOTS + BIG_SLOTS)

static inline struct msgpool_config one_class(uint32_t size, uint32_t slots)
{
	struct msgpool_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_classes = 1;
	cfg.classes[0].slot_size = size;
	cfg.classes[0].nr_slots = slots;
	return cfg;
}

static inline struct msgpool_config small_config(void)
{
	struct msgpool_config cfg = one_class(SMALL_SIZE, SMALL_SLOTS);

	cfg.nr_classes = 3;
	cfg.classes[1].slot_size = MID_SIZE;
	cfg.classes[1].nr_slots = MID_SLOTS;
	cfg.classes[2].slot_size = BIG_SIZE;
	cfg.classes[2].nr_slots = BIG_SLOTS;
	return cfg;
}

static inline void pool_name(char *buf, const char *suffix)
{
	snprintf(buf, MSGPOOL_NAME_MAX, "t%d-%s", (int)getpid(), suffix);
}

/* Creates a fresh pool or fails the test. */
#define OPEN_SMALL(name, suffix, poolp) do { \
	struct msgpool_config __cfg = small_config(); \
	if (access(MSGPOOL_DEVICE, F_OK)) \
		TH_LOG("no %s: load msgpool.ko first", MSGPOOL_DEVICE); \
	pool_name(name, suffix); \
	ASSERT_EQ(0, msgpool_open(name, &__cfg, MSGPOOL_OPEN_CREATE | \
				  MSGPOOL_OPEN_EXCL, 0600, poolp)); \
} while (0)

/*
 * The fixture of a test that starts with a fresh small pool of its own,
 * self->pool, called self->name.  The fixture's name makes the suffix.
 */
#define SMALL_POOL_FIXTURE(fixture) \
FIXTURE(fixture) { \
	char name[MSGPOOL_NAME_MAX]; \
	struct msgpool *pool; \
}; \
FIXTURE_SETUP(fixture) \
{ \
	OPEN_SMALL(self->name, #fixture, &self->pool); \
} \
FIXTURE_TEARDOWN(fixture) \
{ \
	if (self->pool) \
		msgpool_close(&self->pool); \
}

/* Stores @n messages of @len bytes; returns how many it could. */
static inline int store_n(struct msgpool *pool, int n, size_t len,
			  uint64_t *tokens)
{
	static const char payload[SMALL_SIZE];
	uint64_t tok;
	int i;

	for (i = 0; i < n; i++)
		if (msgpool_store(pool, payload, len, 0, 0,
				  tokens ? &tokens[i] : &tok))
			break;
	return i;
}

/* Loans, writes @text and publishes it with @tag. */
static inline int send_text(struct msgpool *pool, const char *text,
			    uint64_t tag)
{
	struct msgpool_guard g;
	int err = msgpool_loan(pool, strlen(text) + 1, 0, &g);

	if (err)
		return err;
	strcpy(g.data, text);
	return msgpool_publish(pool, &g, strlen(text) + 1, tag);
}

/* A child that exists only to be killed: says it is ready, then parks. */
static inline _Noreturn void park(int wr)
{
	CHILD_CHECK(mp_send(wr, 0) == 0);
	for (;;)
		pause();
}

#endif /* MSGPOOL_TEST_HELPERS_H */
