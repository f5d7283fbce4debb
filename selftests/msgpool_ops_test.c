// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool ops: every op and every error path of the single-op ioctls and
 * of MSGPOOL_IOC_BATCH, with the pool's info figures and counters.
 */
#include "msgpool_util.h"

#define F_NB	MSGPOOL_F_NONBLOCK

FIXTURE(pool) {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_info info;	/* right after the pool was made */
};

FIXTURE_SETUP(pool)
{
	self->fd = mp_new_pool(self->name, _metadata->name, mp_std, MP_STD_NR,
			       NULL);
	ASSERT_LE(0, self->fd) TH_LOG("pool: %s", strerror(-self->fd));
	ASSERT_EQ(0, mp_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(pool)
{
	close(self->fd);
}

/* Where the message of @token lies, by HEADER; ~0 if that fails. */
static __u64 offset_of(int fd, __u64 token)
{
	struct msgpool_op h;

	return mp_header(fd, token, &h) ? ~0ULL : h.offset;
}

/* Fills the pool with 1-byte messages; returns how many it stored. */
static int fill(int fd, __u64 *tokens, int max)
{
	int n = 0;

	while (n < max && !mp_store_len(fd, 1, &tokens[n]))
		n++;
	return n;
}

static int free_all(int fd, const __u64 *tokens, int n)
{
	int i, ret = 0;

	for (i = 0; i < n; i++)
		ret = ret ?: mp_free(fd, tokens[i]);
	return ret;
}

TEST_F(pool, info_figures)
{
	const struct msgpool_info *i = &self->info;
	__u64 end = 0;
	__u32 c;

	EXPECT_EQ(MSGPOOL_ABI_VERSION, i->abi_version);
	EXPECT_EQ(MSGPOOL_MEM_HOST, i->memory_class);
	EXPECT_EQ(MP_STD_NR, i->nr_classes);
	EXPECT_NE(0, i->peer_id);
	EXPECT_EQ(MP_STD_SLOTS, i->capacity);
	EXPECT_EQ(MP_STD_SLOTS, i->available);
	/* Classes are packed, each starting on a page. */
	for (c = 0; c < MP_STD_NR; c++) {
		const struct msgpool_class_info *ci = &i->classes[c];

		EXPECT_EQ(mp_std[c].slot_size, ci->slot_size);
		EXPECT_EQ(mp_std[c].nr_slots, ci->nr_slots);
		EXPECT_EQ(mp_std[c].nr_slots, ci->available);
		EXPECT_EQ(MP_ALIGN(mp_std[c].slot_size, 64), ci->stride);
		EXPECT_EQ(end, ci->offset);
		end = MP_ALIGN(ci->offset + (__u64)ci->nr_slots * ci->stride,
			       MP_PAGE);
	}
	EXPECT_EQ(end, i->map_size);
	for (; c < MSGPOOL_MAX_CLASSES; c++) {
		EXPECT_EQ(0, i->classes[c].slot_size);
		EXPECT_EQ(0, i->classes[c].nr_slots);
		EXPECT_EQ(0, i->classes[c].available);
		EXPECT_EQ(0, i->classes[c].stride);
		EXPECT_EQ(0, i->classes[c].offset);
	}
	EXPECT_EQ(0, i->nr_stores);
	EXPECT_EQ(0, i->nr_loans);
	EXPECT_EQ(0, i->nr_borrows);
	EXPECT_EQ(0, i->nr_frees);
	EXPECT_EQ(0, i->nr_nobufs);
	EXPECT_EQ(0, i->nr_reclaimed);
	EXPECT_EQ(0, i->nr_poisoned);
	EXPECT_EQ(0, i->nr_readers);
	EXPECT_EQ(0, i->pool_flags);
	EXPECT_EQ(0, i->seq);
	EXPECT_EQ(0, i->notify_gen);
	for (c = 0; c < MSGPOOL_TYPE_ID_LEN; c++)
		EXPECT_EQ(0, i->type_id[c]);
	for (c = 0; c < ARRAY_SIZE(i->reserved); c++)
		EXPECT_EQ(0, i->reserved[c]);
}

TEST_F(pool, info_peer_ids)
{
	struct msgpool_info a, b, c;
	int rw = mp_peer(self->name, O_RDWR);
	int ro = mp_peer(self->name, O_RDONLY);

	ASSERT_LE(0, rw);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, mp_info(self->fd, &a));
	ASSERT_EQ(0, mp_info(rw, &b));
	ASSERT_EQ(0, mp_info(ro, &c));
	EXPECT_EQ(self->info.peer_id, a.peer_id);
	EXPECT_NE(0, b.peer_id);
	EXPECT_NE(0, c.peer_id);
	EXPECT_NE(a.peer_id, b.peer_id);
	EXPECT_NE(a.peer_id, c.peer_id);
	EXPECT_NE(b.peer_id, c.peer_id);
	EXPECT_EQ(a.capacity, c.capacity);
	EXPECT_EQ(a.map_size, c.map_size);
	close(rw);
	close(ro);
}

TEST_F(pool, info_bad_pointer_efault)
{
	EXPECT_EQ(-EFAULT, mp_ioctl(self->fd, MSGPOOL_IOC_INFO, NULL));
	EXPECT_EQ(-EFAULT, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, NULL));
	EXPECT_EQ(-EFAULT, mp_ioctl(self->fd, MSGPOOL_IOC_BATCH, NULL));
}

/*
 * The single-op ioctls, with the flags each accepts.  prepare() sets up
 * what a valid call of one needs, finish() undoes it and what the call
 * left; finish() failing means a refused call did change something.
 */
static const struct {
	unsigned long cmd;
	__u32 op;
	__u32 flags;		/* valid flags */
	const char *name;
} ioc[] = {
	{ MSGPOOL_IOC_NOP, MSGPOOL_OP_NOP, 0, "NOP" },
	{ MSGPOOL_IOC_STORE, MSGPOOL_OP_STORE,
	  MSGPOOL_F_NONBLOCK | MSGPOOL_F_WAIT, "STORE" },
	{ MSGPOOL_IOC_LOAN, MSGPOOL_OP_LOAN,
	  MSGPOOL_F_NONBLOCK | MSGPOOL_F_WAIT, "LOAN" },
	{ MSGPOOL_IOC_COMMIT, MSGPOOL_OP_COMMIT, 0, "COMMIT" },
	{ MSGPOOL_IOC_DISCARD, MSGPOOL_OP_DISCARD, 0, "DISCARD" },
	{ MSGPOOL_IOC_BORROW, MSGPOOL_OP_BORROW,
	  MSGPOOL_F_NONBLOCK | MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT, "BORROW" },
	{ MSGPOOL_IOC_RELEASE, MSGPOOL_OP_RELEASE, MSGPOOL_F_SETLEN,
	  "RELEASE" },
	{ MSGPOOL_IOC_FREE, MSGPOOL_OP_FREE, 0, "FREE" },
	{ MSGPOOL_IOC_HEADER, MSGPOOL_OP_HEADER, 0, "HEADER" },
};

#define NR_IOC		ARRAY_SIZE(ioc)
#define USE_LEN		(1U << 0)
#define USE_DATA	(1U << 1)
#define USE_TAG		(1U << 2)
#define USE_TOKEN	(1U << 3)

/*
 * The "in" fields each op reads (RELEASE: len only with SETLEN); the
 * others must be zero, even those that are "out" for the op.
 */
static __u32 fields_of(__u32 op)
{
	switch (op) {
	case MSGPOOL_OP_STORE:
		return USE_LEN | USE_DATA | USE_TAG;
	case MSGPOOL_OP_LOAN:
		return USE_LEN;
	case MSGPOOL_OP_COMMIT:
		return USE_LEN | USE_TAG | USE_TOKEN;
	case MSGPOOL_OP_DISCARD:
	case MSGPOOL_OP_BORROW:
	case MSGPOOL_OP_RELEASE:
	case MSGPOOL_OP_FREE:
	case MSGPOOL_OP_HEADER:
		return USE_TOKEN;
	}
	return 0;
}

