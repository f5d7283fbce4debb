// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool reader rings, from the side of a hostile reader: the rules of
 * MSGPOOL_IOC_RING and of mapping the rings, forged, stale and repeated
 * tokens in the completion ring, bogus ring indexes, a thread scribbling
 * over the completion area, a ring that is never read, the reader limit,
 * overwrite, poll(), MSGPOOL_RING_NEED_WAKEUP, O_RDONLY readers, pid
 * namespaces, a reader that reads with no system call, readers killed
 * with completions not yet drained, and UNSUBSCRIBE.  Processes are put
 * in order by pipes, poll() and /proc; where the kernel acts on its own
 * time, a test polls for the outcome with a bound, never trusts a delay.
 */
#include "msgpool_util.h"

#include <pthread.h>
#include <sched.h>

/* The kernel writes the rx area while we read it, and reads our comp. */
#define RD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define WR(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* Tokens no pool hands out, we hope; the kernel must refuse each. */
static const __u64 rg_junk[] = {
	0, ~0ULL, 0x0123456789abcdefULL, 0x8000000000000000ULL, 1,
};

/* One reader's rings, as it maps them. */
struct rg {
	int fd;
	__u32 n;
	struct msgpool_ring_args a;
	struct msgpool_ring_rx *rx;
	struct msgpool_ring_comp *comp;
	struct msgpool_ring_msg *msgs;	/* after the rx head */
	__u64 *tokens;			/* after the comp head */
};

static int rg_ring(int fd, __u32 entries, struct msgpool_ring_args *out)
{
	struct msgpool_ring_args a = { .entries = entries };
	int ret = mp_ioctl(fd, MSGPOOL_IOC_RING, &a);

	if (!ret && out)
		*out = a;
	return ret;
}

static int rg_sync(int fd)
{
	return ioctl(fd, MSGPOOL_IOC_RING_SYNC) ? -errno : 0;
}

/* Maps the rings @r->a describes on @r->fd: 0 or -errno. */
static int rg_map(struct rg *r)
{
	void *p;

	p = mmap(NULL, r->a.rx_size, PROT_READ, MAP_SHARED, r->fd,
		 r->a.rx_offset);
	if (p == MAP_FAILED)
		return -errno;
	r->rx = p;
	p = mmap(NULL, r->a.comp_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 r->fd, r->a.comp_offset);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(r->rx, r->a.rx_size);
		r->rx = NULL;
		return err;
	}
	r->comp = p;
	r->msgs = (struct msgpool_ring_msg *)(r->rx + 1);
	r->tokens = (__u64 *)(r->comp + 1);
	return 0;
}

/* RING of @entries on subscribed @fd, then both areas mapped. */
static int rg_setup(struct rg *r, int fd, __u32 entries)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->n = entries;
	ret = rg_ring(fd, entries, &r->a);
	return ret ? ret : rg_map(r);
}

/* A new peer of @name opened with @oflags, subscribed, with its rings. */
static int rg_reader(struct rg *r, const char *name, int oflags,
		     __u32 entries)
{
	int fd = mp_reader(name, oflags), ret;

	if (fd < 0)
		return fd;
	ret = rg_setup(r, fd, entries);
	if (ret)
		close(fd);
	return ret;
}

static void rg_unmap(struct rg *r)
{
	if (r->rx)
		munmap(r->rx, r->a.rx_size);
	if (r->comp)
		munmap(r->comp, r->a.comp_size);
	r->rx = NULL;
	r->comp = NULL;
}

static void rg_close(struct rg *r)
{
	rg_unmap(r);
	close(r->fd);
}

static __u32 rg_prod(const struct rg *r)
{
	return RD(r->rx->producer);
}

static __u32 rg_errors(const struct rg *r)
{
	return RD(r->rx->errors);
}

static __u32 rg_flags(const struct rg *r)
{
	return RD(r->rx->flags);
}

/* Entries the kernel wrote that this reader has not read. */
static __u32 rg_unread(const struct rg *r)
{
	return rg_prod(r) - r->comp->rx_consumer;
}

/* The next unread message into *@m: 1, or 0 if there is none. */
static int rg_next(struct rg *r, struct msgpool_ring_msg *m)
{
	__u32 cons = r->comp->rx_consumer;

	if (rg_prod(r) == cons)
		return 0;
	*m = r->msgs[cons & (r->n - 1)];
	WR(r->comp->rx_consumer, cons + 1);
	return 1;
}

/* Puts @token in the completion ring: 0, or -ENOSPC if it is full. */
static int rg_complete(struct rg *r, __u64 token)
{
	__u32 p = r->comp->producer;

	if (p - RD(r->rx->comp_consumer) >= r->n)
		return -ENOSPC;
	r->tokens[p & (r->n - 1)] = token;
	WR(r->comp->producer, p + 1);
	return 0;
}

/* Loans @len bytes, fills them for @tag in @map and publishes them. */
static int rg_send(int fd, unsigned char *map, __u32 len, __u64 tag,
		   __u32 flags, struct msgpool_op *out)
{
	struct msgpool_op l;
	int ret = mp_loan(fd, len, flags, &l);

	if (ret)
		return ret;
	mp_fill(map + l.offset, len, tag);
	ret = mp_publish(fd, l.token, len, tag, out);
	if (!ret && out)
		out->offset = l.offset;
	return ret;
}

/* A pool of a test's own: one class of 64-byte slots, mapped. */
struct rg_pool {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	__u64 map_size;
	unsigned char *map;
};

/* @nr slots, a reader limit of @limit, attach @flags besides CREATE. */
static int rg_pool_open(struct rg_pool *p, const char *test, __u32 nr,
			__u32 limit, __u32 flags)
{
	struct msgpool_class one = { .slot_size = 64, .nr_slots = nr };
	struct msgpool_attach a;

	p->map = MAP_FAILED;
	mp_attach_args(&a, "", MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL |
		       flags, 0600, &one, 1);
	a.reader_limit = limit;
	p->fd = mp_new_attach(p->name, test, &a);
	if (p->fd < 0)
		return p->fd;
	p->map_size = a.map_size;
	p->map = mmap(NULL, a.map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->fd, 0);
	return p->map == MAP_FAILED ? -errno : 0;
}

static void rg_pool_close(struct rg_pool *p)
{
	if (p->map != MAP_FAILED)
		munmap(p->map, p->map_size);
	close(p->fd);
}

FIXTURE(ring) {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	__u64 map_size;
	unsigned char *map;
};

