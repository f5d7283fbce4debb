// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool publish/subscribe: subscribe, publish, take, mark read, the
 * overflow policies, poll(), and readers and publishers killed at each
 * stage.  A child that blocks is seen asleep through /proc, never assumed
 * asleep after a delay.
 */
#include "msgpool_util.h"

FIXTURE(ps) {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	__u64 map_size;
};

FIXTURE_SETUP(ps)
{
	self->fd = mp_new_pool(self->name, _metadata->name, mp_std, MP_STD_NR,
			       &self->map_size);
	ASSERT_LE(0, self->fd) TH_LOG("pool: %s", strerror(-self->fd));
}

FIXTURE_TEARDOWN(ps)
{
	close(self->fd);
}

TEST_F(ps, subscribe_rules)
{
	struct msgpool_subscribe_args s = { 0 };
	__u32 r = 99, r2 = 99;
	__u64 seq = 99;
	int fd = mp_open(O_RDWR), peer;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, mp_subscribe(fd, NULL, NULL));
	EXPECT_EQ(-ENOTCONN, mp_unsubscribe(fd));
	EXPECT_EQ(POLLERR, mp_events(fd, POLLIN | POLLOUT, 0));
	close(fd);

	EXPECT_EQ(0, mp_info_of(self->fd).nr_readers);
	EXPECT_EQ(0, mp_subscribe(self->fd, &r, &seq));
	EXPECT_EQ(0, r);
	EXPECT_EQ(0, seq);
	EXPECT_EQ(-EALREADY, mp_subscribe(self->fd, NULL, NULL));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_readers);

	peer = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, peer);
	s.flags = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(peer, MSGPOOL_IOC_SUBSCRIBE, &s));
	s.flags = 0;
	s.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(peer, MSGPOOL_IOC_SUBSCRIBE, &s));
	EXPECT_EQ(-EFAULT, mp_ioctl(peer, MSGPOOL_IOC_SUBSCRIBE, (void *)8));
	/* A read-only peer may read. */
	EXPECT_EQ(0, mp_subscribe(peer, &r2, NULL));
	EXPECT_EQ(1, r2);
	EXPECT_EQ(2, mp_info_of(self->fd).nr_readers);

	EXPECT_EQ(0, mp_unsubscribe(self->fd));
	EXPECT_EQ(-ENOENT, mp_unsubscribe(self->fd));
	EXPECT_EQ(1, mp_info_of(self->fd).nr_readers);
	/* A free index is used again. */
	ASSERT_EQ(0, mp_post(self->fd, 8, 0, 0, NULL));
	EXPECT_EQ(0, mp_subscribe(self->fd, &r, &seq));
	EXPECT_EQ(0, r);
	EXPECT_EQ(1, seq);
	close(peer);
	EXPECT_EQ(1, mp_info_of(self->fd).nr_readers);
}

TEST_F(ps, sixty_four_readers)
{
	int fds[MSGPOOL_MAX_READERS + 1], i;
	__u64 seen = 0;
	__u32 r;

	for (i = 0; i < MSGPOOL_MAX_READERS; i++) {
		fds[i] = mp_peer(self->name, O_RDONLY);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, mp_subscribe(fds[i], &r, NULL));
		ASSERT_GT(MSGPOOL_MAX_READERS, r);
		EXPECT_EQ(0, seen & (1ULL << r));
		seen |= 1ULL << r;
	}
	EXPECT_EQ(~0ULL, seen);
	fds[i] = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, fds[i]);
	EXPECT_EQ(-EUSERS, mp_subscribe(fds[i], NULL, NULL));

	/* Every reader gets the message; the last mark frees it. */
	ASSERT_EQ(0, mp_post(self->fd, 8, 5, 0, NULL));
	for (i = 0; i < MSGPOOL_MAX_READERS; i++) {
		struct msgpool_op o;

		ASSERT_EQ(0, mp_take(fds[i], &o));
		EXPECT_EQ(5, o.tag);
		EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
		ASSERT_EQ(0, mp_mark_read(fds[i], o.token));
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));

	close(fds[17]);
	EXPECT_EQ(0, mp_subscribe(fds[MSGPOOL_MAX_READERS], &r, NULL));
	EXPECT_EQ(17, r);
	for (i = 0; i <= MSGPOOL_MAX_READERS; i++)
		if (i != 17)
			close(fds[i]);
}