static char payload[16] = "0123456789abcde";

static int prepare(int fd, __u32 op, struct msgpool_op *o)
{
	struct msgpool_op l;
	__u64 t = 0;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	switch (op) {
	case MSGPOOL_OP_STORE:
		o->data = (uintptr_t)payload;
		o->tag = 7;
		/* fall through */
	case MSGPOOL_OP_LOAN:
		o->len = sizeof(payload);
		break;
	case MSGPOOL_OP_COMMIT:
		o->len = 8;
		o->tag = 7;
		/* fall through */
	case MSGPOOL_OP_DISCARD:
		ret = mp_loan(fd, sizeof(payload), 0, &l);
		t = l.token;
		break;
	case MSGPOOL_OP_RELEASE:
		ret = mp_store_len(fd, 8, &t) ?: mp_borrow(fd, t, 0, NULL);
		break;
	case MSGPOOL_OP_BORROW:
	case MSGPOOL_OP_FREE:
	case MSGPOOL_OP_HEADER:
		ret = mp_store_len(fd, 8, &t);
		break;
	}
	o->token = t;
	return ret;
}

/* @o is the op after the call; @ran says whether the call succeeded. */
static int finish(int fd, __u32 op, const struct msgpool_op *o, int ran)
{
	switch (op) {
	case MSGPOOL_OP_STORE:
	case MSGPOOL_OP_COMMIT:
		return ran ? mp_free(fd, o->token) : op == MSGPOOL_OP_COMMIT ?
			     mp_discard(fd, o->token) : 0;
	case MSGPOOL_OP_LOAN:
		return ran ? mp_discard(fd, o->token) : 0;
	case MSGPOOL_OP_DISCARD:
		return ran ? 0 : mp_discard(fd, o->token);
	case MSGPOOL_OP_BORROW:
		return (ran ? mp_release(fd, o->token) : 0) ?:
			mp_free(fd, o->token);
	case MSGPOOL_OP_RELEASE:
		return (ran ? 0 : mp_release(fd, o->token)) ?:
			mp_free(fd, o->token);
	case MSGPOOL_OP_FREE:
		return ran ? 0 : mp_free(fd, o->token);
	case MSGPOOL_OP_HEADER:
		return mp_free(fd, o->token);
	}
	return 0;
}

/*
 * ioc[@k] prepared for a valid call, with the nonzero fields of @bad set
 * over it: the call answers @expect, and finish() undoes what it did.
 */
static void try_op(struct __test_metadata *_metadata, int fd, unsigned int k,
		   const struct msgpool_op *bad, int expect)
{
	struct msgpool_op o;

	ASSERT_EQ(0, prepare(fd, ioc[k].op, &o));
	o.op |= bad->op;
	o.flags |= bad->flags;
	o.reserved |= bad->reserved;
	o.len |= bad->len;
	o.data |= bad->data;
	o.tag |= bad->tag;
	o.token |= bad->token;
	EXPECT_EQ(expect, mp_ioctl(fd, ioc[k].cmd, &o))
		TH_LOG("%s with op %u flags %#x reserved %#x len %u%s%s%s",
		       ioc[k].name, bad->op, bad->flags, bad->reserved,
		       bad->len, bad->data ? " data" : "",
		       bad->tag ? " tag" : "", bad->token ? " token" : "");
	if (!expect)
		EXPECT_EQ(0, o.result);
	ASSERT_EQ(0, finish(fd, ioc[k].op, &o, !expect))
		TH_LOG("%s: finish", ioc[k].name);
}

TEST_F(pool, every_op_with_op_zero_or_its_own)
{
	struct msgpool_op none = { 0 }, own = { 0 };
	unsigned int k;

	for (k = 0; k < NR_IOC; k++) {
		own.op = ioc[k].op;
		try_op(_metadata, self->fd, k, &none, 0);
		try_op(_metadata, self->fd, k, &own, 0);
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, foreign_opcode_einval)
{
	static const __u32 extra[] = {
		MSGPOOL_OP_COUNT, 0x100, 0x80000001U, 0xffffffffU,
	};
	struct msgpool_op bad = { 0 };
	unsigned int k, j;

	for (k = 0; k < NR_IOC; k++) {
		for (j = 0; j < MSGPOOL_OP_COUNT + ARRAY_SIZE(extra); j++) {
			bad.op = j < MSGPOOL_OP_COUNT ? j :
				extra[j - MSGPOOL_OP_COUNT];
			if (bad.op != 0 && bad.op != ioc[k].op)
				try_op(_metadata, self->fd, k, &bad, -EINVAL);
		}
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, invalid_flags_einval)
{
	struct msgpool_op bad = { 0 };
	unsigned int k, bit;

	for (k = 0; k < NR_IOC; k++) {
		for (bit = 0; bit < 32; bit++) {
			bad.flags = 1U << bit;
			if (!(ioc[k].flags & bad.flags))
				try_op(_metadata, self->fd, k, &bad, -EINVAL);
		}
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, reserved_einval)
{
	static const struct msgpool_op bad[] = {
		{ .reserved = 1 }, { .reserved = 1U << 31 },
	};
	unsigned int k, j;

	for (k = 0; k < NR_IOC; k++)
		for (j = 0; j < ARRAY_SIZE(bad); j++)
			try_op(_metadata, self->fd, k, &bad[j], -EINVAL);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, unused_input_fields_einval)
{
	/* In the order of the USE_ bits. */
	const struct msgpool_op bad[] = {
		{ .len = 8 }, { .data = (uintptr_t)payload }, { .tag = 1 },
		{ .token = 1 },
	};
	unsigned int k, f;

	for (k = 0; k < NR_IOC; k++)
		for (f = 0; f < ARRAY_SIZE(bad); f++)
			if (!(fields_of(ioc[k].op) & (1U << f)))
				try_op(_metadata, self->fd, k, &bad[f],
				       -EINVAL);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/* RELEASE reads len only with SETLEN; data and tag never. */
TEST_F(pool, release_setlen_unused_fields_einval)
{
	struct msgpool_op o = { .flags = MSGPOOL_F_SETLEN, .len = 4 };

	ASSERT_EQ(0, mp_store_len(self->fd, 8, &o.token));
	ASSERT_EQ(0, mp_borrow(self->fd, o.token, MSGPOOL_F_WRITE, NULL));
	o.data = (uintptr_t)payload;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_RELEASE, &o));
	o.data = 0;
	o.tag = 3;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_RELEASE, &o));
	o.tag = 0;
	EXPECT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_RELEASE, &o));
	EXPECT_EQ(0, mp_free(self->fd, o.token));
}

TEST_F(pool, nop)
{
	struct msgpool_op o = { 0 };

	EXPECT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_NOP, &o));
	o.op = MSGPOOL_OP_NOP;
	EXPECT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_NOP, &o));
	EXPECT_EQ(0, o.result);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, store_out_fields_and_header)
{
	static const char msg[] = "hello, msgpool";
	struct msgpool_op o = {
		.len = sizeof(msg), .data = (uintptr_t)msg,
		.tag = 0xfeedULL << 40 | 42,
	};
	struct msgpool_op h;
	struct msgpool_info info;
	__u64 before, after;

	before = mp_now_ns();
	ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, &o));
	after = mp_now_ns();
	EXPECT_EQ(0, o.result);
	EXPECT_NE(0, o.token);
	/* A slot of the smallest class starts at the offset. */
	EXPECT_EQ(0, mp_class_at(&self->info, o.offset));
	EXPECT_EQ(64, o.capacity);

	ASSERT_EQ(0, mp_header(self->fd, o.token, &h));
	EXPECT_EQ(sizeof(msg), h.len);
	EXPECT_EQ(getpid(), h.producer);
	EXPECT_EQ(o.tag, h.tag);
	EXPECT_LE(before, h.timestamp_ns);
	EXPECT_GE(after, h.timestamp_ns);
	EXPECT_EQ(o.offset, h.offset);
	EXPECT_EQ(64, h.capacity);

	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(MP_STD_SLOTS - 1, info.available);
	EXPECT_EQ(mp_std[0].nr_slots - 1, info.classes[0].available);
	EXPECT_EQ(1, info.nr_stores);
}

