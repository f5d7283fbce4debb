// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool crash recovery: peers killed while holding borrows, loans and
 * slots, and peers blocked in a borrow or an allocation.  Children tell
 * the parent where they are through pipes; a blocked child is seen
 * asleep through /proc, never assumed asleep after a delay.
 */
#include "msgpool_util.h"

/* The parent's peer of a fresh pool, for both fixtures. */
static void pool_setup(struct __test_metadata *_metadata, int *fd,
		       char *name, struct msgpool_info *start)
{
	*fd = mp_new_pool(name, _metadata->name, mp_std, MP_STD_NR, NULL);
	ASSERT_LE(0, *fd) TH_LOG("pool: %s", strerror(-*fd));
	ASSERT_EQ(0, mp_info(*fd, start));
	ASSERT_EQ(MP_STD_SLOTS, start->available);
}

FIXTURE(crash) {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_info start;
};

FIXTURE_SETUP(crash)
{
	pool_setup(_metadata, &self->fd, self->name, &self->start);
}

FIXTURE_TEARDOWN(crash)
{
	close(self->fd);
}

/* What a holder child takes before it parks to be killed. */
enum hold {
	HOLD_READ,	/* two read borrows of the parent's message */
	HOLD_WRITE,	/* a write borrow of the parent's message */
	HOLD_LOAN,	/* a loan of its own */
	HOLD_OWN,	/* a message of its own */
	HOLD_OWN_WRITE,	/* a message of its own, write-borrowed */
};

struct hold_args {
	const char *name;
	__u64 token;	/* the parent's message */
	enum hold what;
};

/* Takes what it is told to, sends the token concerned, waits for death. */
static int holder(int rd, int wr, void *arg)
{
	const struct hold_args *ha = arg;
	struct msgpool_op l;
	__u64 t = ha->token, v;
	int fd = mp_peer(ha->name, O_RDWR);

	CHILD_CHECK(fd >= 0);
	switch (ha->what) {
	case HOLD_READ:
		CHILD_CHECK(mp_borrow(fd, t, 0, NULL) == 0);
		CHILD_CHECK(mp_borrow(fd, t, 0, NULL) == 0);
		break;
	case HOLD_WRITE:
		CHILD_CHECK(mp_borrow(fd, t, MSGPOOL_F_WRITE, NULL) == 0);
		break;
	case HOLD_LOAN:
		CHILD_CHECK(mp_loan(fd, 100, 0, &l) == 0);
		t = l.token;
		break;
	case HOLD_OWN:
		CHILD_CHECK(mp_store_len(fd, 10, &t) == 0);
		break;
	case HOLD_OWN_WRITE:
		CHILD_CHECK(mp_store_len(fd, 10, &t) == 0);
		CHILD_CHECK(mp_borrow(fd, t, MSGPOOL_F_WRITE, NULL) == 0);
		break;
	}
	CHILD_CHECK(mp_send(wr, t) == 0);
	mp_recv(rd, &v);
	return 0;
}

/* Starts a holder and returns the token it sent. */
static __u64 hold(struct __test_metadata *_metadata, struct mp_child *c,
		  const char *name, __u64 token, enum hold what)
{
	struct hold_args ha = { .name = name, .token = token, .what = what };
	__u64 t = 0;

	ASSERT_EQ(0, mp_spawn(c, holder, &ha));
	ASSERT_EQ(0, mp_recv(c->rd, &t)) TH_LOG("the holder failed");
	return t;
}

TEST_F(crash, killed_read_borrower)
{
	struct mp_child c;
	__u64 t;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &t));
	hold(_metadata, &c, self->name, t, HOLD_READ);
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	EXPECT_EQ(-EBUSY, mp_borrow(self->fd, t, MSGPOOL_F_WRITE |
				    MSGPOOL_F_NONBLOCK, NULL));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	/* Both read borrows went with it; the message did not. */
	EXPECT_EQ(0, mp_header(self->fd, t, NULL));
	EXPECT_EQ(0, mp_free(self->fd, t));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