TEST_F(ps, publish_take_mark_read)
{
	struct msgpool_op l, p, t;
	__u64 before = mp_now_ns();
	char *map;

	map = mmap(NULL, self->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	EXPECT_EQ(-EAGAIN, mp_take(self->fd, NULL));
	EXPECT_EQ(0, mp_events(self->fd, POLLIN, 0));

	ASSERT_EQ(0, mp_loan(self->fd, 200, 0, &l));
	memcpy(map + l.offset, "published", 10);
	ASSERT_EQ(0, mp_publish(self->fd, l.token, 10, 42, &p));
	EXPECT_EQ(1, p.seq);
	EXPECT_LE(before, p.timestamp_ns);
	EXPECT_EQ(42, p.tag);
	EXPECT_EQ(10, p.len);
	EXPECT_EQ(1, mp_info_of(self->fd).seq);
	EXPECT_EQ(POLLIN, mp_events(self->fd, POLLIN, 0));

	ASSERT_EQ(0, mp_take(self->fd, &t));
	EXPECT_EQ(l.token, t.token);
	EXPECT_EQ(l.offset, t.offset);
	EXPECT_EQ(0, t.lost);
	EXPECT_EQ(10, t.len);
	EXPECT_EQ(256, t.capacity);
	EXPECT_EQ(getpid(), (pid_t)t.producer);
	EXPECT_EQ(42, t.tag);
	EXPECT_EQ(1, t.seq);
	EXPECT_EQ(p.timestamp_ns, t.timestamp_ns);
	EXPECT_STREQ("published", map + t.offset);
	EXPECT_EQ(0, mp_events(self->fd, POLLIN, 0));
	EXPECT_EQ(-EAGAIN, mp_take(self->fd, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));

	ASSERT_EQ(0, mp_mark_read(self->fd, t.token));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(-ESTALE, mp_mark_read(self->fd, t.token));
	munmap(map, self->map_size);
}

TEST_F(ps, publish_errors)
{
	struct msgpool_op l, o, h, d;
	__u64 t, pub_seq;
	int other, ro;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &t));
	ASSERT_EQ(0, mp_header(self->fd, t, &h));
	EXPECT_EQ(-EPERM, mp_publish(self->fd, t, 8, 0, NULL));
	ASSERT_EQ(0, mp_free(self->fd, t));

	ASSERT_EQ(0, mp_loan(self->fd, 64, 0, &l));
	other = mp_peer(self->name, O_RDWR);
	ASSERT_LE(0, other);
	ro = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, mp_publish(other, l.token, 8, 0, NULL));
	EXPECT_EQ(-EBADF, mp_publish(ro, l.token, 8, 0, NULL));
	EXPECT_EQ(-EMSGSIZE, mp_publish(self->fd, l.token, 65, 0, NULL));
	EXPECT_EQ(-EINVAL, mp_publish(self->fd, 0, 8, 0, NULL));
	/* The token of a loan that ended is stale. */
	ASSERT_EQ(0, mp_loan(self->fd, 64, 0, &d));
	ASSERT_EQ(0, mp_discard(self->fd, d.token));
	EXPECT_EQ(-ESTALE, mp_publish(self->fd, d.token, 8, 0, NULL));
	memset(&o, 0, sizeof(o));
	o.token = l.token;
	o.flags = MSGPOOL_F_NONBLOCK;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_PUBLISH, &o));
	o.flags = 0;
	o.data = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_PUBLISH, &o));
	o.data = 0;
	o.op = MSGPOOL_OP_COMMIT;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_PUBLISH, &o));
	o.op = MSGPOOL_OP_PUBLISH;
	EXPECT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_PUBLISH, &o));
	/* The store took a number; none of the refused publishes did. */
	pub_seq = o.seq;
	EXPECT_EQ(h.seq + 1, pub_seq);
	EXPECT_EQ(-EPERM, mp_publish(self->fd, l.token, 8, 0, NULL));

	/* The published slot is its readers': nobody else may touch it. */
	EXPECT_EQ(-EBUSY, mp_free(self->fd, l.token));
	EXPECT_EQ(-EPERM, mp_borrow(self->fd, l.token, 0, NULL));
	EXPECT_EQ(-EPERM, mp_borrow(self->fd, l.token, MSGPOOL_F_WRITE, NULL));
	EXPECT_EQ(-EPERM, mp_discard(self->fd, l.token));
	EXPECT_EQ(-EPERM, mp_commit(self->fd, l.token, 1, 0));
	EXPECT_EQ(-EPERM, mp_release(self->fd, l.token));
	EXPECT_EQ(0, mp_header(self->fd, l.token, &o));
	EXPECT_EQ(pub_seq, o.seq);
	close(other);
	close(ro);

	/* Whoever closes, the message waits for its reader. */
	ASSERT_EQ(0, mp_take(self->fd, &o));
	EXPECT_EQ(l.token, o.token);
	EXPECT_EQ(0, mp_mark_read(self->fd, o.token));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(ps, publish_to_nobody_frees)
{
	__u64 seq, gen0, gen1;
	struct msgpool_op l, st = {
		.len = 8, .data = (uintptr_t)"message",
	};

	gen0 = mp_info_of(self->fd).notify_gen;
	ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
	ASSERT_EQ(0, mp_publish(self->fd, l.token, 8, 0, NULL));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(-ESTALE, mp_header(self->fd, l.token, NULL));
	gen1 = mp_info_of(self->fd).notify_gen;
	EXPECT_LT(gen0, gen1);
	/* The message nobody got still took its number. */
	ASSERT_EQ(0, mp_post(self->fd, 8, 0, 0, &seq));
	EXPECT_EQ(2, seq);
	/* Stores and publishes share one sequence. */
	ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_STORE, &st));
	EXPECT_EQ(3, st.seq);
	ASSERT_EQ(0, mp_post(self->fd, 8, 0, 0, &seq));
	EXPECT_EQ(4, seq);
	EXPECT_EQ(4, mp_info_of(self->fd).seq);
}