TEST_F(pool, seq_increases_over_stores_and_commits)
{
	struct msgpool_op h1, h2, h3, l;
	__u64 t1, t2;

	ASSERT_EQ(0, mp_store_len(self->fd, 3, &t1));
	ASSERT_EQ(0, mp_loan(self->fd, 3, 0, &l));
	ASSERT_EQ(0, mp_store_len(self->fd, 3, &t2));
	ASSERT_EQ(0, mp_commit(self->fd, l.token, 3, 0));
	ASSERT_EQ(0, mp_header(self->fd, t1, &h1));
	ASSERT_EQ(0, mp_header(self->fd, t2, &h2));
	ASSERT_EQ(0, mp_header(self->fd, l.token, &h3));
	EXPECT_LT(h1.seq, h2.seq);
	EXPECT_LT(h2.seq, h3.seq);
	EXPECT_LE(h1.timestamp_ns, h2.timestamp_ns);
	EXPECT_LE(h2.timestamp_ns, h3.timestamp_ns);
	/* A loan takes no number, its commit does: the last one. */
	EXPECT_EQ(h3.seq, mp_info_of(self->fd).seq);
}

TEST_F(pool, store_len_zero_einval)
{
	EXPECT_EQ(-EINVAL, mp_store(self->fd, payload, 0, 0, NULL));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, len_above_largest_class_emsgsize)
{
	struct msgpool_op o;
	__u64 t;

	EXPECT_EQ(-EMSGSIZE, mp_store_len(self->fd, 4097, NULL));
	EXPECT_EQ(-EMSGSIZE, mp_loan(self->fd, 4097, 0, NULL));
	EXPECT_EQ(-EMSGSIZE, mp_loan(self->fd, 0xffffffffU, 0, NULL));
	/* Too big for every class: nothing to wait for. */
	EXPECT_EQ(-EMSGSIZE, mp_loan(self->fd, 4097, MSGPOOL_F_WAIT, NULL));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_nobufs);
	ASSERT_EQ(0, mp_store_len(self->fd, 4096, &t));
	EXPECT_EQ(2, mp_class_at(&self->info, offset_of(self->fd, t)));
	ASSERT_EQ(0, mp_loan(self->fd, 4096, 0, &o));
	EXPECT_EQ(2, mp_class_at(&self->info, o.offset));
}

TEST_F(pool, store_copy_fault_efault)
{
	char *p = mmap(NULL, 2 * MP_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct msgpool_info info;
	__u64 t;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + MP_PAGE, MP_PAGE, PROT_NONE));
	EXPECT_EQ(-EFAULT, mp_store(self->fd, NULL, 8, 0, NULL));
	EXPECT_EQ(-EFAULT, mp_store(self->fd, p + MP_PAGE, 8, 0, NULL));
	/* A copy that faults half way. */
	EXPECT_EQ(-EFAULT, mp_store(self->fd, p + MP_PAGE - 4, 8, 0, NULL));
	EXPECT_EQ(-EFAULT, mp_store(self->fd, p + MP_PAGE - 4, 4096, 0,
				    NULL));
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(MP_STD_SLOTS, info.available);
	EXPECT_EQ(0, info.nr_stores);
	EXPECT_EQ(0, mp_store(self->fd, p + MP_PAGE - 4, 4, 0, &t));
	munmap(p, 2 * MP_PAGE);
}

TEST_F(pool, smallest_class_that_fits)
{
	static const struct { __u32 len, cls; } cases[] = {
		{ 1, 0 }, { 64, 0 }, { 65, 1 }, { 256, 1 }, { 257, 2 },
		{ 4096, 2 },
	};
	struct msgpool_op o;
	unsigned int i;
	__u64 t;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, mp_store_len(self->fd, cases[i].len, &t));
		EXPECT_EQ(cases[i].cls, mp_class_at(&self->info,
						    offset_of(self->fd, t)))
			TH_LOG("store %u", cases[i].len);
		ASSERT_EQ(0, mp_free(self->fd, t));
		ASSERT_EQ(0, mp_loan(self->fd, cases[i].len, 0, &o));
		EXPECT_EQ(cases[i].cls, mp_class_at(&self->info, o.offset))
			TH_LOG("loan %u", cases[i].len);
		EXPECT_EQ(mp_std[cases[i].cls].slot_size, o.capacity);
		EXPECT_EQ(o.capacity, o.len);
		ASSERT_EQ(0, mp_discard(self->fd, o.token));
	}
}

TEST_F(pool, loan_len_zero)
{
	struct msgpool_op o[9];
	int i;

	for (i = 0; i < 9; i++) {
		ASSERT_EQ(0, mp_loan(self->fd, 0, 0, &o[i]));
		/* The ninth falls back to the next class. */
		EXPECT_EQ(i < 8 ? 64 : 256, o[i].capacity);
		EXPECT_EQ(o[i].capacity, o[i].len);
	}
	for (i = 0; i < 9; i++)
		EXPECT_EQ(0, mp_discard(self->fd, o[i].token));
}

TEST_F(pool, fallback_then_enobufs)
{
	__u64 t[MP_STD_SLOTS + 1], extra, off9;
	struct msgpool_info info;
	int i, n;

	n = fill(self->fd, t, MP_STD_SLOTS + 1);
	ASSERT_EQ(MP_STD_SLOTS, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(i < 8 ? 0 : i < 12 ? 1 : 2,
			  mp_class_at(&self->info, offset_of(self->fd, t[i])))
			TH_LOG("message %d", i);
	off9 = offset_of(self->fd, t[9]);
	EXPECT_EQ(-ENOBUFS, mp_store_len(self->fd, 1, NULL));
	EXPECT_EQ(-ENOBUFS, mp_loan(self->fd, 0, 0, NULL));
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(0, info.available);
	EXPECT_EQ(3, info.nr_nobufs);

	/* A freed mid-size slot is taken by the next small message. */
	ASSERT_EQ(0, mp_free(self->fd, t[9]));
	ASSERT_EQ(0, mp_store_len(self->fd, 1, &extra));
	EXPECT_EQ(off9, offset_of(self->fd, extra));
	EXPECT_EQ(1, mp_class_at(&self->info, off9));
	EXPECT_NE(t[9], extra);
	t[9] = extra;
	EXPECT_EQ(0, free_all(self->fd, t, n));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, no_fallback_to_smaller_classes)
{
	__u64 a, b;

	ASSERT_EQ(0, mp_store_len(self->fd, 4096, &a));
	ASSERT_EQ(0, mp_store_len(self->fd, 4000, &b));
	EXPECT_EQ(-ENOBUFS, mp_store_len(self->fd, 257, NULL));
	EXPECT_EQ(-ENOBUFS, mp_loan(self->fd, 300, 0, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	EXPECT_EQ(2, mp_info_of(self->fd).nr_nobufs);
	EXPECT_EQ(0, mp_store_len(self->fd, 256, NULL));
}

TEST_F(pool, nonblock_alone_still_enobufs)
{
	struct msgpool_op o = {
		.len = 1, .data = (uintptr_t)payload, .flags = F_NB,
	};
	__u64 t[MP_STD_SLOTS];

	ASSERT_EQ(MP_STD_SLOTS, fill(self->fd, t, MP_STD_SLOTS));
	EXPECT_EQ(-ENOBUFS, mp_loan(self->fd, 1, F_NB, NULL));
	EXPECT_EQ(-ENOBUFS, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, &o));
}

TEST_F(pool, wait_with_nonblock_eagain)
{
	struct msgpool_op o = { .len = 1, .data = (uintptr_t)payload };
	__u64 t[MP_STD_SLOTS];
	int fl;

	/* Valid flags while a slot is free. */
	o.flags = MSGPOOL_F_WAIT | F_NB;
	ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, &o));
	ASSERT_EQ(0, mp_free(self->fd, o.token));

	ASSERT_EQ(MP_STD_SLOTS, fill(self->fd, t, MP_STD_SLOTS));
	o.token = 0;
	EXPECT_EQ(-EAGAIN, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, &o));
	EXPECT_EQ(-EAGAIN, mp_loan(self->fd, 1, MSGPOOL_F_WAIT | F_NB, NULL));

	/* An O_NONBLOCK file never sleeps either. */
	fl = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	o.flags = MSGPOOL_F_WAIT;
	EXPECT_EQ(-EAGAIN, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, &o));
	EXPECT_EQ(-EAGAIN, mp_loan(self->fd, 1, MSGPOOL_F_WAIT, NULL));
	EXPECT_EQ(-ENOBUFS, mp_loan(self->fd, 1, 0, NULL));
	EXPECT_EQ(0, mp_avail(self->fd));
}