TEST_F(crash, killed_write_borrower_poisons)
{
	struct msgpool_op o;
	struct mp_child c;
	int peer;
	__u64 t;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &t));
	hold(_metadata, &c, self->name, t, HOLD_WRITE);
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	peer = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, peer);
	EXPECT_EQ(1, mp_info_of(self->fd).nr_poisoned);
	EXPECT_EQ(self->start.available - 1, mp_avail(self->fd));
	EXPECT_EQ(-EOWNERDEAD, mp_borrow(self->fd, t, 0, NULL));
	EXPECT_EQ(-EOWNERDEAD, mp_borrow(self->fd, t, MSGPOOL_F_NONBLOCK,
					 NULL));
	EXPECT_EQ(-EOWNERDEAD, mp_borrow(self->fd, t, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(-EOWNERDEAD, mp_borrow(self->fd, t, MSGPOOL_F_ADOPT, NULL));
	EXPECT_EQ(-EOWNERDEAD, mp_header(self->fd, t, &o));
	EXPECT_EQ(-EOWNERDEAD, mp_borrow(peer, t, 0, NULL));
	EXPECT_EQ(-EOWNERDEAD, mp_header(peer, t, NULL));
	EXPECT_EQ(-EPERM, mp_release(self->fd, t));

	/* Freeing it is the way out. */
	EXPECT_EQ(0, mp_free(self->fd, t));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	EXPECT_EQ(-ESTALE, mp_free(self->fd, t));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_poisoned);
	/* The slot serves again. */
	ASSERT_EQ(0, mp_store_len(self->fd, 10, &t));
	EXPECT_EQ(0, mp_header(peer, t, NULL));
	close(peer);
}

TEST_F(crash, poisoned_slot_freed_when_its_owner_closes)
{
	int owner = mp_peer(self->name, O_RDWR);
	struct mp_child c;
	__u64 t;

	ASSERT_LE(0, owner);
	ASSERT_EQ(0, mp_store_len(owner, 10, &t));
	hold(_metadata, &c, self->name, t, HOLD_WRITE);
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));
	EXPECT_EQ(-EOWNERDEAD, mp_header(self->fd, t, NULL));
	close(owner);
	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