/*
 * One sequence per pool: stores, commits and publishes, mixed, each take
 * the next number; INFO reports the last one, and TAKE and HEADER give a
 * message the number it got.
 */
TEST_F(ps, one_sequence_for_stores_commits_and_publishes)
{
	struct msgpool_op o[6], l, t, h;
	__u64 last = 0;
	int i, k;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	for (i = 0; i < 6; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		switch (i % 3) {
		case 0:		/* store */
			o[i].len = 8;
			o[i].data = (uintptr_t)"message";
			o[i].tag = i;
			ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_STORE,
					      &o[i]));
			break;
		case 1:		/* loan and commit */
			ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
			o[i].token = l.token;
			o[i].len = 8;
			o[i].tag = i;
			ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_COMMIT,
					      &o[i]));
			break;
		case 2:		/* loan and publish */
			ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
			ASSERT_EQ(0, mp_publish(self->fd, l.token, 8, i,
						&o[i]));
			break;
		}
		EXPECT_EQ(last + 1, o[i].seq) TH_LOG("message %d", i);
		last = o[i].seq;
		EXPECT_EQ(last, mp_info_of(self->fd).seq);
	}
	for (i = 0; i < 6; i++) {
		if (i % 3 == 2)
			continue;
		ASSERT_EQ(0, mp_header(self->fd, o[i].token, &h));
		EXPECT_EQ(o[i].seq, h.seq);
		EXPECT_EQ(i, h.tag);
	}
	/* The reader gets the publishes only, with their numbers. */
	for (k = 2; k < 6; k += 3) {
		ASSERT_EQ(0, mp_take(self->fd, &t));
		EXPECT_EQ(o[k].seq, t.seq);
		EXPECT_EQ(k, t.tag);
		EXPECT_EQ(0, mp_mark_read(self->fd, t.token));
	}
	EXPECT_EQ(-EAGAIN, mp_take(self->fd, NULL));
}

/*
 * SUBSCRIBE returns the pool's current number, which stores and commits
 * move too; what is published after it is above it, what was published
 * before is not the new reader's.
 */
TEST_F(ps, subscribe_seq_below_next_publish)
{
	struct msgpool_op l, t;
	__u64 sub_seq, before, after;
	int b;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	ASSERT_EQ(0, mp_post(self->fd, 8, 1, 0, &before));
	ASSERT_EQ(0, mp_store_len(self->fd, 8, NULL));
	ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
	ASSERT_EQ(0, mp_commit(self->fd, l.token, 8, 0));

	b = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, mp_subscribe(b, NULL, &sub_seq));
	EXPECT_EQ(mp_info_of(self->fd).seq, sub_seq);
	EXPECT_LT(before, sub_seq);
	ASSERT_EQ(0, mp_post(self->fd, 8, 2, 0, &after));
	EXPECT_LT(sub_seq, after);

	ASSERT_EQ(0, mp_take(b, &t));
	EXPECT_EQ(after, t.seq);
	EXPECT_EQ(2, t.tag);
	EXPECT_EQ(0, mp_mark_read(b, t.token));
	EXPECT_EQ(-EAGAIN, mp_take(b, NULL));
	/* The first reader has both. */
	ASSERT_EQ(0, mp_take(self->fd, &t));
	EXPECT_EQ(before, t.seq);
	EXPECT_EQ(0, mp_mark_read(self->fd, t.token));
	ASSERT_EQ(0, mp_take(self->fd, &t));
	EXPECT_EQ(after, t.seq);
	EXPECT_EQ(0, mp_mark_read(self->fd, t.token));
	close(b);
}

TEST_F(ps, take_and_mark_errors)
{
	struct msgpool_op o, t;
	int b;

	EXPECT_EQ(-ENOENT, mp_take(self->fd, NULL));
	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	b = mp_reader(self->name, O_RDWR);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, mp_post(self->fd, 8, 0, 0, NULL));

	memset(&o, 0, sizeof(o));
	o.token = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_TAKE, &o));
	o.token = 0;
	o.flags = MSGPOOL_F_NONBLOCK;
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_TAKE, &o));

	ASSERT_EQ(0, mp_take(self->fd, &t));
	/* Not taken by b, not taken twice, not a published slot. */
	EXPECT_EQ(-EPERM, mp_mark_read(b, t.token));
	EXPECT_EQ(0, mp_mark_read(self->fd, t.token));
	EXPECT_EQ(-EPERM, mp_mark_read(self->fd, t.token));
	EXPECT_EQ(-EINVAL, mp_mark_read(self->fd, 0));
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &o.token));
	EXPECT_EQ(-EPERM, mp_mark_read(self->fd, o.token));
	ASSERT_EQ(0, mp_free(self->fd, o.token));
	EXPECT_EQ(-ESTALE, mp_mark_read(self->fd, o.token));

	/* b still has it; RELEASE is not how a take ends. */
	ASSERT_EQ(0, mp_take(b, &o));
	EXPECT_EQ(t.token, o.token);
	EXPECT_EQ(-EPERM, mp_release(b, o.token));
	EXPECT_EQ(0, mp_unsubscribe(b));
	EXPECT_EQ(-ENOENT, mp_mark_read(b, o.token));
	EXPECT_EQ(-ENOENT, mp_take(b, NULL));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	close(b);
}