static int wait_store_child(int rd, int wr, void *arg)
{
	struct msgpool_op o = {
		.len = 1, .data = (uintptr_t)payload, .flags = MSGPOOL_F_WAIT,
	};
	int fd = *(int *)arg;
	int ret;

	CHILD_CHECK(mp_send(wr, 1) == 0);
	ret = mp_ioctl(fd, MSGPOOL_IOC_STORE, &o);
	CHILD_CHECK(mp_send(wr, ret) == 0);
	CHILD_CHECK(mp_send(wr, o.token) == 0);
	return 0;
}

TEST_F(pool, wait_sleeps_until_a_slot_is_freed)
{
	__u64 t[MP_STD_SLOTS], v, token, off3;
	struct mp_child c;

	ASSERT_EQ(MP_STD_SLOTS, fill(self->fd, t, MP_STD_SLOTS));
	off3 = offset_of(self->fd, t[3]);
	ASSERT_EQ(0, mp_spawn_asleep(&c, wait_store_child, &self->fd))
		TH_LOG("STORE|WAIT never slept");
	EXPECT_FALSE(mp_readable(c.rd)) TH_LOG("STORE|WAIT did not wait");

	ASSERT_EQ(0, mp_free(self->fd, t[3]));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(0, (int)v);
	ASSERT_EQ(0, mp_recv(c.rd, &token));
	EXPECT_EQ(0, mp_reap(&c));
	/* It got the slot just freed, under a new token. */
	EXPECT_EQ(off3, offset_of(self->fd, token));
	EXPECT_NE(t[3], token);
	EXPECT_EQ(-ESTALE, mp_header(self->fd, t[3], NULL));
	EXPECT_EQ(0, mp_avail(self->fd));
}

TEST_F(pool, loan_holds_slot_until_commit)
{
	struct msgpool_op l, h;
	int peer = mp_peer(self->name, O_RDWR);
	__u64 before, after;

	ASSERT_LE(0, peer);
	ASSERT_EQ(0, mp_loan(self->fd, 100, 0, &l));
	EXPECT_EQ(1, mp_class_at(&self->info, l.offset));
	EXPECT_EQ(256, l.capacity);
	EXPECT_EQ(256, l.len);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));

	EXPECT_EQ(-EBUSY, mp_header(self->fd, l.token, NULL));
	EXPECT_EQ(-EDEADLK, mp_borrow(self->fd, l.token, F_NB, NULL));
	EXPECT_EQ(-EBUSY, mp_borrow(peer, l.token, F_NB, NULL));
	EXPECT_EQ(-EBUSY, mp_borrow(peer, l.token, MSGPOOL_F_WRITE | F_NB,
				    NULL));
	EXPECT_EQ(-EBUSY, mp_free(self->fd, l.token));
	EXPECT_EQ(-EBUSY, mp_free(peer, l.token));
	/* Only the loaner ends a loan. */
	EXPECT_EQ(-EPERM, mp_commit(peer, l.token, 10, 0));
	EXPECT_EQ(-EPERM, mp_discard(peer, l.token));
	EXPECT_EQ(-EMSGSIZE, mp_commit(self->fd, l.token, 257, 0));
	EXPECT_EQ(-EBUSY, mp_header(self->fd, l.token, NULL));

	before = mp_now_ns();
	ASSERT_EQ(0, mp_commit(self->fd, l.token, 100, 5));
	after = mp_now_ns();
	ASSERT_EQ(0, mp_header(peer, l.token, &h));
	EXPECT_EQ(100, h.len);
	EXPECT_EQ(5, h.tag);
	EXPECT_EQ(getpid(), h.producer);
	/* Stamped at commit, not at loan. */
	EXPECT_LE(before, h.timestamp_ns);
	EXPECT_GE(after, h.timestamp_ns);
	EXPECT_EQ(l.offset, h.offset);
	EXPECT_EQ(256, h.capacity);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	/* The loan is over. */
	EXPECT_EQ(-EPERM, mp_commit(self->fd, l.token, 100, 5));
	EXPECT_EQ(-EPERM, mp_discard(self->fd, l.token));
	EXPECT_EQ(-EPERM, mp_release(self->fd, l.token));
	EXPECT_EQ(0, mp_free(peer, l.token));
	close(peer);
}

TEST_F(pool, commit_at_capacity)
{
	struct msgpool_op l, h;

	ASSERT_EQ(0, mp_loan(self->fd, 0, 0, &l));
	ASSERT_EQ(0, mp_commit(self->fd, l.token, l.capacity, 0));
	ASSERT_EQ(0, mp_header(self->fd, l.token, &h));
	EXPECT_EQ(l.capacity, h.len);
}

TEST_F(pool, discard_returns_slot)
{
	struct msgpool_op l, l2;
	struct msgpool_info info;

	ASSERT_EQ(0, mp_loan(self->fd, 4000, 0, &l));
	ASSERT_EQ(0, mp_discard(self->fd, l.token));
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(MP_STD_SLOTS, info.available);
	EXPECT_EQ(0, info.nr_stores);
	EXPECT_EQ(-ESTALE, mp_header(self->fd, l.token, NULL));
	EXPECT_EQ(-ESTALE, mp_commit(self->fd, l.token, 1, 0));
	EXPECT_EQ(-ESTALE, mp_discard(self->fd, l.token));
	EXPECT_EQ(-ESTALE, mp_free(self->fd, l.token));
	EXPECT_EQ(-ESTALE, mp_borrow(self->fd, l.token, F_NB, NULL));
	ASSERT_EQ(0, mp_loan(self->fd, 4000, 0, &l2));
	EXPECT_NE(l.token, l2.token);
}

TEST_F(pool, borrow_out_fields)
{
	struct msgpool_op b, h;
	__u64 t;

	ASSERT_EQ(0, mp_store(self->fd, payload, 9, 77, &t));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	ASSERT_EQ(0, mp_borrow(self->fd, t, 0, &b));
	EXPECT_EQ(0, b.result);
	EXPECT_EQ(h.offset, b.offset);
	EXPECT_EQ(0, mp_class_at(&self->info, b.offset));
	EXPECT_EQ(9, b.len);
	EXPECT_EQ(64, b.capacity);
	EXPECT_EQ(getpid(), b.producer);
	EXPECT_EQ(77, b.tag);
	EXPECT_EQ(h.seq, b.seq);
	EXPECT_EQ(h.timestamp_ns, b.timestamp_ns);
	EXPECT_EQ(0, mp_release(self->fd, t));
	ASSERT_EQ(0, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, &b));
	EXPECT_EQ(9, b.len);
	EXPECT_EQ(77, b.tag);
	EXPECT_EQ(h.seq, b.seq);
	EXPECT_EQ(0, mp_release(self->fd, t));
}