FIXTURE_SETUP(ring)
{
	self->fd = mp_new_pool(self->name, _metadata->name, mp_std, MP_STD_NR,
			       &self->map_size);
	ASSERT_LE(0, self->fd) TH_LOG("pool: %s", strerror(-self->fd));
	self->map = mmap(NULL, self->map_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(ring)
{
	munmap(self->map, self->map_size);
	close(self->fd);
}

TEST_F(ring, ring_rules)
{
	static const __u32 bad[] = {
		0, 1, 3, 6, MSGPOOL_RING_MAX + 1, MSGPOOL_RING_MAX * 2,
		1U << 31, ~0U,
	};
	struct msgpool_ring_args a;
	unsigned int i;
	int fd = mp_open(O_RDWR), big;
	struct rg r;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, rg_ring(fd, 4, NULL));
	EXPECT_EQ(-ENOTCONN, rg_sync(fd));
	ASSERT_EQ(0, mp_join(fd, self->name));
	EXPECT_EQ(-ENOENT, rg_ring(fd, 4, NULL));
	EXPECT_EQ(-ENOENT, rg_sync(fd));
	ASSERT_EQ(0, mp_subscribe(fd, NULL, NULL));
	EXPECT_EQ(-ENOENT, rg_sync(fd));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, rg_ring(fd, bad[i], NULL))
			TH_LOG("entries %u", bad[i]);
	memset(&a, 0, sizeof(a));
	a.entries = 4;
	a.flags = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_RING, &a));
	a.flags = 0;
	a.reserved[2] = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_RING, &a));
	EXPECT_EQ(-EFAULT, mp_ioctl(fd, MSGPOOL_IOC_RING, (void *)8));

	/* None of those gave the file a ring: this one does. */
	ASSERT_EQ(0, rg_setup(&r, fd, MSGPOOL_RING_MIN));
	EXPECT_LE(sizeof(struct msgpool_ring_rx) +
		  MSGPOOL_RING_MIN * sizeof(struct msgpool_ring_msg),
		  r.a.rx_size);
	EXPECT_LE(sizeof(struct msgpool_ring_comp) +
		  MSGPOOL_RING_MIN * sizeof(__u64), r.a.comp_size);
	EXPECT_EQ(0, r.a.rx_offset % MP_PAGE);
	EXPECT_EQ(0, r.a.comp_offset % MP_PAGE);
	EXPECT_EQ(0, r.a.rx_size % MP_PAGE);
	EXPECT_EQ(0, r.a.comp_size % MP_PAGE);
	/* Neither area overlaps the pool nor the other one. */
	EXPECT_LE(self->map_size, r.a.rx_offset);
	EXPECT_LE(self->map_size, r.a.comp_offset);
	EXPECT_TRUE(r.a.rx_offset + r.a.rx_size <= r.a.comp_offset ||
		    r.a.comp_offset + r.a.comp_size <= r.a.rx_offset);
	EXPECT_EQ(0, rg_prod(&r));
	EXPECT_EQ(0, RD(r.rx->comp_consumer));
	EXPECT_EQ(0, rg_flags(&r));
	EXPECT_EQ(0, rg_errors(&r));

	/* Once per file, whatever the reader does in between. */
	EXPECT_EQ(-EALREADY, rg_ring(fd, 4, NULL));
	EXPECT_EQ(-EALREADY, rg_ring(fd, MSGPOOL_RING_MIN, NULL));
	ASSERT_EQ(0, mp_unsubscribe(fd));
	ASSERT_EQ(0, mp_subscribe(fd, NULL, NULL));
	EXPECT_EQ(-EALREADY, rg_ring(fd, 4, NULL));
	rg_unmap(&r);
	close(fd);

	/* The largest ring, on another file of the pool. */
	big = mp_reader(self->name, O_RDWR);
	ASSERT_LE(0, big);
	ASSERT_EQ(0, rg_setup(&r, big, MSGPOOL_RING_MAX));
	EXPECT_LE(sizeof(struct msgpool_ring_rx) +
		  MSGPOOL_RING_MAX * sizeof(struct msgpool_ring_msg),
		  r.a.rx_size);
	EXPECT_LE(sizeof(struct msgpool_ring_comp) +
		  MSGPOOL_RING_MAX * sizeof(__u64), r.a.comp_size);
	rg_unmap(&r);
	close(big);
}

TEST_F(ring, map_rules)
{
	struct msgpool_ring_args a;
	int fd = mp_peer(self->name, O_RDWR), other, sub;
	struct rg r, r2;
	void *m;

	ASSERT_LE(0, fd);
	other = mp_peer(self->name, O_RDWR);
	ASSERT_LE(0, other);
	sub = mp_peer(self->name, O_RDWR);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mp_subscribe(fd, NULL, NULL));
	ASSERT_EQ(0, mp_subscribe(sub, NULL, NULL));
	ASSERT_EQ(0, rg_ring(fd, 8, &a));

	/* The receive area is the kernel's: never writable. */
	EXPECT_EQ(-EACCES, mp_map_err(fd, a.rx_offset, a.rx_size,
				      PROT_READ | PROT_WRITE, MAP_SHARED));
	EXPECT_EQ(-EACCES, mp_map_err(fd, a.rx_offset, MP_PAGE, PROT_WRITE,
				      MAP_SHARED));
	m = mmap(NULL, a.rx_size, PROT_READ, MAP_SHARED, fd, a.rx_offset);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_NE(0, mprotect(m, a.rx_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_NE(0, mprotect(m, MP_PAGE, PROT_WRITE));
	munmap(m, a.rx_size);

	/* Private copies of either area would be another reader's. */
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.rx_offset, a.rx_size, PROT_READ,
				      MAP_PRIVATE));
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.comp_offset, a.comp_size,
				      PROT_READ | PROT_WRITE, MAP_PRIVATE));
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.comp_offset, a.comp_size,
				      PROT_READ, MAP_PRIVATE));

	/* Not past an area, nor across into the next one. */
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.rx_offset, a.rx_size + MP_PAGE,
				      PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.comp_offset,
				      a.comp_size + MP_PAGE,
				      PROT_READ | PROT_WRITE, MAP_SHARED));
	if (a.rx_offset + a.rx_size != a.comp_offset)
		EXPECT_EQ(-EINVAL, mp_map_err(fd, a.rx_offset + a.rx_size,
					      MP_PAGE, PROT_READ, MAP_SHARED));
	if (a.rx_offset + a.rx_size == a.comp_offset)
		/* One mapping of both would be a writable rx. */
		EXPECT_NE(0, mp_map_err(fd, a.rx_offset,
					a.rx_size + a.comp_size,
					PROT_READ | PROT_WRITE, MAP_SHARED));
	/* Nor from the page before an area into it. */
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.rx_offset - MP_PAGE, 2 * MP_PAGE,
				      PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, mp_map_err(fd, a.comp_offset - MP_PAGE,
				      2 * MP_PAGE, PROT_READ | PROT_WRITE,
				      MAP_SHARED));
	if (a.comp_offset + a.comp_size != a.rx_offset)
		EXPECT_EQ(-EINVAL, mp_map_err(fd, a.comp_offset + a.comp_size,
					      MP_PAGE, PROT_READ, MAP_SHARED));

	/*
	 * The offsets are this file's: the same numbers mean nothing to a
	 * peer with no ring, subscribed or not.
	 */
	EXPECT_EQ(-EINVAL, mp_map_err(other, a.rx_offset, a.rx_size,
				      PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, mp_map_err(other, a.comp_offset, a.comp_size,
				      PROT_READ | PROT_WRITE, MAP_SHARED));
	EXPECT_EQ(-EINVAL, mp_map_err(sub, a.rx_offset, a.rx_size,
				      PROT_READ, MAP_SHARED));
	EXPECT_EQ(-EINVAL, mp_map_err(sub, a.comp_offset, a.comp_size,
				      PROT_READ | PROT_WRITE, MAP_SHARED));

	/* Each file maps its own rings, whatever their offsets. */
	r.fd = fd;
	r.n = 8;
	r.a = a;
	ASSERT_EQ(0, rg_map(&r));
	ASSERT_EQ(0, rg_setup(&r2, sub, 8));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 1, 0, NULL));
	EXPECT_EQ(1, rg_prod(&r));
	EXPECT_EQ(1, rg_prod(&r2));
	/* Reading one ring changes nothing in the other. */
	WR(r.comp->rx_consumer, 1);
	EXPECT_EQ(0, r2.comp->rx_consumer);
	EXPECT_EQ(0, mp_unsubscribe(sub));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 2, 0, NULL));
	EXPECT_EQ(2, rg_prod(&r));
	EXPECT_EQ(1, rg_prod(&r2));
	rg_unmap(&r);
	rg_unmap(&r2);
	close(sub);
	close(other);
	close(fd);
}

/* Writes through @arg, the rx mapping: must die of SIGSEGV. */
static int write_rx_child(int rd, int wr, void *arg)
{
	struct msgpool_ring_rx *rx = arg;

	rx->producer = 1000;
	return 0;
}

TEST_F(ring, write_to_rx_faults)
{
	struct mp_child c;
	struct rg r;

	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 4));
	ASSERT_EQ(0, mp_spawn(&c, write_rx_child, r.rx));
	EXPECT_EQ(128 + SIGSEGV, mp_reap(&c));
	EXPECT_EQ(0, rg_prod(&r));
	rg_close(&r);
}