TEST_F(ps, order_and_masks)
{
	struct msgpool_op o[5], x;
	__u64 seq, s0;
	int a = mp_reader(self->name, O_RDONLY), b;
	int i;

	ASSERT_LE(0, a);
	ASSERT_EQ(0, mp_post(self->fd, 8, 100, 0, NULL));
	b = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, mp_subscribe(b, NULL, &s0));
	EXPECT_EQ(1, s0);
	for (i = 1; i < 5; i++)
		ASSERT_EQ(0, mp_post(self->fd, 8 * i, 100 + i, 0, NULL));

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, mp_take(a, &o[i]));
		EXPECT_EQ(i + 1, o[i].seq);
		EXPECT_EQ(100 + i, o[i].tag);
	}
	EXPECT_EQ(-EAGAIN, mp_take(a, NULL));
	/* b subscribed after the first one: it starts at seq 2. */
	ASSERT_EQ(0, mp_take(b, &x));
	EXPECT_EQ(2, x.seq);
	EXPECT_EQ(0, mp_mark_read(a, o[0].token));
	EXPECT_EQ(MP_STD_SLOTS - 4, mp_avail(self->fd));
	/* Marks in any order; the slot goes when both marked. */
	EXPECT_EQ(0, mp_mark_read(a, o[3].token));
	EXPECT_EQ(0, mp_mark_read(a, o[1].token));
	EXPECT_EQ(MP_STD_SLOTS - 4, mp_avail(self->fd));
	EXPECT_EQ(0, mp_mark_read(b, x.token));
	EXPECT_EQ(MP_STD_SLOTS - 3, mp_avail(self->fd));
	for (seq = 3; seq <= 5; seq++) {
		ASSERT_EQ(0, mp_take(b, &x));
		EXPECT_EQ(seq, x.seq);
		EXPECT_EQ(0, mp_mark_read(b, x.token));
	}
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	EXPECT_EQ(0, mp_mark_read(a, o[2].token));
	EXPECT_EQ(0, mp_mark_read(a, o[4].token));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	close(a);
	close(b);
}

TEST_F(ps, unsubscribe_clears_reader)
{
	struct msgpool_op t;
	int a = mp_reader(self->name, O_RDONLY);
	int i;

	ASSERT_LE(0, a);
	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mp_post(self->fd, 8, i, 0, NULL));
	ASSERT_EQ(0, mp_take(a, &t));
	EXPECT_EQ(0, mp_unsubscribe(self->fd));
	EXPECT_EQ(MP_STD_SLOTS - 3, mp_avail(self->fd));
	/* Its take goes with it: the token is stale after the slot goes. */
	EXPECT_EQ(0, mp_unsubscribe(a));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(-ENOENT, mp_mark_read(a, t.token));
	EXPECT_EQ(0, mp_subscribe(a, NULL, NULL));
	EXPECT_EQ(-ESTALE, mp_mark_read(a, t.token));
	EXPECT_EQ(-EAGAIN, mp_take(a, NULL));
	close(a);
}