TEST_F(pool, read_borrows_are_shared)
{
	int peer = mp_peer(self->name, O_RDWR);
	__u64 t;

	ASSERT_LE(0, peer);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	ASSERT_EQ(0, mp_borrow(self->fd, t, 0, NULL));
	ASSERT_EQ(0, mp_borrow(self->fd, t, F_NB, NULL));
	ASSERT_EQ(0, mp_borrow(peer, t, F_NB, NULL));
	EXPECT_EQ(3, mp_info_of(self->fd).nr_borrows);
	EXPECT_EQ(-EDEADLK, mp_borrow(self->fd, t, MSGPOOL_F_WRITE | F_NB,
				    NULL));
	EXPECT_EQ(-EDEADLK, mp_borrow(peer, t, MSGPOOL_F_WRITE | F_NB, NULL));
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));

	EXPECT_EQ(0, mp_release(self->fd, t));
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	EXPECT_EQ(0, mp_release(self->fd, t));
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	EXPECT_EQ(-EPERM, mp_release(self->fd, t));
	EXPECT_EQ(0, mp_release(peer, t));
	EXPECT_EQ(-EPERM, mp_release(peer, t));
	EXPECT_EQ(0, mp_free(self->fd, t));
	EXPECT_EQ(3, mp_info_of(self->fd).nr_borrows);
	close(peer);
}

TEST_F(pool, write_borrow_is_exclusive)
{
	int peer = mp_peer(self->name, O_RDWR);
	__u64 t;

	ASSERT_LE(0, peer);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	ASSERT_EQ(0, mp_borrow(peer, t, MSGPOOL_F_WRITE | F_NB, NULL));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_borrows);
	EXPECT_EQ(-EBUSY, mp_borrow(self->fd, t, F_NB, NULL));
	EXPECT_EQ(-EBUSY, mp_borrow(self->fd, t, MSGPOOL_F_WRITE | F_NB,
				    NULL));
	EXPECT_EQ(-EDEADLK, mp_borrow(peer, t, F_NB, NULL));
	EXPECT_EQ(-EDEADLK, mp_borrow(peer, t, MSGPOOL_F_WRITE | F_NB, NULL));
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	EXPECT_EQ(-EBUSY, mp_free(peer, t));
	EXPECT_EQ(-EPERM, mp_release(self->fd, t));
	EXPECT_EQ(0, mp_release(peer, t));
	EXPECT_EQ(-EPERM, mp_release(peer, t));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_borrows);
	EXPECT_EQ(0, mp_free(self->fd, t));
	close(peer);
}

TEST_F(pool, release_setlen)
{
	struct msgpool_op h;
	__u64 t;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &t));
	ASSERT_EQ(0, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(-EMSGSIZE, mp_release_len(self->fd, t, 65));
	/* The refused release kept the borrow. */
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	EXPECT_EQ(0, mp_release_len(self->fd, t, 64));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	EXPECT_EQ(64, h.len);

	/* A release without SETLEN keeps the length. */
	ASSERT_EQ(0, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(0, mp_release(self->fd, t));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	EXPECT_EQ(64, h.len);

	ASSERT_EQ(0, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(0, mp_release_len(self->fd, t, 3));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	EXPECT_EQ(3, h.len);
	EXPECT_EQ(0, mp_free(self->fd, t));
}

/* SETLEN ends a write borrow; a reader holds none to end. */
TEST_F(pool, release_setlen_of_read_borrow_eperm)
{
	struct msgpool_op h;
	__u64 t;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &t));
	ASSERT_EQ(0, mp_borrow(self->fd, t, 0, NULL));
	EXPECT_EQ(-EPERM, mp_release_len(self->fd, t, 5));
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	EXPECT_EQ(10, h.len);
	EXPECT_EQ(0, mp_release(self->fd, t));
	EXPECT_EQ(0, mp_free(self->fd, t));
}

TEST_F(pool, release_of_what_is_not_held_eperm)
{
	int peer = mp_peer(self->name, O_RDWR);
	__u64 t;

	ASSERT_LE(0, peer);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	EXPECT_EQ(-EPERM, mp_release(self->fd, t));
	ASSERT_EQ(0, mp_borrow(peer, t, 0, NULL));
	EXPECT_EQ(-EPERM, mp_release(self->fd, t));
	EXPECT_EQ(0, mp_release(peer, t));
	EXPECT_EQ(0, mp_free(self->fd, t));
	close(peer);
}

TEST_F(pool, free_and_double_free)
{
	int peer = mp_peer(self->name, O_RDWR);
	struct msgpool_info info;
	__u64 t;

	ASSERT_LE(0, peer);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	/* A token is a capability: any writable peer may free. */
	EXPECT_EQ(0, mp_free(peer, t));
	EXPECT_EQ(-ESTALE, mp_free(peer, t));
	EXPECT_EQ(-ESTALE, mp_free(self->fd, t));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	EXPECT_EQ(-ESTALE, mp_borrow(self->fd, t, 0, NULL));
	EXPECT_EQ(-ESTALE, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(-ESTALE, mp_release(self->fd, t));
	EXPECT_EQ(-ESTALE, mp_commit(self->fd, t, 1, 0));
	EXPECT_EQ(-ESTALE, mp_discard(self->fd, t));
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(MP_STD_SLOTS, info.available);
	EXPECT_EQ(1, info.nr_frees);
	close(peer);
}

/*
 * The ops that take a token, as a forger would try them.  None may
 * block: a borrow is NONBLOCK.  Returns the op's result.
 */
#define NR_TOKEN_OPS	7

static int token_op(int fd, __u64 token, unsigned int op)
{
	switch (op) {
	case 0:
		return mp_header(fd, token, NULL);
	case 1:
		return mp_borrow(fd, token, F_NB, NULL);
	case 2:
		return mp_borrow(fd, token, MSGPOOL_F_WRITE | F_NB, NULL);
	case 3:
		return mp_release(fd, token);
	case 4:
		return mp_free(fd, token);
	case 5:
		return mp_commit(fd, token, 1, 0);
	default:
		return mp_discard(fd, token);
	}
}

/* A forged or stale token is refused as malformed or stale, never served. */
static int refused(int ret)
{
	return ret == -EINVAL || ret == -ESTALE;
}

TEST(reused_slot_old_token_estale)
{
	struct msgpool_class one = { 64, 1 };
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_info info;
	__u64 t[5];
	int fd = mp_new_pool(name, _metadata->name, &one, 1, NULL), i, j;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mp_info(fd, &info));
	/* One slot, five messages in turn: each under a token of its own. */
	for (i = 0; i < 5; i++) {
		if (i)
			ASSERT_EQ(0, mp_free(fd, t[i - 1]));
		ASSERT_EQ(0, mp_store_len(fd, 8, &t[i]));
		EXPECT_NE(0, t[i]);
		EXPECT_EQ(0, mp_slot_at(&info, offset_of(fd, t[i]), NULL));
		for (j = 0; j < i; j++)
			EXPECT_NE(t[j], t[i]);
	}
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(-ESTALE, mp_header(fd, t[i], NULL)) TH_LOG("%d", i);
		EXPECT_EQ(-ESTALE, mp_borrow(fd, t[i], F_NB, NULL));
		EXPECT_EQ(-ESTALE, mp_borrow(fd, t[i], MSGPOOL_F_WRITE | F_NB,
					     NULL));
		EXPECT_EQ(-ESTALE, mp_free(fd, t[i]));
	}
	EXPECT_EQ(0, mp_header(fd, t[4], NULL));
	EXPECT_EQ(0, mp_info_of(fd).nr_borrows);
	EXPECT_EQ(0, mp_free(fd, t[4]));
	close(fd);
}

/*
 * With one message in the pool, no token but its own names it: 0, ~0,
 * its complement, its halves flipped and each of its 64 bits flipped are
 * all refused, and the message is left as it was.
 */
TEST_F(pool, forged_tokens_refused)
{
	__u64 t, bad[5 + 64];
	struct msgpool_info info;
	struct msgpool_op h, h2;
	unsigned int i, k;
	int ret;

	ASSERT_EQ(0, mp_store(self->fd, payload, 8, 5, &t));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	bad[0] = 0;
	bad[1] = ~0ULL;
	bad[2] = ~t;
	bad[3] = t ^ 0xffffffff00000000ULL;
	bad[4] = t ^ 0x00000000ffffffffULL;
	for (i = 0; i < 64; i++)
		bad[5 + i] = t ^ (1ULL << i);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		for (k = 0; k < NR_TOKEN_OPS; k++) {
			ret = token_op(self->fd, bad[i], k);
			EXPECT_TRUE(refused(ret))
				TH_LOG("token %#llx op %u: %d",
				       (unsigned long long)bad[i], k, ret);
		}
	}
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(MP_STD_SLOTS - 1, info.available);
	EXPECT_EQ(1, info.nr_stores);
	EXPECT_EQ(0, info.nr_borrows);
	EXPECT_EQ(0, info.nr_frees);
	ASSERT_EQ(0, mp_header(self->fd, t, &h2));
	EXPECT_EQ(h.seq, h2.seq);
	EXPECT_EQ(h.len, h2.len);
	EXPECT_EQ(5, h2.tag);
	EXPECT_EQ(0, mp_free(self->fd, t));
}