TEST_F(crash, killed_loaner)
{
	struct mp_child c;
	__u64 t;

	t = hold(_metadata, &c, self->name, 0, HOLD_LOAN);
	EXPECT_EQ(-EBUSY, mp_header(self->fd, t, NULL));
	EXPECT_EQ(self->start.available - 1, mp_avail(self->fd));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	EXPECT_EQ(-ESTALE, mp_borrow(self->fd, t, MSGPOOL_F_NONBLOCK, NULL));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

TEST_F(crash, killed_owner_of_a_message)
{
	struct msgpool_info info;
	struct mp_child c;
	__u64 t;

	t = hold(_metadata, &c, self->name, 0, HOLD_OWN);
	EXPECT_EQ(0, mp_header(self->fd, t, NULL));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(self->start.available, info.available);
	EXPECT_EQ(1, info.nr_reclaimed);
	EXPECT_EQ(0, info.nr_poisoned);
}

/* Its own slot, write-borrowed: the owner died, nothing to poison. */
TEST_F(crash, killed_owner_writing_its_own_message)
{
	struct mp_child c;
	__u64 t;

	t = hold(_metadata, &c, self->name, 0, HOLD_OWN_WRITE);
	EXPECT_EQ(-EBUSY, mp_free(self->fd, t));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

/* The parent borrows the child's message, for reading or writing. */
FIXTURE(orphan) {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_info start;
};

FIXTURE_SETUP(orphan)
{
	pool_setup(_metadata, &self->fd, self->name, &self->start);
}

FIXTURE_TEARDOWN(orphan)
{
	close(self->fd);
}

FIXTURE_VARIANT(orphan) {
	__u32 flags;	/* of the parent's borrow of the child's message */
};

FIXTURE_VARIANT_ADD(orphan, read) { .flags = 0 };
FIXTURE_VARIANT_ADD(orphan, write) { .flags = MSGPOOL_F_WRITE };

TEST_F(orphan, killed_owner_of_a_borrowed_message)
{
	struct msgpool_op h;
	struct mp_child c;
	__u64 t;

	t = hold(_metadata, &c, self->name, 0, HOLD_OWN);
	ASSERT_EQ(0, mp_borrow(self->fd, t, variant->flags, NULL));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	/* The borrow keeps it until released. */
	EXPECT_EQ(self->start.available - 1, mp_avail(self->fd));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	EXPECT_EQ(10, h.len);
	EXPECT_EQ(c.pid, h.producer);
	EXPECT_EQ(0, mp_release(self->fd, t));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, t, NULL));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

TEST_F(orphan, killed_owner_after_adoption)
{
	struct mp_child c;
	__u64 t;

	t = hold(_metadata, &c, self->name, 0, HOLD_OWN);
	ASSERT_EQ(0, mp_borrow(self->fd, t, variant->flags | MSGPOOL_F_ADOPT,
			       NULL));
	ASSERT_EQ(0, mp_release(self->fd, t));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	EXPECT_EQ(0, mp_header(self->fd, t, NULL));
	EXPECT_EQ(self->start.available - 1, mp_avail(self->fd));
	EXPECT_EQ(0, mp_free(self->fd, t));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

/* Holds one of everything, with the pool mapped, and parks. */
static int hoarder(int rd, int wr, void *arg)
{
	const struct hold_args *ha = arg;
	const __u64 *theirs = (const __u64 *)(uintptr_t)ha->token;
	struct msgpool_op l;
	unsigned char *m;
	__u64 map_size, own, lent, v;
	int fd = mp_peer(ha->name, O_RDWR);

	CHILD_CHECK(fd >= 0);
	m = mp_map(fd, PROT_READ | PROT_WRITE, &map_size);
	CHILD_CHECK(m != MAP_FAILED);
	CHILD_CHECK(mp_borrow(fd, theirs[0], 0, NULL) == 0);
	CHILD_CHECK(mp_borrow(fd, theirs[1], MSGPOOL_F_WRITE, &l) == 0);
	memset(m + l.offset, 0xdd, l.capacity);
	CHILD_CHECK(mp_loan(fd, 300, 0, &l) == 0);
	memset(m + l.offset, 0xdd, l.capacity);
	CHILD_CHECK(mp_store_len(fd, 10, &own) == 0);
	CHILD_CHECK(mp_store_len(fd, 10, &lent) == 0);
	CHILD_CHECK(mp_send(wr, own) == 0);
	CHILD_CHECK(mp_send(wr, lent) == 0);
	mp_recv(rd, &v);
	return 0;
}

TEST_F(crash, killed_peer_holding_everything)
{
	__u64 theirs[2], own = 0, lent = 0;
	struct hold_args ha = { .name = self->name,
				.token = (uintptr_t)theirs };
	struct msgpool_info info;
	struct mp_child c;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &theirs[0]));
	ASSERT_EQ(0, mp_store_len(self->fd, 10, &theirs[1]));
	ASSERT_EQ(0, mp_spawn(&c, hoarder, &ha));
	ASSERT_EQ(0, mp_recv(c.rd, &own));
	ASSERT_EQ(0, mp_recv(c.rd, &lent));
	ASSERT_EQ(0, mp_borrow(self->fd, lent, 0, NULL));
	EXPECT_EQ(self->start.available - 5, mp_avail(self->fd));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	ASSERT_EQ(0, mp_info(self->fd, &info));
	/* Left: the parent's two messages and the one it still reads. */
	EXPECT_EQ(self->start.available - 3, info.available);
	EXPECT_EQ(1, info.nr_poisoned);
	EXPECT_EQ(-ESTALE, mp_header(self->fd, own, NULL));
	EXPECT_EQ(0, mp_header(self->fd, theirs[0], NULL));
	EXPECT_EQ(-EOWNERDEAD, mp_header(self->fd, theirs[1], NULL));
	EXPECT_EQ(0, mp_header(self->fd, lent, NULL));
	EXPECT_EQ(0, mp_release(self->fd, lent));
	EXPECT_EQ(0, mp_free(self->fd, theirs[0]));
	EXPECT_EQ(0, mp_free(self->fd, theirs[1]));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

/*
 * Blocked peers.  The child says it is about to block, the parent waits
 * until /proc shows it asleep and checks it has not answered yet.
 */
struct block_args {
	const char *name;
	__u64 token;
	__u32 op;	/* MSGPOOL_OP_BORROW, or MSGPOOL_OP_STORE with F_WAIT */
	__u32 flags;
};

/* Sends 1, blocks in its op, sends the op's result (and ends a borrow). */
static int blocker(int rd, int wr, void *arg)
{
	const struct block_args *ba = arg;
	struct msgpool_op o = { .token = ba->token, .flags = ba->flags };
	int fd = mp_peer(ba->name, O_RDWR);
	int ret;

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_send(wr, 1) == 0);
	if (ba->op == MSGPOOL_OP_STORE) {
		o.token = 0;
		o.len = 1;
		o.data = (uintptr_t)&o;
		ret = mp_ioctl(fd, MSGPOOL_IOC_STORE, &o);
	} else {
		ret = mp_ioctl(fd, MSGPOOL_IOC_BORROW, &o);
		if (!ret)
			CHILD_CHECK(mp_release(fd, ba->token) == 0);
	}
	CHILD_CHECK(mp_send(wr, ret) == 0);
	CHILD_CHECK(mp_send(wr, o.len) == 0);
	return 0;
}