TEST_F(ps, batch_ops)
{
	struct msgpool_op ops[4];
	struct msgpool_batch_args b = { 0 };
	struct msgpool_op l;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
	memset(ops, 0, sizeof(ops));
	ops[0].op = MSGPOOL_OP_PUBLISH;
	ops[0].token = l.token;
	ops[0].len = 8;
	ops[0].tag = 9;
	ops[1].op = MSGPOOL_OP_TAKE;
	ops[2].op = MSGPOOL_OP_TAKE;
	b.ops = (uintptr_t)ops;
	b.count = 3;
	b.op_size = sizeof(ops[0]);
	ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_BATCH, &b));
	EXPECT_EQ(3, b.done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(1, ops[0].seq);
	EXPECT_EQ(0, ops[1].result);
	EXPECT_EQ(9, ops[1].tag);
	EXPECT_EQ(l.token, ops[1].token);
	EXPECT_EQ(-EAGAIN, ops[2].result);

	memset(&ops[3], 0, sizeof(ops[3]));
	ops[3].op = MSGPOOL_OP_MARK_READ;
	ops[3].token = l.token;
	b.ops = (uintptr_t)&ops[3];
	b.count = 1;
	ASSERT_EQ(0, mp_ioctl(self->fd, MSGPOOL_IOC_BATCH, &b));
	EXPECT_EQ(0, ops[3].result);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

TEST_F(ps, backpressure)
{
	struct msgpool_op t;
	struct mp_child c = { 0 };
	__u64 v;
	int i;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	EXPECT_EQ(POLLOUT, mp_events(self->fd, POLLOUT, 0));
	for (i = 0; i < MP_STD_SLOTS; i++)
		ASSERT_EQ(0, mp_post(self->fd, 8, i, 0, NULL));
	EXPECT_EQ(0, mp_avail(self->fd));
	EXPECT_EQ(POLLIN, mp_events(self->fd, POLLIN | POLLOUT, 0));
	EXPECT_EQ(-ENOBUFS, mp_loan(self->fd, 8, 0, NULL));
	EXPECT_EQ(-EAGAIN, mp_loan(self->fd, 8, MSGPOOL_F_WAIT |
				   MSGPOOL_F_NONBLOCK, NULL));

	ASSERT_EQ(0, mp_spawn_asleep(&c, mp_waiting_loaner, self->name));
	EXPECT_EQ(0, mp_readable(c.rd));
	ASSERT_EQ(0, mp_take(self->fd, &t));
	EXPECT_EQ(1, t.seq);
	EXPECT_EQ(0, mp_readable(c.rd));
	ASSERT_EQ(0, mp_mark_read(self->fd, t.token));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	/* It got the slot just marked read. */
	EXPECT_EQ(t.offset, v);
	EXPECT_EQ(0, mp_reap(&c));
	/* The child's loan went back when it exited. */
	EXPECT_EQ(1, mp_avail(self->fd));
	EXPECT_EQ(POLLIN | POLLOUT, mp_events(self->fd, POLLIN | POLLOUT, 0));
}

TEST(overwrite_flag_rules)
{
	struct msgpool_attach a;
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR), fd2;

	ASSERT_LE(0, fd);
	mp_name(name, "overwrite_flag_rules");
	mp_attach_args(&a, name, MSGPOOL_ATTACH_OVERWRITE, 0, NULL, 0);
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));
	ASSERT_EQ(0, mp_create(fd, name, mp_std, MP_STD_NR, 0600, NULL));
	EXPECT_EQ(0, mp_info_of(fd).pool_flags);

	/* Like classes: ignored when the pool exists. */
	fd2 = mp_open(O_RDWR);
	ASSERT_LE(0, fd2);
	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE |
		       MSGPOOL_ATTACH_OVERWRITE, 0600, mp_std, MP_STD_NR);
	EXPECT_EQ(0, mp_ioctl(fd2, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(0, a.created);
	EXPECT_EQ(0, mp_info_of(fd2).pool_flags);
	close(fd2);
	close(fd);

	fd = mp_open(O_RDWR);
	ASSERT_LE(0, fd);
	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE |
		       MSGPOOL_ATTACH_OVERWRITE, 0600, mp_std, MP_STD_NR);
	EXPECT_EQ(0, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(1, a.created);
	EXPECT_EQ(MSGPOOL_ATTACH_OVERWRITE,
		  mp_info_of(fd).pool_flags);
	close(fd);
}

/*
 * A new peer of a fresh OVERWRITE pool for test @test, of @nr slots of 64
 * bytes: its fd or -errno, the pool's name in @name.
 */
static int ps_overwrite_pool(char *name, const char *test, __u32 nr)
{
	struct msgpool_class one = { .slot_size = 64, .nr_slots = nr };
	struct msgpool_attach a;

	mp_attach_args(&a, "", MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL |
		       MSGPOOL_ATTACH_OVERWRITE, 0600, &one, 1);
	return mp_new_attach(name, test, &a);
}

/*
 * TAKE on @fd: the message must be number @seq, with @lost messages lost
 * before it since the reader's previous take.  Its token.
 */
static __u64 take_lost(struct __test_metadata *_metadata, int fd, __u64 seq,
		       __u32 lost)
{
	struct msgpool_op t = { 0 };

	ASSERT_EQ(0, mp_take(fd, &t)) TH_LOG("take of message %llu",
					     (unsigned long long)seq);
	EXPECT_EQ(seq, t.seq);
	EXPECT_EQ(lost, t.lost) TH_LOG("message %llu",
				       (unsigned long long)seq);
	return t.token;
}

TEST(overwrite_oldest)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_op h;
	int fd = ps_overwrite_pool(name, _metadata->name, 4), i;
	__u64 seq, held;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mp_subscribe(fd, NULL, NULL));
	for (i = 1; i <= 10; i++) {
		ASSERT_EQ(0, mp_post(fd, 8, i, 0, &seq));
		EXPECT_EQ(i, seq);
	}
	/* 1..6 were taken back: the reader sees 7..10. */
	EXPECT_EQ(0, mp_avail(fd));
	held = take_lost(_metadata, fd, 7, 6);

	/* A taken slot is never overwritten. */
	for (i = 11; i <= 20; i++)
		ASSERT_EQ(0, mp_post(fd, 8, i, 0, NULL));
	EXPECT_EQ(0, mp_mark_read(fd, take_lost(_metadata, fd, 18, 10)));
	EXPECT_EQ(0, mp_header(fd, held, &h));
	EXPECT_EQ(7, h.seq);
	EXPECT_EQ(0, mp_mark_read(fd, held));
	take_lost(_metadata, fd, 19, 0);
	take_lost(_metadata, fd, 20, 0);
	ASSERT_EQ(0, mp_post(fd, 8, 21, 0, NULL));
	ASSERT_EQ(0, mp_post(fd, 8, 22, 0, NULL));
	/* Two taken, two published: the oldest untaken goes. */
	ASSERT_EQ(0, mp_post(fd, 8, 23, 0, NULL));
	take_lost(_metadata, fd, 22, 1);
	/* All taken: nothing to overwrite. */
	take_lost(_metadata, fd, 23, 0);
	EXPECT_EQ(-ENOBUFS, mp_loan(fd, 8, 0, NULL));
	EXPECT_EQ(0, mp_events(fd, POLLOUT, 0));
	close(fd);
}