/*
 * Two pools of one shape, one message in each, in the same slot: the
 * token of one pool's message names nothing in the other.
 */
TEST_F(pool, token_of_another_pool_refused)
{
	char other[MSGPOOL_NAME_MAX];
	struct msgpool_info info2;
	__u64 mine, theirs;
	unsigned int k;
	int fd2 = mp_new_pool(other, _metadata->name, mp_std, MP_STD_NR, NULL);
	int ret;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &mine));
	ASSERT_EQ(0, mp_store_len(fd2, 8, &theirs));
	ASSERT_EQ(offset_of(self->fd, mine), offset_of(fd2, theirs));
	for (k = 0; k < NR_TOKEN_OPS; k++) {
		ret = token_op(self->fd, theirs, k);
		EXPECT_TRUE(refused(ret)) TH_LOG("theirs, op %u: %d", k, ret);
		ret = token_op(fd2, mine, k);
		EXPECT_TRUE(refused(ret)) TH_LOG("mine, op %u: %d", k, ret);
	}
	EXPECT_EQ(0, mp_info_of(self->fd).nr_borrows);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	ASSERT_EQ(0, mp_info(fd2, &info2));
	EXPECT_EQ(0, info2.nr_borrows);
	EXPECT_EQ(MP_STD_SLOTS - 1, info2.available);
	EXPECT_EQ(0, mp_header(self->fd, mine, NULL));
	EXPECT_EQ(0, mp_header(fd2, theirs, NULL));
	close(fd2);
}

TEST_F(pool, header_does_not_borrow)
{
	__u64 t;

	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	ASSERT_EQ(0, mp_header(self->fd, t, NULL));
	EXPECT_EQ(-EPERM, mp_release(self->fd, t));
	ASSERT_EQ(0, mp_borrow(self->fd, t, MSGPOOL_F_WRITE | F_NB, NULL));
	ASSERT_EQ(0, mp_release(self->fd, t));
	EXPECT_EQ(0, mp_free(self->fd, t));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_borrows);
}

/* A message stays while its owner lives; ADOPT moves the ownership. */
TEST_F(pool, adopt_moves_ownership)
{
	int owner = mp_peer(self->name, O_RDWR);
	__u64 kept, kept_w, lost;

	ASSERT_LE(0, owner);
	ASSERT_EQ(0, mp_store_len(owner, 8, &kept));
	ASSERT_EQ(0, mp_store_len(owner, 8, &kept_w));
	ASSERT_EQ(0, mp_store_len(owner, 8, &lost));
	ASSERT_EQ(0, mp_borrow(self->fd, kept, MSGPOOL_F_ADOPT, NULL));
	ASSERT_EQ(0, mp_release(self->fd, kept));
	ASSERT_EQ(0, mp_borrow(self->fd, kept_w,
			       MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT, NULL));
	ASSERT_EQ(0, mp_release(self->fd, kept_w));
	ASSERT_EQ(0, mp_borrow(self->fd, lost, 0, NULL));
	ASSERT_EQ(0, mp_release(self->fd, lost));

	close(owner);
	EXPECT_EQ(0, mp_header(self->fd, kept, NULL));
	EXPECT_EQ(0, mp_header(self->fd, kept_w, NULL));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, lost, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	EXPECT_EQ(0, mp_free(self->fd, kept));
	EXPECT_EQ(0, mp_free(self->fd, kept_w));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(pool, owner_close_frees_on_last_release)
{
	int owner = mp_peer(self->name, O_RDWR);
	__u64 r, w;

	ASSERT_LE(0, owner);
	ASSERT_EQ(0, mp_store_len(owner, 8, &r));
	ASSERT_EQ(0, mp_store_len(owner, 8, &w));
	ASSERT_EQ(0, mp_borrow(self->fd, r, 0, NULL));
	ASSERT_EQ(0, mp_borrow(self->fd, r, 0, NULL));
	ASSERT_EQ(0, mp_borrow(self->fd, w, MSGPOOL_F_WRITE, NULL));
	close(owner);

	/* Borrowed, so still there. */
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	EXPECT_EQ(0, mp_header(self->fd, r, NULL));
	EXPECT_EQ(0, mp_release(self->fd, r));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	EXPECT_EQ(0, mp_release(self->fd, r));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, r, NULL));
	/* A live writer of an orphan does not poison it. */
	EXPECT_EQ(0, mp_release(self->fd, w));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, w, NULL));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

TEST_F(pool, close_reclaims_everything)
{
	int peer = mp_peer(self->name, O_RDWR);
	struct msgpool_info info;
	struct msgpool_op l;
	__u64 mine, a, b;

	ASSERT_LE(0, peer);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &mine));
	ASSERT_EQ(0, mp_store_len(peer, 8, &a));
	ASSERT_EQ(0, mp_store_len(peer, 300, &b));
	ASSERT_EQ(0, mp_loan(peer, 8, 0, &l));
	ASSERT_EQ(0, mp_borrow(peer, mine, 0, NULL));
	ASSERT_EQ(0, mp_borrow(peer, a, 0, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 4, mp_avail(self->fd));
	close(peer);

	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(MP_STD_SLOTS - 1, info.available);
	EXPECT_EQ(3, info.nr_reclaimed);
	EXPECT_EQ(0, info.nr_poisoned);
	EXPECT_EQ(-ESTALE, mp_header(self->fd, a, NULL));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, b, NULL));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, l.token, NULL));
	/* Its read borrow of a survivor's message went with it. */
	EXPECT_EQ(0, mp_free(self->fd, mine));
}