TEST_F(ring, filled_at_ring_time_and_at_publish)
{
	struct msgpool_op o[4];
	struct msgpool_ring_msg m;
	__u64 before = mp_now_ns();
	int fd = mp_reader(self->name, O_RDWR), i;
	struct rg r;

	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 10 + i, 100 + i, 0,
				     &o[i]));
	/* What waits untaken goes into the ring when there is one. */
	ASSERT_EQ(0, rg_setup(&r, fd, 4));
	EXPECT_EQ(3, rg_prod(&r));
	EXPECT_EQ(-EAGAIN, mp_take(fd, NULL));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 200, 103, 0, &o[3]));
	EXPECT_EQ(4, rg_prod(&r));
	EXPECT_EQ(-EAGAIN, mp_take(fd, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 4, mp_avail(self->fd));

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, rg_next(&r, &m));
		EXPECT_EQ(o[i].token, m.token);
		EXPECT_EQ(o[i].offset, m.offset);
		EXPECT_EQ(o[i].len, m.len);
		EXPECT_EQ(0, m.lost);
		EXPECT_EQ(100 + i, m.tag);
		EXPECT_EQ(o[i].seq, m.seq);
		EXPECT_EQ(i + 1, m.seq);
		EXPECT_EQ(o[i].timestamp_ns, m.timestamp_ns);
		EXPECT_LE(before, m.timestamp_ns);
		EXPECT_EQ(getpid(), (pid_t)m.producer);
		EXPECT_EQ(i < 3 ? 64 : 256, m.capacity);
		EXPECT_EQ(0, m.reserved);
		EXPECT_TRUE(mp_is_fill(self->map + m.offset, m.len, m.tag));
	}
	EXPECT_EQ(0, rg_next(&r, &m));
	EXPECT_EQ(0, rg_errors(&r));
	rg_unmap(&r);
	close(fd);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/*
 * A token in the completion ring is a mark read, drained by whatever
 * peer enters the kernel next: a sync, another peer's take, a publish.
 * A message in the ring is taken, so MARK_READ ends it too, once.
 */
TEST_F(ring, completion_drained_by_any_peer)
{
	struct msgpool_ring_msg m[5];
	int other = mp_reader(self->name, O_RDWR), i;
	struct rg r;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 8));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0, NULL));
	/* other takes and marks each at once: the ring reader decides. */
	for (i = 0; i < 5; i++) {
		struct msgpool_op t;

		ASSERT_EQ(0, mp_take(other, &t));
		ASSERT_EQ(0, mp_mark_read(other, t.token));
		ASSERT_EQ(1, rg_next(&r, &m[i]));
	}
	EXPECT_EQ(MP_STD_SLOTS - 5, mp_avail(self->fd));

	ASSERT_EQ(0, rg_complete(&r, m[0].token));
	EXPECT_EQ(MP_STD_SLOTS - 5, mp_avail(self->fd));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(1, RD(r.rx->comp_consumer));
	EXPECT_EQ(MP_STD_SLOTS - 4, mp_avail(self->fd));

	ASSERT_EQ(0, rg_complete(&r, m[1].token));
	EXPECT_EQ(-EAGAIN, mp_take(other, NULL));
	EXPECT_EQ(2, RD(r.rx->comp_consumer));
	EXPECT_EQ(MP_STD_SLOTS - 3, mp_avail(self->fd));

	ASSERT_EQ(0, rg_complete(&r, m[2].token));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 5, 0, NULL));
	EXPECT_EQ(3, RD(r.rx->comp_consumer));
	/* Two freed, one new message held by both readers. */
	EXPECT_EQ(MP_STD_SLOTS - 3, mp_avail(self->fd));

	EXPECT_EQ(0, mp_mark_read(r.fd, m[3].token));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	/* Marked read already: the completion is refused and counted. */
	ASSERT_EQ(0, rg_complete(&r, m[3].token));
	ASSERT_EQ(0, rg_complete(&r, m[4].token));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(5, RD(r.rx->comp_consumer));
	EXPECT_EQ(1, rg_errors(&r));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	rg_close(&r);
	close(other);
}

/*
 * Tokens a reader has no right to complete: made up, of another pool,
 * of a message only another reader got, of a stored message, of a loan,
 * and one of its own twice.  Each is refused and counted; none frees a
 * slot nor ends another reader's take.  The reader holds nine messages,
 * and no drain carries more tokens than that: the kernel checks no more
 * than a reader holds.
 */
TEST_F(ring, forged_tokens)
{
	char name2[MSGPOOL_NAME_MAX];
	struct msgpool_op m0, m[9], t, l, h;
	struct msgpool_ring_msg rm;
	__u64 s, s2, avail;
	int b = mp_peer(self->name, O_RDWR);
	int p2 = mp_new_pool(name2, "forged_other", mp_std, MP_STD_NR, NULL);
	unsigned int i, forged = 0;
	struct rg r;

	ASSERT_LE(0, b);
	ASSERT_LE(0, p2);
	ASSERT_EQ(0, mp_store_len(p2, 8, &s2));

	ASSERT_EQ(0, mp_subscribe(b, NULL, NULL));
	/* m0 is b's alone: the ring reader comes after it. */
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 100, 0, &m0));
	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 16));
	for (i = 0; i < ARRAY_SIZE(m); i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0, &m[i]));
	ASSERT_EQ(ARRAY_SIZE(m), rg_prod(&r));
	for (i = 0; i <= ARRAY_SIZE(m); i++)
		ASSERT_EQ(0, mp_take(b, &t));
	ASSERT_EQ(0, mp_store_len(self->fd, 8, &s));
	ASSERT_EQ(0, mp_loan(self->fd, 8, 0, &l));
	avail = MP_STD_SLOTS - 12;
	ASSERT_EQ(avail, mp_avail(self->fd));

	for (i = 0; i < ARRAY_SIZE(rg_junk); i++, forged++)
		ASSERT_EQ(0, rg_complete(&r, rg_junk[i]));
	ASSERT_EQ(0, rg_complete(&r, s2));
	ASSERT_EQ(0, rg_complete(&r, m0.token));
	ASSERT_EQ(0, rg_complete(&r, s));
	ASSERT_EQ(0, rg_complete(&r, l.token));
	forged += 4;
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(forged, RD(r.rx->comp_consumer));
	EXPECT_EQ(forged, rg_errors(&r));
	EXPECT_EQ(avail, mp_avail(self->fd));

	/* Its own, twice in one drain: once is a mark, twice a forgery. */
	ASSERT_EQ(0, rg_complete(&r, m[0].token));
	ASSERT_EQ(0, rg_complete(&r, m[0].token));
	forged++;
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(forged + 1, RD(r.rx->comp_consumer));
	EXPECT_EQ(forged, rg_errors(&r));
	/* b holds m[0] still: nothing came free. */
	EXPECT_EQ(avail, mp_avail(self->fd));
	/* And once more in a later drain. */
	ASSERT_EQ(0, rg_complete(&r, m[0].token));
	forged++;
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(forged, rg_errors(&r));
	EXPECT_EQ(avail, mp_avail(self->fd));

	/* Everyone else's messages are as they were. */
	EXPECT_EQ(0, mp_header(p2, s2, &h));
	EXPECT_EQ(0, mp_free(p2, s2));
	EXPECT_EQ(0, mp_header(self->fd, s, NULL));
	EXPECT_EQ(0, mp_free(self->fd, s));
	EXPECT_EQ(0, mp_commit(self->fd, l.token, 8, 0));
	EXPECT_EQ(0, mp_free(self->fd, l.token));
	avail += 2;
	EXPECT_EQ(avail, mp_avail(self->fd));
	EXPECT_EQ(0, mp_mark_read(b, m0.token));
	for (i = 0; i < ARRAY_SIZE(m); i++)
		EXPECT_EQ(0, mp_mark_read(b, m[i].token)) TH_LOG("m[%u]", i);
	EXPECT_EQ(-EAGAIN, mp_take(b, NULL));
	/* m0 and m[0] went; m[1..8] wait for the ring reader. */
	avail += 2;
	EXPECT_EQ(avail, mp_avail(self->fd));

	/* The ring works on for what the reader does hold. */
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		ASSERT_EQ(1, rg_next(&r, &rm));
		EXPECT_EQ(m[i].token, rm.token);
		if (i)
			ASSERT_EQ(0, rg_complete(&r, rm.token));
	}
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(forged, rg_errors(&r));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	rg_close(&r);
	close(b);
	close(p2);
}