/*
 * A reader that falls behind learns at its next take how many messages
 * were overwritten before it took them, since its previous take; the
 * take after that reports 0.
 */
TEST(overwrite_reports_lost_at_next_take)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = ps_overwrite_pool(name, _metadata->name, 4), i;
	__u64 seq[14], t;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mp_subscribe(fd, NULL, NULL));
	/* Seven into four slots: the first three go. */
	for (i = 0; i < 7; i++)
		ASSERT_EQ(0, mp_post(fd, 8, i, 0, &seq[i]));
	EXPECT_EQ(0, mp_mark_read(fd, take_lost(_metadata, fd, seq[3], 3)));
	for (i = 4; i < 7; i++) {
		t = take_lost(_metadata, fd, seq[i], 0);
		EXPECT_EQ(0, mp_mark_read(fd, t));
	}
	/* Counted again from the last take: 4 fit, 2 more drop 2. */
	for (i = 7; i < 13; i++)
		ASSERT_EQ(0, mp_post(fd, 8, i, 0, &seq[i]));
	take_lost(_metadata, fd, seq[9], 2);
	/* A taken slot is not overwritten, nor counted. */
	ASSERT_EQ(0, mp_post(fd, 8, 13, 0, &seq[13]));
	take_lost(_metadata, fd, seq[11], 1);
	take_lost(_metadata, fd, seq[12], 0);
	take_lost(_metadata, fd, seq[13], 0);
	EXPECT_EQ(-EAGAIN, mp_take(fd, NULL));
	close(fd);
}

/* What one reader missed is not lost to a reader that took it in time. */
TEST(overwrite_lost_is_per_reader)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = ps_overwrite_pool(name, _metadata->name, 2), slow, i;
	__u64 seq[5], t;

	ASSERT_LE(0, fd);
	slow = mp_peer(name, O_RDONLY);
	ASSERT_LE(0, slow);
	ASSERT_EQ(0, mp_subscribe(fd, NULL, NULL));
	ASSERT_EQ(0, mp_subscribe(slow, NULL, NULL));
	/* fd reads each message at once; slow reads none. */
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, mp_post(fd, 8, i, 0, &seq[i]));
		t = take_lost(_metadata, fd, seq[i], 0);
		ASSERT_EQ(0, mp_mark_read(fd, t));
	}
	/* Two slots: slow has the last two, the first three went. */
	ASSERT_EQ(0, mp_mark_read(slow, take_lost(_metadata, slow, seq[3], 3)));
	ASSERT_EQ(0, mp_mark_read(slow, take_lost(_metadata, slow, seq[4], 0)));
	EXPECT_EQ(2, mp_avail(fd));
	close(slow);
	close(fd);
}

/* Subscribes, says so, then waits in poll() and takes one message. */
static int poll_reader(int rd, int wr, void *arg)
{
	struct msgpool_op t;
	int fd = mp_reader(arg, O_RDONLY);
	__u64 v;

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	CHILD_CHECK(mp_events(fd, POLLIN, -1) == POLLIN);
	CHILD_CHECK(mp_take(fd, &t) == 0);
	CHILD_CHECK(mp_send(wr, t.seq) == 0);
	CHILD_CHECK(mp_mark_read(fd, t.token) == 0);
	mp_recv(rd, &v);
	return 0;
}

TEST_F(ps, poll_wakes_reader)
{
	struct mp_child c = { 0 };
	__u64 v;

	ASSERT_EQ(0, mp_spawn_asleep(&c, poll_reader, self->name));
	EXPECT_EQ(0, mp_readable(c.rd));
	ASSERT_EQ(0, mp_post(self->fd, 8, 0, 0, NULL));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, mp_reap(&c));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/*
 * A reader of @count messages, each holding its seq: polls with a timeout
 * that only a lost wake-up reaches.  A slow reader keeps @hold takes
 * before it marks them read, which holds the publisher back.
 */
struct reader_args {
	const char *name;
	unsigned int count;
	unsigned int hold;	/* takes kept before marking, 1..16 */
};