static void start_blocked(struct __test_metadata *_metadata,
			  struct mp_child *c, const struct block_args *ba)
{
	int ret = mp_spawn_asleep(c, blocker, (void *)ba);

	ASSERT_EQ(0, ret) TH_LOG("the child failed or never slept: %d", ret);
	ASSERT_FALSE(mp_readable(c->rd)) TH_LOG("the child did not block");
}

/* The blocked op's result and the len it saw, once it completes. */
static int blocked_result(struct __test_metadata *_metadata,
			  struct mp_child *c, __u32 *len)
{
	__u64 ret = 0, l = 0;

	EXPECT_EQ(0, mp_recv(c->rd, &ret)) TH_LOG("the child failed");
	EXPECT_EQ(0, mp_recv(c->rd, &l));
	EXPECT_EQ(0, mp_reap(c));
	if (len)
		*len = l;
	return (int)ret;
}

TEST_F(crash, write_borrower_woken_by_read_release)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_BORROW,
				 .flags = MSGPOOL_F_WRITE };
	struct mp_child c;
	__u32 len = 0;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &ba.token));
	ASSERT_EQ(0, mp_borrow(self->fd, ba.token, 0, NULL));
	ASSERT_EQ(0, mp_borrow(self->fd, ba.token, 0, NULL));
	start_blocked(_metadata, &c, &ba);
	/* One of two read borrows ended: still blocked. */
	ASSERT_EQ(0, mp_release(self->fd, ba.token));
	ASSERT_EQ(0, mp_wait_sleeping(c.pid));
	EXPECT_FALSE(mp_readable(c.rd));
	ASSERT_EQ(0, mp_release(self->fd, ba.token));

	EXPECT_EQ(0, blocked_result(_metadata, &c, &len));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, mp_free(self->fd, ba.token));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

TEST_F(crash, reader_woken_by_write_release)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_BORROW };
	struct mp_child c;
	__u32 len = 0;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &ba.token));
	ASSERT_EQ(0, mp_borrow(self->fd, ba.token, MSGPOOL_F_WRITE, NULL));
	start_blocked(_metadata, &c, &ba);
	ASSERT_EQ(0, mp_release_len(self->fd, ba.token, 20));

	EXPECT_EQ(0, blocked_result(_metadata, &c, &len));
	EXPECT_EQ(20, len);
	EXPECT_EQ(0, mp_free(self->fd, ba.token));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