/*
 * A completed token is stale once its slot carries another message: in a
 * one-slot pool the next message is certainly in the same slot, and the
 * old token must not end it.
 */
TEST(stale_token_of_a_reused_slot)
{
	struct rg_pool p;
	struct msgpool_ring_msg x, y;
	struct rg r;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 1, 0, 0));
	ASSERT_EQ(0, rg_reader(&r, p.name, O_RDWR, 2));

	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 1, 0, NULL));
	ASSERT_EQ(1, rg_next(&r, &x));
	ASSERT_EQ(0, rg_complete(&r, x.token));
	ASSERT_EQ(0, rg_sync(r.fd));
	ASSERT_EQ(1, mp_avail(p.fd));
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 2, 0, NULL));
	ASSERT_EQ(1, rg_next(&r, &y));
	ASSERT_EQ(x.offset, y.offset);
	ASSERT_NE(x.token, y.token);

	ASSERT_EQ(0, rg_complete(&r, x.token));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(1, rg_errors(&r));
	EXPECT_EQ(0, mp_avail(p.fd));
	ASSERT_EQ(0, rg_complete(&r, y.token));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(1, rg_errors(&r));
	EXPECT_EQ(1, mp_avail(p.fd));
	rg_close(&r);
	rg_pool_close(&p);
}

/*
 * A completion producer far ahead of what the reader wrote: the kernel
 * looks at no more than a ring's worth of entries, refuses what is not
 * the reader's, and the ring works again once the reader is sane.
 */
TEST_F(ring, bogus_comp_producer)
{
	struct msgpool_op m0, m1, t;
	struct msgpool_ring_msg rm;
	int b = mp_reader(self->name, O_RDWR);
	__u32 i, e0, cc;
	struct rg r;

	ASSERT_LE(0, b);
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 0, 0, &m0));
	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 4));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 1, 0, &m1));
	ASSERT_EQ(0, mp_take(b, &t));
	ASSERT_EQ(0, mp_take(b, &t));
	ASSERT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));

	for (i = 0; i < r.n; i++)
		r.tokens[i] = i & 1 ? m0.token : rg_junk[i];
	e0 = rg_errors(&r);
	WR(r.comp->producer, 0x7fffffff);
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_NE(e0, rg_errors(&r));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	WR(r.comp->producer, 0xfffffff0);
	ASSERT_EQ(0, mp_nop(self->fd));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	EXPECT_EQ(0, mp_mark_read(b, m0.token));
	EXPECT_EQ(0, mp_mark_read(b, m1.token));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));

	/* From where the kernel stands, the reader goes on. */
	cc = RD(r.rx->comp_consumer);
	WR(r.comp->producer, cc);
	ASSERT_EQ(1, rg_next(&r, &rm));
	EXPECT_EQ(m1.token, rm.token);
	ASSERT_EQ(0, rg_complete(&r, rm.token));
	e0 = rg_errors(&r);
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(e0, rg_errors(&r));
	EXPECT_EQ(cc + 1, RD(r.rx->comp_consumer));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	rg_close(&r);
	close(b);
}

/*
 * A reader that claims to have read more than the kernel wrote: ignored
 * and counted; entries it has not read are never written over.
 */
TEST_F(ring, bogus_rx_consumer_no_overrun)
{
	static const __u32 bogus[] = { 3, 7, 0x80000001, 0xffffffff };
	struct msgpool_ring_msg snap[2], m;
	unsigned int i;
	__u32 e0;
	struct rg r;

	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 2));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0, NULL));
	ASSERT_EQ(2, rg_prod(&r));
	memcpy(snap, r.msgs, sizeof(snap));
	for (i = 0; i < ARRAY_SIZE(bogus); i++) {
		e0 = rg_errors(&r);
		WR(r.comp->rx_consumer, bogus[i]);
		ASSERT_EQ(0, rg_sync(r.fd));
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 5 + i, 0, NULL));
		EXPECT_EQ(2, rg_prod(&r)) TH_LOG("rx_consumer %#x", bogus[i]);
		EXPECT_LT(e0, rg_errors(&r)) TH_LOG("rx_consumer %#x",
						    bogus[i]);
		EXPECT_EQ(0, memcmp(snap, r.msgs, sizeof(snap)));
	}
	/* Honest again: one read, one more written, in order. */
	WR(r.comp->rx_consumer, 1);
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(3, rg_prod(&r));
	EXPECT_EQ(0, memcmp(&snap[1], &r.msgs[1], sizeof(snap[1])));
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(2, m.seq);
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(3, m.seq);
	EXPECT_EQ(0, rg_next(&r, &m));
	rg_close(&r);
}

/*
 * A two-entry ring nobody reads: the kernel writes two entries and no
 * more, and the publisher has the pool's ordinary backpressure, no
 * less: every slot, then ENOBUFS.  Then the reader catches up through
 * the ring, in order.
 */
TEST_F(ring, never_read_two_entries)
{
	struct msgpool_ring_msg m;
	__u64 seq = 0;
	int i;
	struct rg r;

	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 2));
	for (i = 0; i < MP_STD_SLOTS; i++) {
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0, NULL))
			TH_LOG("publish %d", i);
		EXPECT_EQ(i < 2 ? i + 1 : 2, rg_prod(&r));
	}
	EXPECT_EQ(0, mp_avail(self->fd));
	EXPECT_EQ(-ENOBUFS, mp_loan(self->fd, 8, 0, NULL));
	EXPECT_EQ(-EAGAIN, mp_loan(self->fd, 8, MSGPOOL_F_WAIT |
				   MSGPOOL_F_NONBLOCK, NULL));
	EXPECT_EQ(POLLIN, mp_events(r.fd, POLLIN, 0));
	EXPECT_EQ(2, rg_prod(&r));

	while (seq < MP_STD_SLOTS) {
		ASSERT_EQ(1, rg_next(&r, &m)) TH_LOG("after seq %llu",
						     (unsigned long long)seq);
		EXPECT_EQ(++seq, m.seq);
		EXPECT_EQ(seq - 1, m.tag);
		ASSERT_EQ(0, rg_complete(&r, m.token));
		ASSERT_EQ(0, rg_sync(r.fd));
		EXPECT_GE(2, rg_unread(&r));
	}
	EXPECT_EQ(0, rg_next(&r, &m));
	EXPECT_EQ(0, rg_errors(&r));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	rg_close(&r);
}

/*
 * The reader limit counts what is in the ring: with a limit of 2 the
 * kernel puts no more than 2 unread messages in an 8-entry ring, and a
 * publisher never waits for a reader that does not read.
 */