static int counting_reader(int rd, int wr, void *arg)
{
	const struct reader_args *ra = arg;
	struct msgpool_op t;
	__u64 map_size, first, seq, v, held[16];
	unsigned int n, k = 0;
	char *map;
	int fd = mp_peer(ra->name, O_RDONLY);

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(ra->hold >= 1 && ra->hold <= 16);
	map = mp_map(fd, PROT_READ, &map_size);
	CHILD_CHECK(map != MAP_FAILED);
	CHILD_CHECK(mp_subscribe(fd, NULL, &first) == 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	for (n = 0; n < ra->count; n++) {
		while (mp_take(fd, &t) == -EAGAIN) {
			/* 60 s with a message published: a lost wake-up. */
			CHILD_CHECK(mp_events(fd, POLLIN, 60000) == POLLIN);
		}
		seq = first + n + 1;
		CHILD_CHECK(t.seq == seq);
		CHILD_CHECK(t.tag == seq);
		CHILD_CHECK(t.len == sizeof(seq));
		CHILD_CHECK(!memcmp(map + t.offset, &seq, sizeof(seq)));
		held[k++] = t.token;
		if (k == ra->hold || n + 1 == ra->count)
			while (k)
				CHILD_CHECK(mp_mark_read(fd, held[--k]) == 0);
	}
	CHILD_CHECK(mp_take(fd, NULL) == -EAGAIN);
	CHILD_CHECK(mp_send(wr, n) == 0);
	mp_recv(rd, &v);
	return 0;
}

/* Publishes @count messages, each holding its seq, waiting for slots. */
static int publish_n(int fd, char *map, unsigned int count)
{
	__u64 seq = mp_info_of(fd).seq;
	struct msgpool_op l;
	unsigned int i;
	int ret;

	for (i = 0; i < count; i++) {
		ret = mp_loan(fd, sizeof(seq), MSGPOOL_F_WAIT, &l);
		if (ret)
			return ret;
		seq++;
		memcpy(map + l.offset, &seq, sizeof(seq));
		ret = mp_publish(fd, l.token, sizeof(seq), seq, &l);
		if (ret)
			return ret;
		if (l.seq != seq)
			return -EPROTO;
	}
	return 0;
}

TEST_F_TIMEOUT(ps, three_readers_in_order, 300)
{
	struct reader_args ra[3] = {
		{ self->name, 2000, 1 }, { self->name, 2000, 1 },
		{ self->name, 2000, 10 },
	};
	struct mp_child c[3] = { 0 };
	char *map;
	__u64 v;
	int i;

	map = mmap(NULL, self->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mp_spawn(&c[i], counting_reader, &ra[i]));
		ASSERT_EQ(0, mp_recv(c[i].rd, &v));
	}
	ASSERT_EQ(0, publish_n(self->fd, map, ra[0].count));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mp_recv(c[i].rd, &v)) TH_LOG("reader %d", i);
		EXPECT_EQ(ra[i].count, v);
		/* Its siblings hold c[i].wr too: no EOF ends its wait. */
		ASSERT_EQ(0, mp_send(c[i].wr, 0));
		EXPECT_EQ(0, mp_reap(&c[i]));
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(0, mp_info_of(self->fd).nr_readers);
	munmap(map, self->map_size);
}

/*
 * One slot: publisher and reader take turns sleeping, the publisher in
 * a loan, the reader in poll(), for 30000 rounds: some 3 ms each on the
 * debug kernel under TCG, so that a busy host still fits the timeout.
 */
TEST_F_TIMEOUT(ps, no_lost_wakeup, 600)
{
	static const struct msgpool_class one[] = { { 64, 1 } };
	struct reader_args ra = { NULL, 30000, 1 };
	char name[MSGPOOL_NAME_MAX];
	__u64 map_size = 0, v;
	struct mp_child c = { 0 };
	char *map;
	int fd = mp_new_pool(name, _metadata->name, one, 1, &map_size);

	ASSERT_LE(0, fd);
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ra.name = name;
	ASSERT_EQ(0, mp_spawn(&c, counting_reader, &ra));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	ASSERT_EQ(0, publish_n(fd, map, ra.count));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(ra.count, v);
	EXPECT_EQ(0, mp_reap(&c));
	EXPECT_EQ(1, mp_avail(fd));
	munmap(map, map_size);
	close(fd);
}

/* Where a reader is when it is killed. */
enum stage {
	SUBSCRIBED,	/* subscribed, nothing taken */
	TAKEN,		/* holding two takes */
	MARKED,		/* took and marked one, holds another */
	POLLING,	/* asleep in poll() */
};

struct stage_args {
	const char *name;
	enum stage stage;
};

static int staged_reader(int rd, int wr, void *arg)
{
	const struct stage_args *sa = arg;
	struct msgpool_op t;
	int fd = mp_reader(sa->name, O_RDONLY);
	__u64 v;

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	CHILD_CHECK(mp_recv(rd, &v) == 0);	/* messages are out */
	switch (sa->stage) {
	case SUBSCRIBED:
		break;
	case MARKED:
		CHILD_CHECK(mp_take(fd, &t) == 0);
		CHILD_CHECK(mp_mark_read(fd, t.token) == 0);
		/* fall through */
	case TAKEN:
		CHILD_CHECK(mp_take(fd, &t) == 0);
		CHILD_CHECK(mp_take(fd, &t) == 0);
		break;
	case POLLING:
		while (mp_take(fd, &t) == 0)
			CHILD_CHECK(mp_mark_read(fd, t.token) == 0);
		CHILD_CHECK(mp_send(wr, 1) == 0);
		mp_events(fd, POLLIN, -1);
		return 2;
	}
	CHILD_CHECK(mp_send(wr, 1) == 0);
	mp_recv(rd, &v);
	return 0;
}