TEST_F(crash, borrower_woken_by_commit)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_BORROW };
	struct msgpool_op l;
	struct mp_child c;
	__u32 len = 0;

	ASSERT_EQ(0, mp_loan(self->fd, 10, 0, &l));
	ba.token = l.token;
	start_blocked(_metadata, &c, &ba);
	ASSERT_EQ(0, mp_commit(self->fd, l.token, 30, 0));

	EXPECT_EQ(0, blocked_result(_metadata, &c, &len));
	EXPECT_EQ(30, len);
	EXPECT_EQ(0, mp_free(self->fd, l.token));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

TEST_F(crash, borrower_woken_by_discard_gets_estale)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_BORROW,
				 .flags = MSGPOOL_F_WRITE };
	struct msgpool_op l;
	struct mp_child c;

	ASSERT_EQ(0, mp_loan(self->fd, 10, 0, &l));
	ba.token = l.token;
	start_blocked(_metadata, &c, &ba);
	ASSERT_EQ(0, mp_discard(self->fd, l.token));

	EXPECT_EQ(-ESTALE, blocked_result(_metadata, &c, NULL));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

TEST_F(crash, killed_blocked_borrower_leaves_no_trace)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_BORROW,
				 .flags = MSGPOOL_F_WRITE };
	struct mp_child c;

	ASSERT_EQ(0, mp_store_len(self->fd, 10, &ba.token));
	ASSERT_EQ(0, mp_borrow(self->fd, ba.token, 0, NULL));
	start_blocked(_metadata, &c, &ba);
	/* A killable sleep: SIGKILL ends it. */
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	ASSERT_EQ(0, mp_release(self->fd, ba.token));
	EXPECT_EQ(0, mp_header(self->fd, ba.token, NULL));
	/* No write borrow was left behind. */
	EXPECT_EQ(0, mp_borrow(self->fd, ba.token, MSGPOOL_F_WRITE |
			       MSGPOOL_F_NONBLOCK, NULL));
	EXPECT_EQ(0, mp_release(self->fd, ba.token));
	EXPECT_EQ(0, mp_free(self->fd, ba.token));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_poisoned);
}

TEST_F(crash, killed_blocked_allocator_leaves_no_trace)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_STORE,
				 .flags = MSGPOOL_F_WAIT };
	__u64 t[MP_STD_SLOTS];
	struct msgpool_info info;
	struct mp_child c;
	int i;

	for (i = 0; i < MP_STD_SLOTS; i++)
		ASSERT_EQ(0, mp_store_len(self->fd, 1, &t[i]));
	start_blocked(_metadata, &c, &ba);
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));

	for (i = 0; i < MP_STD_SLOTS; i++)
		EXPECT_EQ(0, mp_free(self->fd, t[i]));
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(self->start.available, info.available);
	EXPECT_EQ(0, info.nr_reclaimed);
	EXPECT_EQ(MP_STD_SLOTS, info.nr_stores);
}

TEST_F(crash, allocator_woken_by_free)
{
	struct block_args ba = { .name = self->name,
				 .op = MSGPOOL_OP_STORE,
				 .flags = MSGPOOL_F_WAIT };
	__u64 t[MP_STD_SLOTS];
	struct mp_child c;
	int i;

	for (i = 0; i < MP_STD_SLOTS; i++)
		ASSERT_EQ(0, mp_store_len(self->fd, 1, &t[i]));
	start_blocked(_metadata, &c, &ba);
	ASSERT_EQ(0, mp_free(self->fd, t[MP_STD_SLOTS - 1]));

	/* The child's message went with it when it exited. */
	EXPECT_EQ(0, blocked_result(_metadata, &c, NULL));
	EXPECT_EQ(1, mp_avail(self->fd));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_reclaimed);
	for (i = 0; i < MP_STD_SLOTS - 1; i++)
		EXPECT_EQ(0, mp_free(self->fd, t[i]));
	EXPECT_EQ(self->start.available, mp_avail(self->fd));
}

TEST_HARNESS_MAIN