TEST(reader_limit_bounds_the_ring)
{
	struct rg_pool p;
	struct msgpool_ring_msg m;
	int i;
	struct rg r;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 8, 2, 0));
	ASSERT_EQ(0, rg_reader(&r, p.name, O_RDWR, 8));
	for (i = 1; i <= 100; i++)
		ASSERT_EQ(0, rg_send(p.fd, p.map, 8, i, 0, NULL))
			TH_LOG("publish %d", i);
	EXPECT_EQ(2, rg_prod(&r));
	EXPECT_LE(4, mp_avail(p.fd));
	/* Even when the reader says it read them. */
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(1, m.tag);
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(2, m.tag);
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(2, rg_prod(&r));

	/* Marked read, the two newest come, the rest counted lost. */
	ASSERT_EQ(0, rg_complete(&r, r.msgs[0].token));
	ASSERT_EQ(0, rg_complete(&r, r.msgs[1].token));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(4, rg_prod(&r));
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(99, m.tag);
	EXPECT_EQ(96, m.lost);
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(100, m.tag);
	EXPECT_EQ(0, m.lost);
	EXPECT_EQ(0, rg_errors(&r));
	rg_close(&r);
	rg_pool_close(&p);
}

TEST_F(ring, poll_fills_the_ring)
{
	struct msgpool_ring_msg m;
	int i;
	struct rg r;

	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 2));
	EXPECT_EQ(0, mp_events(r.fd, POLLIN, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0, NULL));
	EXPECT_EQ(POLLIN, mp_events(r.fd, POLLIN, 0));
	/* Read but not yet said so: still readable. */
	EXPECT_EQ(2, rg_unread(&r));
	EXPECT_EQ(POLLIN, mp_events(r.fd, POLLIN, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, rg_next(&r, &m));
		ASSERT_EQ(0, rg_complete(&r, m.token));
	}
	/* poll() drains the completions and puts the third in. */
	EXPECT_EQ(POLLIN, mp_events(r.fd, POLLIN, 0));
	EXPECT_EQ(3, rg_prod(&r));
	EXPECT_EQ(2, RD(r.rx->comp_consumer));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(3, m.seq);
	ASSERT_EQ(0, rg_complete(&r, m.token));
	EXPECT_EQ(0, mp_events(r.fd, POLLIN, 0));
	EXPECT_EQ(3, RD(r.rx->comp_consumer));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	rg_close(&r);
}

/* Waits in poll() with its ring, reads one message from it, marks it. */
static int ring_poll_reader(int rd, int wr, void *arg)
{
	struct msgpool_ring_msg m;
	struct rg r;
	__u64 v;

	CHILD_CHECK(rg_reader(&r, arg, O_RDWR, 4) == 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	CHILD_CHECK(mp_events(r.fd, POLLIN, -1) == POLLIN);
	CHILD_CHECK(rg_next(&r, &m) == 1);
	CHILD_CHECK(rg_complete(&r, m.token) == 0);
	CHILD_CHECK(rg_sync(r.fd) == 0);
	CHILD_CHECK(mp_send(wr, m.tag) == 0);
	mp_recv(rd, &v);
	return 0;
}

TEST_F(ring, poll_wakes_a_ring_reader)
{
	struct mp_child c = { 0 };
	__u64 v;

	ASSERT_EQ(0, mp_spawn_asleep(&c, ring_poll_reader, self->name));
	EXPECT_EQ(0, mp_readable(c.rd));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 77, 0, NULL));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(77, v);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(0, mp_reap(&c));
}

/*
 * A writer asleep for a slot shows as NEED_WAKEUP; completing alone does
 * not wake it (no system call), RING_SYNC does, with the completed slot.
 */
TEST(need_wakeup_and_sync)
{
	struct rg_pool p;
	struct msgpool_ring_msg m;
	struct mp_child c = { 0 };
	__u64 v;
	struct rg r;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 2, 0, 0));
	ASSERT_EQ(0, rg_reader(&r, p.name, O_RDWR, 4));
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 1, 0, NULL));
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 2, 0, NULL));
	ASSERT_EQ(0, mp_avail(p.fd));
	EXPECT_EQ(0, rg_flags(&r) & MSGPOOL_RING_NEED_WAKEUP);

	ASSERT_EQ(0, mp_spawn_asleep(&c, mp_waiting_loaner, p.name));
	EXPECT_EQ(MSGPOOL_RING_NEED_WAKEUP,
		  rg_flags(&r) & MSGPOOL_RING_NEED_WAKEUP);
	ASSERT_EQ(1, rg_next(&r, &m));
	ASSERT_EQ(0, rg_complete(&r, m.token));
	EXPECT_EQ(0, mp_readable(c.rd));
	EXPECT_EQ(0, RD(r.rx->comp_consumer));
	ASSERT_EQ(0, rg_sync(r.fd));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(m.offset, v);
	EXPECT_EQ(0, mp_reap(&c));
	/* Nobody sleeps now. */
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(0, rg_flags(&r) & MSGPOOL_RING_NEED_WAKEUP);
	rg_close(&r);
	rg_pool_close(&p);
}

/*
 * Every reader index with a ring, the 64th included: each ring gets every
 * message, and the last completion frees the slot.
 */
TEST_F(ring, sixty_four_ring_readers)
{
	struct rg r[MSGPOOL_MAX_READERS];
	struct msgpool_ring_msg m;
	int i, k;

	for (i = 0; i < MSGPOOL_MAX_READERS; i++)
		ASSERT_EQ(0, rg_reader(&r[i], self->name, O_RDWR, 2))
			TH_LOG("reader %d", i);
	EXPECT_EQ(MSGPOOL_MAX_READERS, mp_info_of(self->fd).nr_readers);
	for (k = 1; k <= 3; k++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, k, 0, NULL));
	for (i = 0; i < MSGPOOL_MAX_READERS; i++) {
		EXPECT_EQ(2, rg_prod(&r[i])) TH_LOG("reader %d", i);
		for (k = 1; k <= 2 && rg_next(&r[i], &m); k++) {
			EXPECT_EQ(k, m.tag) TH_LOG("reader %d", i);
			ASSERT_EQ(0, rg_complete(&r[i], m.token));
		}
	}
	/* One reader's sync drains every ring, and fills them. */
	ASSERT_EQ(0, rg_sync(r[MSGPOOL_MAX_READERS - 1].fd));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	for (i = 0; i < MSGPOOL_MAX_READERS; i++) {
		EXPECT_EQ(3, rg_prod(&r[i])) TH_LOG("reader %d", i);
		EXPECT_EQ(0, rg_errors(&r[i]));
		rg_close(&r[i]);
	}
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/*
 * A writer already asleep for a slot when a reader gets its ring: the
 * reader must still see NEED_WAKEUP, or a reader that syncs only when
 * asked would leave the writer asleep with a slot completed.
 */
TEST(need_wakeup_for_a_ring_attached_late)
{
	struct rg_pool p;
	const struct timespec tick = { .tv_nsec = 1000000 };
	struct msgpool_ring_msg m;
	struct mp_child c = { 0 };
	__u64 v, end;
	int rfd;
	struct rg r;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 2, 0, 0));
	rfd = mp_reader(p.name, O_RDWR);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 1, 0, NULL));
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 2, 0, NULL));
	ASSERT_EQ(0, mp_spawn_asleep(&c, mp_waiting_loaner, p.name));

	ASSERT_EQ(0, rg_setup(&r, rfd, 4));
	ASSERT_EQ(2, rg_prod(&r));
	/* The sleeper is told of the ring and asks it: within 10 s. */
	end = mp_now_ns() + 10000000000ULL;
	while (!(rg_flags(&r) & MSGPOOL_RING_NEED_WAKEUP) &&
	       mp_now_ns() < end)
		nanosleep(&tick, NULL);
	ASSERT_EQ(MSGPOOL_RING_NEED_WAKEUP,
		  rg_flags(&r) & MSGPOOL_RING_NEED_WAKEUP);
	/* The protocol: complete, then sync because it is asked. */
	ASSERT_EQ(1, rg_next(&r, &m));
	ASSERT_EQ(0, rg_complete(&r, m.token));
	ASSERT_EQ(0, rg_sync(r.fd));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(m.offset, v);
	EXPECT_EQ(0, mp_reap(&c));
	rg_unmap(&r);
	close(rfd);
	rg_pool_close(&p);
}