/*
 * Starts a reader of @sa, publishes three messages on @fd, of a pool
 * with @readers other readers, and kills the reader at its stage.
 */
static void kill_staged_reader(struct __test_metadata *_metadata, int fd,
			       struct stage_args *sa, __u32 readers)
{
	struct mp_child c = { 0 };
	__u64 v;
	int n;

	ASSERT_EQ(0, mp_spawn(&c, staged_reader, sa));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(readers + 1, mp_info_of(fd).nr_readers);
	for (n = 0; n < 3; n++)
		ASSERT_EQ(0, mp_post(fd, 8, 0, 0, NULL));
	ASSERT_EQ(0, mp_send(c.wr, 0));
	ASSERT_EQ(0, mp_recv(c.rd, &v)) TH_LOG("stage %d", sa->stage);
	if (sa->stage == POLLING)
		ASSERT_EQ(0, mp_wait_sleeping(c.pid));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&c));
	EXPECT_EQ(readers, mp_info_of(fd).nr_readers);
}

TEST_F(ps, reader_killed_at_each_stage)
{
	struct stage_args sa = { self->name, SUBSCRIBED };
	struct msgpool_op t;
	__u64 seq;
	int n;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	for (sa.stage = SUBSCRIBED; sa.stage <= POLLING; sa.stage++) {
		kill_staged_reader(_metadata, self->fd, &sa, 1);
		/* The survivor gets all three; each mark frees a slot. */
		for (n = 0; n < 3; n++) {
			ASSERT_EQ(0, mp_take(self->fd, &t));
			seq = t.seq;
			EXPECT_EQ(MP_STD_SLOTS - 3 + n, mp_avail(self->fd));
			ASSERT_EQ(0, mp_mark_read(self->fd, t.token));
		}
		EXPECT_EQ(3 * (sa.stage + 1), seq);
		EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	}
	/* And alone, a killed reader leaves nothing behind. */
	ASSERT_EQ(0, mp_unsubscribe(self->fd));
	for (sa.stage = SUBSCRIBED; sa.stage <= POLLING; sa.stage++) {
		kill_staged_reader(_metadata, self->fd, &sa, 0);
		EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	}
}

/* Where a publisher is when it is killed. */
enum pstage {
	PUB_LOANED,	/* holds a loan, half written */
	PUB_PUBLISHED,	/* published one, holds a loan */
	PUB_BLOCKED,	/* asleep in a loan, the pool full */
};

struct pub_args {
	const char *name;
	enum pstage stage;
};

static int staged_publisher(int rd, int wr, void *arg)
{
	const struct pub_args *pa = arg;
	struct msgpool_op l;
	int fd = mp_peer(pa->name, O_RDWR);
	__u64 v;

	CHILD_CHECK(fd >= 0);
	switch (pa->stage) {
	case PUB_PUBLISHED:
		CHILD_CHECK(mp_post(fd, 8, 77, 0, NULL) == 0);
		/* fall through */
	case PUB_LOANED:
		CHILD_CHECK(mp_loan(fd, 8, 0, &l) == 0);
		break;
	case PUB_BLOCKED:
		while (mp_post(fd, 8, 77, 0, NULL) == 0)
			;
		CHILD_CHECK(mp_send(wr, 1) == 0);
		mp_loan(fd, 8, MSGPOOL_F_WAIT, &l);
		return 2;
	}
	CHILD_CHECK(mp_send(wr, 1) == 0);
	mp_recv(rd, &v);
	return 0;
}

TEST_F(ps, publisher_killed_at_each_stage)
{
	struct pub_args pa = { self->name, PUB_LOANED };
	static const int published[] = { 0, 1, MP_STD_SLOTS };
	struct msgpool_op t;
	struct mp_child c = { 0 };
	__u64 v;
	int n;

	ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
	for (pa.stage = PUB_LOANED; pa.stage <= PUB_BLOCKED; pa.stage++) {
		ASSERT_EQ(0, mp_spawn(&c, staged_publisher, &pa));
		ASSERT_EQ(0, mp_recv(c.rd, &v)) TH_LOG("stage %d", pa.stage);
		if (pa.stage == PUB_BLOCKED)
			ASSERT_EQ(0, mp_wait_sleeping(c.pid));
		ASSERT_EQ(128 + SIGKILL, mp_kill(&c));
		/* Its loan came back; what it published stays for us. */
		EXPECT_EQ(MP_STD_SLOTS - published[pa.stage],
			  mp_avail(self->fd));
		for (n = 0; n < published[pa.stage]; n++) {
			ASSERT_EQ(0, mp_take(self->fd, &t));
			EXPECT_EQ(77, t.tag);
			ASSERT_EQ(0, mp_mark_read(self->fd, t.token));
		}
		EXPECT_EQ(-EAGAIN, mp_take(self->fd, NULL));
		EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	}
}

TEST_HARNESS_MAIN