TEST_F(pool, counters)
{
	struct msgpool_info a, b;
	struct msgpool_op l;
	__u64 t, tokens[MP_STD_SLOTS];

	a = mp_info_of(self->fd);
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	b = mp_info_of(self->fd);
	EXPECT_EQ(a.nr_stores + 1, b.nr_stores);

	a = b;
	ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
	b = mp_info_of(self->fd);
	EXPECT_EQ(a.nr_loans + 1, b.nr_loans);
	EXPECT_EQ(a.nr_stores, b.nr_stores);

	a = b;
	ASSERT_EQ(0, mp_commit(self->fd, l.token, 8, 0));
	b = mp_info_of(self->fd);
	EXPECT_EQ(a.nr_stores + 1, b.nr_stores);

	/* Refused borrows are not counted. */
	a = b;
	ASSERT_EQ(0, mp_borrow(self->fd, t, 0, NULL));
	EXPECT_EQ(-EDEADLK, mp_borrow(self->fd, t, MSGPOOL_F_WRITE | F_NB,
				    NULL));
	ASSERT_EQ(0, mp_release(self->fd, t));
	ASSERT_EQ(0, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(-EDEADLK, mp_borrow(self->fd, t, F_NB, NULL));
	ASSERT_EQ(0, mp_release(self->fd, t));
	b = mp_info_of(self->fd);
	EXPECT_EQ(a.nr_borrows + 2, b.nr_borrows);

	a = b;
	ASSERT_EQ(0, mp_free(self->fd, t));
	ASSERT_EQ(0, mp_free(self->fd, l.token));
	EXPECT_EQ(-ESTALE, mp_free(self->fd, t));
	b = mp_info_of(self->fd);
	EXPECT_EQ(a.nr_frees + 2, b.nr_frees);

	a = b;
	ASSERT_EQ(MP_STD_SLOTS, fill(self->fd, tokens, MP_STD_SLOTS));
	EXPECT_EQ(-ENOBUFS, mp_store_len(self->fd, 8, NULL));
	b = mp_info_of(self->fd);
	EXPECT_EQ(a.nr_nobufs + 1, b.nr_nobufs);
	EXPECT_EQ(a.nr_stores + MP_STD_SLOTS, b.nr_stores);
	EXPECT_EQ(0, b.nr_reclaimed);
	EXPECT_EQ(0, b.nr_poisoned);
}

/* Batches. */
static int batch(int fd, void *ops, __u32 count, __u32 op_size, __u32 flags,
		 __u32 *done)
{
	struct msgpool_batch_args b = {
		.ops = (uintptr_t)ops, .count = count, .op_size = op_size,
		.flags = flags, .done = 0xdead,
	};
	int ret = mp_ioctl(fd, MSGPOOL_IOC_BATCH, &b);

	if (done)
		*done = b.done;
	return ret;
}

#define OPSZ	sizeof(struct msgpool_op)

/* A STORE of 8 bytes, with a result that says whether it ran. */
static const struct msgpool_op store8 = {
	.op = MSGPOOL_OP_STORE, .len = 8, .data = (uintptr_t)payload,
	.result = 1,
};

/* Op @i of the batch at @buf, of ops of @size bytes. */
static struct msgpool_op op_at(const char *buf, __u32 size, unsigned int i)
{
	struct msgpool_op o;

	memcpy(&o, buf + (size_t)i * size, sizeof(o));
	return o;
}

TEST_F(pool, batch_count_limits)
{
	struct msgpool_op *ops = calloc(MSGPOOL_BATCH_MAX + 1, OPSZ);
	__u32 done, i;

	ASSERT_NE(NULL, ops);
	for (i = 0; i <= MSGPOOL_BATCH_MAX; i++) {
		ops[i].op = MSGPOOL_OP_NOP;
		ops[i].result = 1;
	}
	EXPECT_EQ(-EINVAL, batch(self->fd, ops, 0, OPSZ, 0, NULL));
	EXPECT_EQ(-EINVAL, batch(self->fd, ops, MSGPOOL_BATCH_MAX + 1, OPSZ,
				 0, NULL));
	EXPECT_EQ(-EINVAL, batch(self->fd, ops, 0xffffffffU, OPSZ, 0, NULL));
	EXPECT_EQ(1, ops[0].result);
	ASSERT_EQ(0, batch(self->fd, ops, MSGPOOL_BATCH_MAX, OPSZ, 0, &done));
	EXPECT_EQ(MSGPOOL_BATCH_MAX, done);
	for (i = 0; i < MSGPOOL_BATCH_MAX; i++)
		ASSERT_EQ(0, ops[i].result) TH_LOG("op %u", i);
	EXPECT_EQ(1, ops[MSGPOOL_BATCH_MAX].result);
	ASSERT_EQ(0, batch(self->fd, ops, 1, OPSZ, 0, &done));
	EXPECT_EQ(1, done);
	free(ops);
}

TEST_F(pool, batch_op_size_limits)
{
	char *buf = calloc(2, 4097);
	struct msgpool_op *o;
	__u32 done;

	ASSERT_NE(NULL, buf);
	memcpy(buf, &store8, OPSZ);
	memcpy(buf + 4096, &store8, OPSZ);
	EXPECT_EQ(-EINVAL, batch(self->fd, buf, 1, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, batch(self->fd, buf, 1, MSGPOOL_OP_SIZE_VER0 - 1,
				 0, NULL));
	EXPECT_EQ(-EINVAL, batch(self->fd, buf, 1, 4097, 0, NULL));
	EXPECT_EQ(-EINVAL, batch(self->fd, buf, 1, 0xffffffffU, 0, NULL));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));

	ASSERT_EQ(0, batch(self->fd, buf, 2, 4096, 0, &done));
	EXPECT_EQ(2, done);
	o = (struct msgpool_op *)buf;
	EXPECT_EQ(0, o->result);
	EXPECT_EQ(0, mp_free(self->fd, o->token));
	o = (struct msgpool_op *)(buf + 4096);
	EXPECT_EQ(0, o->result);
	EXPECT_EQ(0, mp_free(self->fd, o->token));
	free(buf);
}