/*
 * A peer opened O_RDONLY could never map its completion ring writable
 * (do_mmap() refuses a shared writable mapping of a file not open for
 * writing, before the driver sees it), so it gets no rings, and reads
 * by TAKE and MARK_READ as before.
 */
TEST_F(ring, rdonly_reader)
{
	struct msgpool_op o, t;
	int fd = mp_reader(self->name, O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, rg_ring(fd, 4, NULL));
	EXPECT_EQ(-ENOENT, rg_sync(fd));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 5, 0, &o));
	ASSERT_EQ(0, mp_take(fd, &t));
	EXPECT_EQ(o.token, t.token);
	EXPECT_EQ(5, t.tag);
	EXPECT_EQ(0, mp_mark_read(fd, t.token));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	close(fd);
}

/*
 * A reader that follows the ring protocol: reads what is there, marks it
 * read through the completion ring, syncs when a writer needs a wakeup
 * or its completion ring is full, and sleeps in poll() when there is
 * nothing to read.  Checks that @count messages come in order with their
 * payloads, and the ring never holds more than it has entries.
 */
struct order_args {
	const char *name;
	unsigned int count;
	__u32 entries;
};

static int ring_order_reader(int rd, int wr, void *arg)
{
	const struct order_args *oa = arg;
	struct msgpool_ring_msg m;
	unsigned char *map;
	__u64 map_size, v;
	unsigned int n;
	struct rg r;

	CHILD_CHECK(rg_reader(&r, oa->name, O_RDWR, oa->entries) == 0);
	map = mp_map(r.fd, PROT_READ, &map_size);
	CHILD_CHECK(map != MAP_FAILED);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	for (n = 0; n < oa->count; n++) {
		while (!rg_next(&r, &m)) {
			/* 60 s with a message published: a lost wake-up. */
			CHILD_CHECK(mp_events(r.fd, POLLIN, 60000) == POLLIN);
		}
		/* The kernel may refill as soon as this one is read. */
		CHILD_CHECK(rg_unread(&r) <= r.n);
		CHILD_CHECK(m.seq == n + 1);
		CHILD_CHECK(m.tag == n + 1);
		CHILD_CHECK(m.lost == 0);
		CHILD_CHECK(m.len == 8 + (n + 1) % 57);
		CHILD_CHECK(mp_is_fill(map + m.offset, m.len, m.tag));
		if (rg_complete(&r, m.token)) {
			CHILD_CHECK(rg_sync(r.fd) == 0);
			CHILD_CHECK(rg_complete(&r, m.token) == 0);
		}
		/* The producer's store before the flag's load, as uapi asks. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (rg_flags(&r) & MSGPOOL_RING_NEED_WAKEUP)
			CHILD_CHECK(rg_sync(r.fd) == 0);
	}
	CHILD_CHECK(rg_sync(r.fd) == 0);
	CHILD_CHECK(rg_next(&r, &m) == 0);
	CHILD_CHECK(rg_errors(&r) == 0);
	CHILD_CHECK(RD(r.rx->comp_consumer) == r.comp->producer);
	CHILD_CHECK(mp_send(wr, n) == 0);
	mp_recv(rd, &v);
	return 0;
}

/* 2000 messages through a two-entry ring, publisher in four slots. */
TEST_F_TIMEOUT(ring, in_order_through_two_entries, 300)
{
	struct rg_pool p;
	struct order_args oa = { NULL, 2000, 2 };
	struct mp_child c = { 0 };
	__u64 v;
	unsigned int i;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 4, 0, 0));
	oa.name = p.name;
	ASSERT_EQ(0, mp_spawn(&c, ring_order_reader, &oa));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	for (i = 1; i <= oa.count; i++)
		ASSERT_EQ(0, rg_send(p.fd, p.map, 8 + i % 57, i, MSGPOOL_F_WAIT,
				     NULL)) TH_LOG("message %u", i);
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(oa.count, v);
	EXPECT_EQ(4, mp_avail(p.fd));
	ASSERT_EQ(0, mp_send(c.wr, 0));
	EXPECT_EQ(0, mp_reap(&c));
	rg_pool_close(&p);
}

/*
 * A ring filled at publish time, by whichever process publishes, still
 * names producers as the reader's pid namespace sees them: a reader in a
 * namespace of its own sees its parent's publish as from pid 0 (not
 * visible), and its own as from pid 1.
 */
static int pidns_ring_reader(int rd, int wr, void *arg)
{
	struct msgpool_ring_msg m;
	unsigned char *map;
	__u64 map_size, v;
	int status;
	pid_t pid;
	struct rg r;

	CHILD_CHECK(!unshare(CLONE_NEWPID));
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid) {
		CHILD_CHECK(waitpid(pid, &status, 0) == pid);
		CHILD_CHECK(WIFEXITED(status) && !WEXITSTATUS(status));
		return 0;
	}
	CHILD_CHECK(getpid() == 1);
	CHILD_CHECK(rg_reader(&r, arg, O_RDWR, 4) == 0);
	map = mp_map(r.fd, PROT_READ | PROT_WRITE, &map_size);
	CHILD_CHECK(map != MAP_FAILED);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	CHILD_CHECK(mp_recv(rd, &v) == 0);	/* the parent published */
	CHILD_CHECK(rg_next(&r, &m) == 1);
	CHILD_CHECK(mp_send(wr, m.producer) == 0);
	CHILD_CHECK(rg_send(r.fd, map, 8, 2, 0, NULL) == 0);
	CHILD_CHECK(rg_next(&r, &m) == 1);
	CHILD_CHECK(mp_send(wr, m.producer) == 0);
	_exit(0);
}

TEST_F(ring, pidns_reader_sees_no_outside_pid)
{
	struct mp_child c = { 0 };
	__u64 v;

	if (geteuid())
		SKIP(return, "needs root for a pid namespace");
	ASSERT_EQ(0, mp_spawn(&c, pidns_ring_reader, self->name));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 1, 0, NULL));
	ASSERT_EQ(0, mp_send(c.wr, 0));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, mp_reap(&c));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/*
 * Steady state with no system call: after its setup this reader makes
 * no msgpool call at all.  It learns of messages from its ring, reads
 * payloads from the pool mapping and marks them read in its completion
 * ring; the parent's own calls drain that.
 */
static int nosys_reader(int rd, int wr, void *arg)
{
	struct msgpool_ring_msg m;
	unsigned char *map;
	__u64 map_size, want, v, end, seq = 0;
	struct rg r;

	CHILD_CHECK(rg_reader(&r, arg, O_RDWR, 4) == 0);
	map = mp_map(r.fd, PROT_READ, &map_size);
	CHILD_CHECK(map != MAP_FAILED);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	/* From here on: memory, pipes to the parent, the clock. */
	while (mp_recv(rd, &want) == 0 && want) {
		end = mp_now_ns() + 30000000000ULL;
		while (want) {
			if (!rg_next(&r, &m)) {
				CHILD_CHECK(mp_now_ns() < end);
				sched_yield();
				continue;
			}
			CHILD_CHECK(m.seq == ++seq);
			CHILD_CHECK(m.tag == seq);
			CHILD_CHECK(mp_is_fill(map + m.offset, m.len, m.tag));
			CHILD_CHECK(rg_complete(&r, m.token) == 0);
			want--;
		}
		CHILD_CHECK(mp_send(wr, seq) == 0);
	}
	/* The parent's calls drained every completion. */
	CHILD_CHECK(mp_recv(rd, &v) == 0);
	CHILD_CHECK(RD(r.rx->comp_consumer) == seq);
	CHILD_CHECK(rg_errors(&r) == 0);
	CHILD_CHECK(mp_send(wr, seq) == 0);
	mp_recv(rd, &v);
	return 0;
}

TEST_F_TIMEOUT(ring, no_syscall_reader, 120)
{
	struct mp_child c = { 0 };
	__u64 v;
	int i;

	ASSERT_EQ(0, mp_spawn(&c, nosys_reader, self->name));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	ASSERT_EQ(0, mp_send(c.wr, 3));
	for (i = 1; i <= 3; i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 40, i, 0, NULL));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	ASSERT_EQ(3, v);
	/* This publish drains the three completions: one slot is held. */
	ASSERT_EQ(0, mp_send(c.wr, 1));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 40, 4, 0, NULL));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	ASSERT_EQ(4, v);
	/* poll() of this peer, not a reader, drains the last one. */
	ASSERT_EQ(0, mp_send(c.wr, 0));
	EXPECT_LE(0, mp_events(self->fd, POLLIN | POLLOUT, 0));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	ASSERT_EQ(0, mp_send(c.wr, 0));
	ASSERT_EQ(0, mp_recv(c.rd, &v));
	EXPECT_EQ(4, v);
	ASSERT_EQ(0, mp_send(c.wr, 0));
	EXPECT_EQ(0, mp_reap(&c));
}

/*
 * Killed with messages in its ring, some read and completed but not yet
 * drained, some not read: every slot comes back, and another reader's
 * takes are untouched.
 */
static int doomed_reader(int rd, int wr, void *arg)
{
	struct msgpool_ring_msg m;
	__u64 v, end;
	int i;
	struct rg r;

	CHILD_CHECK(rg_reader(&r, arg, O_RDWR,
			      8) == 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	CHILD_CHECK(mp_recv(rd, &v) == 0);	/* four are out */
	end = mp_now_ns() + 30000000000ULL;
	while (rg_prod(&r) < 4) {
		CHILD_CHECK(mp_now_ns() < end);
		sched_yield();
	}
	for (i = 0; i < 2; i++) {
		CHILD_CHECK(rg_next(&r, &m) == 1);
		CHILD_CHECK(rg_complete(&r, m.token) == 0);
	}
	/* And two forged ones, for good measure. */
	CHILD_CHECK(rg_complete(&r, rg_junk[2]) == 0);
	CHILD_CHECK(rg_complete(&r, m.token) == 0);
	CHILD_CHECK(mp_send(wr, RD(r.rx->comp_consumer)) == 0);
	mp_recv(rd, &v);
	return 0;
}

TEST_F_TIMEOUT(ring, crash_reclaim, 120)
{
	struct mp_child c = { 0 };
	struct msgpool_op t;
	int round, i;
	__u64 v;

	for (round = 0; round < 2; round++) {
		/* The second time the parent reads too. */
		if (round)
			ASSERT_EQ(0, mp_subscribe(self->fd, NULL, NULL));
		ASSERT_EQ(0, mp_spawn(&c, doomed_reader, self->name));
		ASSERT_EQ(0, mp_recv(c.rd, &v));
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0,
					     NULL));
		ASSERT_EQ(0, mp_send(c.wr, 0));
		ASSERT_EQ(0, mp_recv(c.rd, &v)) TH_LOG("round %d", round);
		EXPECT_EQ(0, v);	/* nothing drained it yet */
		ASSERT_EQ(128 + SIGKILL, mp_kill(&c));
		EXPECT_EQ(round, mp_info_of(self->fd).nr_readers);
		if (!round) {
			EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
			continue;
		}
		EXPECT_EQ(MP_STD_SLOTS - 4, mp_avail(self->fd));
		for (i = 0; i < 4; i++) {
			ASSERT_EQ(0, mp_take(self->fd, &t));
			EXPECT_EQ(i, t.tag);
			ASSERT_EQ(0, mp_mark_read(self->fd, t.token));
		}
		EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	}
}

/* Gets its rings, says so, and waits to be killed. */
static int idle_ring_reader(int rd, int wr, void *arg)
{
	struct rg r;
	__u64 v;

	CHILD_CHECK(rg_reader(&r, arg, O_RDWR, 4) == 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	mp_recv(rd, &v);
	return 0;
}

/*
 * A ring reader holds the whole pool and a writer sleeps for a slot:
 * the reader dies without a word, and the writer gets its slot.
 */
TEST(writer_freed_by_a_dying_ring_reader)
{
	struct rg_pool p;
	struct mp_child rc = { 0 }, wc = { 0 };
	struct msgpool_op o[2];
	__u64 v;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 2, 0, 0));
	ASSERT_EQ(0, mp_spawn(&rc, idle_ring_reader, p.name));
	ASSERT_EQ(0, mp_recv(rc.rd, &v));
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 1, 0, &o[0]));
	ASSERT_EQ(0, rg_send(p.fd, p.map, 8, 2, 0, &o[1]));
	ASSERT_EQ(0, mp_avail(p.fd));
	ASSERT_EQ(0, mp_spawn_asleep(&wc, mp_waiting_loaner, p.name));
	EXPECT_EQ(0, mp_readable(wc.rd));

	ASSERT_EQ(128 + SIGKILL, mp_kill(&rc));
	ASSERT_EQ(0, mp_recv(wc.rd, &v));
	EXPECT_TRUE(v == o[0].offset || v == o[1].offset);
	EXPECT_EQ(0, mp_reap(&wc));
	EXPECT_EQ(2, mp_avail(p.fd));
	EXPECT_EQ(0, mp_info_of(p.fd).nr_readers);
	rg_pool_close(&p);
}

/*
 * After UNSUBSCRIBE the kernel leaves the rings alone: what the reader
 * held comes back, completions are not drained, nothing more is written,
 * not even after a new SUBSCRIBE, which reads by TAKE.
 */
TEST_F(ring, unsubscribe_stops_the_ring)
{
	struct msgpool_ring_rx head;
	struct msgpool_ring_msg m;
	struct msgpool_op t;
	int i;
	struct rg r;

	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 4));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rg_send(self->fd, self->map, 8, i, 0, NULL));
	ASSERT_EQ(3, rg_prod(&r));
	ASSERT_EQ(1, rg_next(&r, &m));
	ASSERT_EQ(0, rg_complete(&r, m.token));
	ASSERT_EQ(0, mp_unsubscribe(r.fd));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	EXPECT_EQ(-ENOENT, rg_sync(r.fd));
	memcpy(&head, r.rx, sizeof(head));

	ASSERT_EQ(1, rg_next(&r, &m));
	ASSERT_EQ(0, rg_complete(&r, m.token));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 3, 0, NULL));
	EXPECT_LE(0, mp_events(self->fd, POLLOUT, 0));
	EXPECT_EQ(0, memcmp(&head, r.rx, sizeof(head)));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));

	ASSERT_EQ(0, mp_subscribe(r.fd, NULL, NULL));
	EXPECT_EQ(-EALREADY, rg_ring(r.fd, 4, NULL));
	EXPECT_EQ(-ENOENT, rg_sync(r.fd));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 4, 0, NULL));
	EXPECT_EQ(0, memcmp(&head, r.rx, sizeof(head)));
	ASSERT_EQ(0, mp_take(r.fd, &t));
	EXPECT_EQ(4, t.tag);
	EXPECT_EQ(0, mp_mark_read(r.fd, t.token));
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
	rg_close(&r);
}

/*
 * A reader's index is used again after UNSUBSCRIBE, its ring is not: the
 * old file's completions do not end the new reader's takes.
 */