/* A caller that knows a bigger op: tails are zero and stay untouched. */
TEST_F(pool, batch_op_size_growth)
{
	static const __u32 sizes[] = { OPSZ + 8, OPSZ + 1, 256 };
	struct msgpool_op in[3] = {
		{ .op = MSGPOOL_OP_STORE, .len = 8, .data = (uintptr_t)payload,
		  .tag = 11 },
		{ .op = MSGPOOL_OP_NOP },
		{ .op = MSGPOOL_OP_LOAN, .len = 100 },
	};
	struct msgpool_op out;
	unsigned int s, i, j;
	char buf[3 * 256];
	__u32 done;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		memset(buf, 0, sizeof(buf));
		for (i = 0; i < 3; i++)
			memcpy(buf + i * sizes[s], &in[i], sizeof(in[i]));
		ASSERT_EQ(0, batch(self->fd, buf, 3, sizes[s], 0, &done))
			TH_LOG("op_size %u", sizes[s]);
		EXPECT_EQ(3, done);
		for (i = 0; i < 3; i++) {
			out = op_at(buf, sizes[s], i);
			EXPECT_EQ(0, out.result) TH_LOG("op %u", i);
			for (j = OPSZ; j < sizes[s]; j++)
				ASSERT_EQ(0, buf[i * sizes[s] + j]);
			if (i == 0) {
				EXPECT_EQ(64, out.capacity);
				EXPECT_EQ(0, mp_free(self->fd, out.token));
			}
			if (i == 2) {
				EXPECT_EQ(256, out.capacity);
				EXPECT_EQ(256, out.len);
				EXPECT_EQ(0, mp_discard(self->fd, out.token));
			}
		}
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/* A nonzero byte past the known op is an op the kernel cannot read. */
TEST_F(pool, batch_nonzero_tail_einval)
{
	const __u32 size = OPSZ + 8;
	char buf[2 * (OPSZ + 8)];
	__u32 done;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &store8, OPSZ);
	memcpy(buf + size, &store8, OPSZ);
	buf[2 * size - 1] = 1;
	ASSERT_EQ(0, batch(self->fd, buf, 2, size, 0, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(0, op_at(buf, size, 0).result);
	EXPECT_EQ(-EINVAL, op_at(buf, size, 1).result);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
}

/*
 * Any nonzero byte of the tail refuses its op, which does not run and
 * gets only its result written; the batch runs on to the next op.
 */
TEST_F(pool, batch_nonzero_tail_any_byte_einval)
{
	const __u32 size = OPSZ + 16;
	struct msgpool_op nop = { .op = MSGPOOL_OP_NOP, .result = 1 };
	char buf[2 * (OPSZ + 16)];
	struct msgpool_op out;
	__u32 done, p;

	for (p = OPSZ; p < size; p++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &store8, OPSZ);
		memcpy(buf + size, &nop, OPSZ);
		buf[p] = (char)0x80;
		ASSERT_EQ(0, batch(self->fd, buf, 2, size, 0, &done));
		EXPECT_EQ(2, done);
		out = op_at(buf, size, 0);
		EXPECT_EQ(-EINVAL, out.result) TH_LOG("tail byte %u", p);
		EXPECT_EQ(0, out.token);
		EXPECT_EQ(0, out.seq);
		EXPECT_EQ((char)0x80, buf[p]);
		EXPECT_EQ(0, op_at(buf, size, 1).result);
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_stores);
}

/* An op refused for its tail is a failed op: BATCH_STOP stops there. */
TEST_F(pool, batch_nonzero_tail_stops_a_stop_batch)
{
	const __u32 size = OPSZ + 8;
	char buf[3 * (OPSZ + 8)];
	struct msgpool_op out;
	__u32 done, i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 3; i++)
		memcpy(buf + i * size, &store8, OPSZ);
	buf[2 * size - 1] = 1;
	ASSERT_EQ(0, batch(self->fd, buf, 3, size, MSGPOOL_BATCH_STOP,
			   &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(0, op_at(buf, size, 0).result);
	EXPECT_EQ(-EINVAL, op_at(buf, size, 1).result);
	out = op_at(buf, size, 2);
	EXPECT_EQ(1, out.result);
	EXPECT_EQ(0, out.token);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
}

TEST_F(pool, batch_flags_and_reserved)
{
	struct msgpool_op st = store8;
	struct msgpool_batch_args b = {
		.ops = (uintptr_t)&st, .count = 1, .op_size = OPSZ,
	};

	EXPECT_EQ(-EINVAL, batch(self->fd, &st, 1, OPSZ, 1U << 1, NULL));
	EXPECT_EQ(-EINVAL, batch(self->fd, &st, 1, OPSZ, 1U << 31, NULL));
	b.reserved = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_BATCH, &b));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(0, batch(self->fd, &st, 1, OPSZ, MSGPOOL_BATCH_STOP, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
}

TEST_F(pool, batch_bad_pointer_efault)
{
	char *p = mmap(NULL, MP_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EFAULT, batch(self->fd, NULL, 1, OPSZ, 0, NULL));
	EXPECT_EQ(-EFAULT, batch(self->fd, p, 1, OPSZ, 0, NULL));
	munmap(p, MP_PAGE);
}

/* Ops are read one at a time: those before a fault have run. */
TEST_F(pool, batch_fault_mid_array_keeps_done)
{
	char *p = mmap(NULL, 2 * MP_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct msgpool_op *ops;
	__u32 done;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + MP_PAGE, MP_PAGE, PROT_NONE));
	/* Two ops fit before the hole; the third starts in it. */
	ops = (struct msgpool_op *)(p + MP_PAGE - 2 * OPSZ);
	ops[0] = store8;
	ops[0].len = 5;
	ops[1] = (struct msgpool_op){ .op = MSGPOOL_OP_NOP, .result = 1 };
	EXPECT_EQ(0, batch(self->fd, ops, 3, OPSZ, 0, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(0, ops[1].result);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	EXPECT_EQ(0, mp_free(self->fd, ops[0].token));
	/* An op that straddles the hole is not read at all. */
	ops = (struct msgpool_op *)(p + MP_PAGE - OPSZ / 2);
	EXPECT_EQ(-EFAULT, batch(self->fd, ops, 1, OPSZ, 0, NULL));
	munmap(p, 2 * MP_PAGE);
}

TEST_F(pool, batch_per_op_results)
{
	struct msgpool_op ops[8] = {
		{ .op = MSGPOOL_OP_STORE, .len = 5, .data = (uintptr_t)payload,
		  .tag = 21 },
		{ .op = MSGPOOL_OP_FREE, .token = 0 },
		{ .op = MSGPOOL_OP_NOP },
		{ .op = MSGPOOL_OP_STORE, .len = 5000,
		  .data = (uintptr_t)payload },
		{ .op = MSGPOOL_OP_LOAN, .len = 10 },
		{ .op = 0 },
		{ .op = MSGPOOL_OP_COUNT },
		{ .op = MSGPOOL_OP_NOP, .flags = MSGPOOL_F_WAIT },
	};
	struct msgpool_op h;
	__u32 done, i;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		ops[i].result = 1;
	ASSERT_EQ(0, batch(self->fd, ops, ARRAY_SIZE(ops), OPSZ, 0, &done));
	EXPECT_EQ(ARRAY_SIZE(ops), done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(-EINVAL, ops[1].result);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(-EMSGSIZE, ops[3].result);
	EXPECT_EQ(0, ops[4].result);
	EXPECT_EQ(-EINVAL, ops[5].result);
	EXPECT_EQ(-EINVAL, ops[6].result);
	EXPECT_EQ(-EINVAL, ops[7].result);

	EXPECT_EQ(64, ops[0].capacity);
	EXPECT_EQ(0, mp_class_at(&self->info, ops[0].offset));
	ASSERT_EQ(0, mp_header(self->fd, ops[0].token, &h));
	EXPECT_EQ(ops[0].offset, h.offset);
	EXPECT_EQ(5, h.len);
	EXPECT_EQ(21, h.tag);
	EXPECT_EQ(64, ops[4].capacity);
	EXPECT_EQ(64, ops[4].len);
	EXPECT_EQ(-EBUSY, mp_header(self->fd, ops[4].token, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
}

TEST_F(pool, batch_stop_at_first_failure)
{
	struct msgpool_op ops[3] = {
		{ .op = MSGPOOL_OP_STORE, .len = 5, .data = (uintptr_t)payload },
		{ .op = MSGPOOL_OP_STORE, .len = 0, .data = (uintptr_t)payload },
		{ .op = MSGPOOL_OP_STORE, .len = 5, .data = (uintptr_t)payload,
		  .result = 0x7777 },
	};
	__u32 done;

	ASSERT_EQ(0, batch(self->fd, ops, 3, OPSZ, MSGPOOL_BATCH_STOP, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(-EINVAL, ops[1].result);
	EXPECT_EQ(0x7777, ops[2].result);
	EXPECT_EQ(0, ops[2].token);
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));

	/* A first op that fails stops it at once. */
	ops[2].result = 0x7777;
	ASSERT_EQ(0, batch(self->fd, &ops[1], 2, OPSZ, MSGPOOL_BATCH_STOP,
			   &done));
	EXPECT_EQ(1, done);
	EXPECT_EQ(0x7777, ops[2].result);

	/* Without a failure it runs to the end. */
	ops[1].len = 5;
	ASSERT_EQ(0, batch(self->fd, &ops[1], 2, OPSZ, MSGPOOL_BATCH_STOP,
			   &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(0, ops[1].result);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(MP_STD_SLOTS - 3, mp_avail(self->fd));
}

TEST_F(pool, batch_validates_each_op)
{
	struct msgpool_op ops[5] = {
		{ .op = MSGPOOL_OP_NOP, .reserved = 1 },
		{ .op = MSGPOOL_OP_NOP, .len = 1 },
		{ .op = MSGPOOL_OP_LOAN, .len = 1, .data = 1 },
		{ .op = MSGPOOL_OP_FREE, .flags = MSGPOOL_F_SETLEN },
		{ .op = MSGPOOL_OP_LOAN, .len = 1 },
	};
	__u32 done;

	ASSERT_EQ(0, mp_store_len(self->fd, 8, &ops[3].token));
	ASSERT_EQ(0, batch(self->fd, ops, 5, OPSZ, 0, &done));
	EXPECT_EQ(5, done);
	EXPECT_EQ(-EINVAL, ops[0].result);
	EXPECT_EQ(-EINVAL, ops[1].result);
	EXPECT_EQ(-EINVAL, ops[2].result);
	EXPECT_EQ(-EINVAL, ops[3].result);
	EXPECT_EQ(0, ops[4].result);
	EXPECT_EQ(0, mp_header(self->fd, ops[3].token, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
}

TEST_F(pool, batch_borrow_header_release)
{
	struct msgpool_op ops[4] = {
		{ .op = MSGPOOL_OP_BORROW }, { .op = MSGPOOL_OP_HEADER },
		{ .op = MSGPOOL_OP_RELEASE }, { .op = MSGPOOL_OP_FREE },
	};
	__u32 done, i;
	__u64 t;

	ASSERT_EQ(0, mp_store(self->fd, payload, 12, 99, &t));
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		ops[i].token = t;
	ASSERT_EQ(0, batch(self->fd, ops, 4, OPSZ, MSGPOOL_BATCH_STOP, &done));
	EXPECT_EQ(4, done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(12, ops[0].len);
	EXPECT_EQ(99, ops[0].tag);
	EXPECT_EQ(getpid(), ops[0].producer);
	EXPECT_EQ(0, mp_class_at(&self->info, ops[0].offset));
	EXPECT_EQ(ops[0].offset, ops[1].offset);
	EXPECT_EQ(0, ops[1].result);
	EXPECT_EQ(ops[0].seq, ops[1].seq);
	EXPECT_EQ(12, ops[1].len);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(0, ops[3].result);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_borrows);
}

TEST_HARNESS_MAIN