TEST_F(ring, old_ring_of_a_reused_reader_index)
{
	struct msgpool_ring_msg m;
	struct msgpool_op t;
	int b = mp_peer(self->name, O_RDWR);
	__u32 e0, ra, rb;
	struct rg r;

	ASSERT_LE(0, b);
	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 4));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 1, 0, NULL));
	ASSERT_EQ(1, rg_next(&r, &m));
	ASSERT_EQ(0, mp_unsubscribe(r.fd));
	ASSERT_EQ(0, mp_subscribe(b, &rb, NULL));
	ASSERT_EQ(0, mp_subscribe(r.fd, &ra, NULL));
	/* b has the index the ring's reader had. */
	EXPECT_EQ(0, rb);
	EXPECT_EQ(1, ra);

	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 2, 0, NULL));
	ASSERT_EQ(0, mp_take(b, &t));
	ASSERT_EQ(0, mp_take(r.fd, NULL));
	e0 = rg_errors(&r);
	ASSERT_EQ(0, rg_complete(&r, t.token));
	ASSERT_EQ(0, rg_complete(&r, m.token));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 3, 0, NULL));
	EXPECT_EQ(0, RD(r.rx->comp_consumer));
	EXPECT_EQ(e0, rg_errors(&r));
	EXPECT_EQ(MP_STD_SLOTS - 2, mp_avail(self->fd));
	/* Had the old ring ended b's take, this would be EPERM. */
	EXPECT_EQ(0, mp_mark_read(b, t.token));
	rg_close(&r);
	close(b);
}

/*
 * Rings mapped keep their file: closed, the reader reads on with no
 * system call, and goes when the last mapping does.
 */
TEST_F(ring, rings_outlive_the_fd)
{
	struct msgpool_ring_msg m;
	struct rg r;

	ASSERT_EQ(0, rg_reader(&r, self->name, O_RDWR, 4));
	close(r.fd);
	EXPECT_EQ(1, mp_info_of(self->fd).nr_readers);
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 1, 0, NULL));
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(1, m.tag);
	ASSERT_EQ(0, rg_complete(&r, m.token));
	ASSERT_EQ(0, rg_send(self->fd, self->map, 8, 2, 0, NULL));
	EXPECT_EQ(1, RD(r.rx->comp_consumer));
	EXPECT_EQ(MP_STD_SLOTS - 1, mp_avail(self->fd));
	munmap(r.rx, r.a.rx_size);
	EXPECT_EQ(1, mp_info_of(self->fd).nr_readers);
	munmap(r.comp, r.a.comp_size);
	EXPECT_EQ(0, mp_info_of(self->fd).nr_readers);
	EXPECT_EQ(MP_STD_SLOTS, mp_avail(self->fd));
}

/*
 * An overwrite pool takes back untaken messages only: what is in a ring
 * is taken, and keeps its slot and payload however far the writer runs.
 */
TEST(overwrite_spares_the_ring)
{
	struct msgpool_ring_msg m, held[2];
	struct rg_pool p;
	struct rg r;
	int i;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 4, 0,
				  MSGPOOL_ATTACH_OVERWRITE));
	ASSERT_EQ(0, rg_reader(&r, p.name, O_RDWR, 2));
	for (i = 1; i <= 20; i++)
		ASSERT_EQ(0, rg_send(p.fd, p.map, 8 + i, i, 0, NULL))
			TH_LOG("publish %d", i);
	ASSERT_EQ(2, rg_prod(&r));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, rg_next(&r, &held[i]));
		EXPECT_EQ(i + 1, held[i].tag);
		EXPECT_TRUE(mp_is_fill(p.map + held[i].offset, held[i].len,
				       held[i].tag));
	}
	/* Two slots were left to the writer: 19 and 20 are in them. */
	ASSERT_EQ(0, rg_complete(&r, held[0].token));
	ASSERT_EQ(0, rg_complete(&r, held[1].token));
	ASSERT_EQ(0, rg_sync(r.fd));
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(19, m.tag);
	EXPECT_EQ(16, m.lost);
	EXPECT_TRUE(mp_is_fill(p.map + m.offset, m.len, m.tag));
	ASSERT_EQ(1, rg_next(&r, &m));
	EXPECT_EQ(20, m.tag);
	EXPECT_EQ(0, rg_errors(&r));
	rg_close(&r);
	rg_pool_close(&p);
}

/*
 * A thread scribbles over its reader's completion area while the pool
 * runs: random tokens, its own and another reader's tokens, producer
 * jumps, any rx_consumer.  The pool has a reader limit, so the liar holds
 * four slots at most; the writer never runs out, the honest reader gets
 * every message in order, and all comes back when the liar goes.
 */
struct scribbler {
	struct rg *r;
	int stop;
	__u64 other;		/* a token of the honest reader's, or 0 */
	unsigned long rounds;
};

static void *scribble(void *arg)
{
	struct scribbler *sc = arg;
	struct rg *r = sc->r;
	__u64 x = 0x9e3779b97f4a7c15ULL, v;
	__u32 i;

	while (!__atomic_load_n(&sc->stop, __ATOMIC_ACQUIRE)) {
		v = mp_xorshift(&x);
		i = (v >> 8) & (r->n - 1);
		switch (v & 7) {
		case 0:
			r->tokens[i] = mp_xorshift(&x);
			break;
		case 1:	/* one it was given, maybe long ago */
			r->tokens[i] = RD(r->msgs[(v >> 16) & (r->n - 1)].token);
			break;
		case 2:
			r->tokens[i] = RD(sc->other);
			break;
		case 3:
			WR(r->comp->producer, r->comp->producer + (v >> 32) % 9);
			break;
		case 4:
			WR(r->comp->producer, (__u32)(v >> 32));
			break;
		case 5:
			WR(r->comp->rx_consumer, (__u32)(v >> 32));
			break;
		case 6:
			WR(r->comp->rx_consumer, rg_prod(r) - (v >> 32) % 3);
			break;
		default:
			sched_yield();
		}
		sc->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(ring, scribbled_completion_ring, 120)
{
	struct rg_pool p;
	struct scribbler sc = { 0 };
	struct msgpool_op t;
	pthread_t th;
	__u32 e0;
	int b, i;
	struct rg r;

	ASSERT_EQ(0, rg_pool_open(&p, _metadata->name, 8, 2, 0));
	b = mp_reader(p.name, O_RDONLY);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, rg_reader(&r, p.name, O_RDWR, 4));
	sc.r = &r;
	ASSERT_EQ(0, pthread_create(&th, NULL, scribble, &sc));

	for (i = 1; i <= 500; i++) {
		/* The liar's drain comes with every publish and take. */
		ASSERT_EQ(0, rg_send(p.fd, p.map, 8, i, 0, NULL))
			TH_LOG("publish %d", i);
		ASSERT_EQ(0, mp_take(b, &t));
		WR(sc.other, t.token);
		ASSERT_EQ(i, t.tag);
		ASSERT_EQ(0, t.lost);
		ASSERT_TRUE(mp_is_fill(p.map + t.offset, t.len, t.tag));
		if (i % 7 == 0)
			ASSERT_LE(0, mp_events(r.fd, POLLIN | POLLOUT, 0));
		if (i % 5 == 0)
			ASSERT_EQ(0, rg_sync(r.fd));
		ASSERT_EQ(0, mp_mark_read(b, t.token)) TH_LOG("message %d", i);
		/* At most the limit in its ring and the limit untaken. */
		ASSERT_LE(8 - 4, mp_avail(p.fd)) TH_LOG("message %d", i);
	}
	__atomic_store_n(&sc.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(th, NULL));
	TH_LOG("%lu scribbles, %u refusals", sc.rounds, rg_errors(&r));
	/* Sane again, its next lie is counted once. */
	WR(r.comp->rx_consumer, rg_prod(&r));
	WR(r.comp->producer, RD(r.rx->comp_consumer));
	ASSERT_EQ(0, rg_sync(r.fd));
	e0 = rg_errors(&r);
	ASSERT_EQ(0, rg_complete(&r, rg_junk[2]));
	ASSERT_EQ(0, rg_sync(r.fd));
	EXPECT_EQ(e0 + 1, rg_errors(&r));
	EXPECT_EQ(-EAGAIN, mp_take(b, NULL));
	rg_close(&r);
	EXPECT_EQ(8, mp_avail(p.fd));
	EXPECT_EQ(1, mp_info_of(p.fd).nr_readers);
	close(b);
	rg_pool_close(&p);
}

TEST_HARNESS_MAIN
