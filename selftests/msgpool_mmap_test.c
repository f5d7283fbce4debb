// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool mmap: bounds of the mapping, shared and read-only mappings, and
 * payloads seen in place by other peers and processes.
 */
#include "msgpool_util.h"

/* A pool of the standard shape and its peer, for both fixtures. */
struct pool {
	int fd;
	char name[MSGPOOL_NAME_MAX];
	__u64 map_size;
	struct msgpool_info info;
};

static void pool_setup(struct __test_metadata *_metadata, struct pool *p)
{
	p->fd = mp_new_pool(p->name, _metadata->name, mp_std, MP_STD_NR,
			    &p->map_size);
	ASSERT_LE(0, p->fd) TH_LOG("pool: %s", strerror(-p->fd));
	ASSERT_EQ(0, mp_info(p->fd, &p->info));
	ASSERT_EQ(p->map_size, p->info.map_size);
	/* The bounds tests need a pool of a few pages. */
	ASSERT_LE(3 * MP_PAGE, p->map_size);
}

FIXTURE(map) {
	struct pool p;
};

FIXTURE_SETUP(map)
{
	pool_setup(_metadata, &self->p);
}

FIXTURE_TEARDOWN(map)
{
	close(self->p.fd);
}

/* A shared mapping of @len bytes at @off, or MAP_FAILED. */
static void *map_at(int fd, __u64 off, __u64 len, int prot)
{
	return mmap(NULL, len, prot, MAP_SHARED, fd, off);
}

FIXTURE(bounds) {
	struct pool p;
};

FIXTURE_SETUP(bounds)
{
	pool_setup(_metadata, &self->p);
}

FIXTURE_TEARDOWN(bounds)
{
	close(self->p.fd);
}

/* Where to map, relative to the pool's map_size. */
FIXTURE_VARIANT(bounds) {
	int off_from_end;	/* offset counts back from map_size */
	__u64 off_pages;
	int len_whole;		/* length is map_size plus len_pages */
	__u64 len_pages;
	int expect;
};

FIXTURE_VARIANT_ADD(bounds, whole) {
	.len_whole = 1, .expect = 0,
};
FIXTURE_VARIANT_ADD(bounds, first_page) {
	.len_pages = 1, .expect = 0,
};
FIXTURE_VARIANT_ADD(bounds, last_page) {
	.off_from_end = 1, .off_pages = 1, .len_pages = 1, .expect = 0,
};
FIXTURE_VARIANT_ADD(bounds, whole_plus_a_page) {
	.len_whole = 1, .len_pages = 1, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(bounds, at_the_end) {
	.off_from_end = 1, .off_pages = 0, .len_pages = 1, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(bounds, across_the_end) {
	.off_from_end = 1, .off_pages = 1, .len_pages = 2, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(bounds, shifted_whole) {
	.off_pages = 1, .len_whole = 1, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(bounds, far_offset) {
	.off_pages = 1ULL << 28, .len_pages = 1, .expect = -EINVAL,
};

TEST_F(bounds, mmap)
{
	__u64 off = variant->off_pages * MP_PAGE;
	__u64 len = variant->len_pages * MP_PAGE;
	unsigned char *m, *whole;

	if (variant->off_from_end)
		off = self->p.map_size - off;
	if (variant->len_whole)
		len += self->p.map_size;
	ASSERT_EQ(variant->expect, mp_map_err(self->p.fd, off, len,
					      PROT_READ | PROT_WRITE,
					      MAP_SHARED));
	if (variant->expect)
		return;
	/* Every page is backed, by the pool's memory at that offset. */
	m = map_at(self->p.fd, off, len, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, m);
	whole = map_at(self->p.fd, 0, self->p.map_size, PROT_READ);
	ASSERT_NE(MAP_FAILED, whole);
	mp_fill(m, len, 42);
	EXPECT_TRUE(mp_is_fill(whole + off, len, 42));
	munmap(whole, self->p.map_size);
	munmap(m, len);
}

TEST_F(map, map_private_einval)
{
	int ro = mp_peer(self->p.name, O_RDONLY);

	ASSERT_LE(0, ro);
	EXPECT_EQ(-EINVAL, mp_map_err(self->p.fd, 0, self->p.map_size,
				      PROT_READ, MAP_PRIVATE));
	EXPECT_EQ(-EINVAL, mp_map_err(self->p.fd, 0, self->p.map_size,
				      PROT_READ | PROT_WRITE, MAP_PRIVATE));
	EXPECT_EQ(-EINVAL, mp_map_err(ro, 0, self->p.map_size, PROT_READ,
				      MAP_PRIVATE));
	close(ro);
}

TEST_F(map, store_visible_at_its_offset)
{
	static const __u32 lens[] = { 1, 64, 200, 4096 };
	static const int cls[] = { 0, 0, 1, 2 };
	unsigned char buf[4096];
	unsigned char *m = map_at(self->p.fd, 0, self->p.map_size,
				  PROT_READ);
	struct msgpool_op h;
	unsigned int i;
	__u64 t;

	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		mp_fill(buf, lens[i], i);
		ASSERT_EQ(0, mp_store(self->p.fd, buf, lens[i], 0, &t));
		ASSERT_EQ(0, mp_header(self->p.fd, t, &h));
		/* A slot of the smallest class that fits starts there. */
		EXPECT_EQ(cls[i], mp_class_at(&self->p.info, h.offset));
		ASSERT_GE(self->p.map_size, h.offset + lens[i]);
		EXPECT_TRUE(mp_is_fill(m + h.offset, lens[i], i))
			TH_LOG("store of %u bytes", lens[i]);
	}
	munmap(m, self->p.map_size);
}

TEST_F(map, window_on_one_class)
{
	const struct msgpool_class_info *c = &self->p.info.classes[2];
	__u64 len = MP_ALIGN((__u64)c->nr_slots * c->stride, MP_PAGE);
	unsigned char *m = map_at(self->p.fd, c->offset, len, PROT_READ);
	unsigned char buf[4096];
	struct msgpool_op h;
	__u64 t;

	ASSERT_NE(MAP_FAILED, m);
	mp_fill(buf, sizeof(buf), 9);
	ASSERT_EQ(0, mp_store(self->p.fd, buf, sizeof(buf), 0, &t));
	ASSERT_EQ(0, mp_header(self->p.fd, t, &h));
	ASSERT_EQ(2, mp_class_at(&self->p.info, h.offset));
	EXPECT_TRUE(mp_is_fill(m + (h.offset - c->offset), sizeof(buf), 9));
	munmap(m, len);
}

TEST_F(map, rdonly_peer_maps_read_only)
{
	int ro = mp_peer(self->p.name, O_RDONLY);
	unsigned char *m = ro < 0 ? MAP_FAILED :
			   map_at(ro, 0, self->p.map_size, PROT_READ);
	unsigned char buf[100];
	struct msgpool_op h;
	__u64 t;

	ASSERT_LE(0, ro);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-EACCES, mp_map_err(ro, 0, self->p.map_size,
				      PROT_READ | PROT_WRITE, MAP_SHARED));
	EXPECT_EQ(-EACCES, mp_map_err(ro, 0, MP_PAGE, PROT_WRITE, MAP_SHARED));
	EXPECT_NE(0, mprotect(m, self->p.map_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_NE(0, mprotect(m, MP_PAGE, PROT_WRITE));

	mp_fill(buf, sizeof(buf), 3);
	ASSERT_EQ(0, mp_store(self->p.fd, buf, sizeof(buf), 0, &t));
	ASSERT_EQ(0, mp_borrow(ro, t, 0, &h));
	EXPECT_TRUE(mp_is_fill(m + h.offset, sizeof(buf), 3));
	EXPECT_EQ(0, mp_release(ro, t));
	munmap(m, self->p.map_size);
	close(ro);
}

/* Writes through @arg, a read-only mapping: must die of SIGSEGV. */
static int write_ro_child(int rd, int wr, void *arg)
{
	unsigned char *m = arg;

	m[0] = 1;
	return 0;
}

TEST_F(map, write_through_read_only_mapping_faults)
{
	int ro = mp_peer(self->p.name, O_RDONLY);
	void *m = ro < 0 ? MAP_FAILED :
		  map_at(ro, 0, self->p.map_size, PROT_READ);
	struct mp_child c;

	ASSERT_LE(0, ro);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mp_spawn(&c, write_ro_child, m));
	EXPECT_EQ(128 + SIGSEGV, mp_reap(&c));
	munmap(m, self->p.map_size);
	close(ro);
}

/* Growing a mapping past the pool must not reach memory beyond it. */
static int grow_child(int rd, int wr, void *arg)
{
	const struct pool *p = arg;
	unsigned char *q;
	void *m;
	int fd;

	fd = mp_peer(p->name, O_RDWR);
	CHILD_CHECK(fd >= 0);
	m = map_at(fd, 0, p->map_size, PROT_READ | PROT_WRITE);
	CHILD_CHECK(m != MAP_FAILED);
	q = mremap(m, p->map_size, p->map_size + MP_PAGE, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return 0;
	/* Grown: the page past the pool must fault. */
	q[p->map_size] = 1;
	fprintf(stderr, "# child: the page past the pool is mapped\n");
	return 1;
}

TEST_F(map, mremap_cannot_grow_past_the_pool)
{
	struct mp_child c;
	int ret;

	ASSERT_EQ(0, mp_spawn(&c, grow_child, &self->p));
	ret = mp_reap(&c);
	EXPECT_TRUE(ret == 0 || ret == 128 + SIGBUS || ret == 128 + SIGSEGV)
		TH_LOG("child ended with %d", ret);
}

struct peer_args {
	const char *name;
	unsigned int seed;
	__u32 len;
	__u64 tag;
	pid_t producer;
};

/* Borrows the token it is sent and checks the payload in its mapping. */
static int reader_child(int rd, int wr, void *arg)
{
	const struct peer_args *pa = arg;
	struct msgpool_op b;
	unsigned char *m;
	__u64 map_size, token;
	int fd;

	fd = mp_peer(pa->name, O_RDONLY);
	CHILD_CHECK(fd >= 0);
	m = mp_map(fd, PROT_READ, &map_size);
	CHILD_CHECK(m != MAP_FAILED);
	CHILD_CHECK(mp_recv(rd, &token) == 0);
	CHILD_CHECK(mp_borrow(fd, token, 0, &b) == 0);
	CHILD_CHECK(b.len == pa->len);
	CHILD_CHECK(b.tag == pa->tag);
	CHILD_CHECK(b.producer == (__u32)pa->producer);
	CHILD_CHECK(b.offset + b.len <= map_size);
	CHILD_CHECK(mp_is_fill(m + b.offset, b.len, pa->seed));
	CHILD_CHECK(mp_release(fd, token) == 0);
	return 0;
}

TEST_F(map, loan_filled_in_place_read_by_another_process)
{
	struct peer_args pa = {
		.name = self->p.name, .seed = 77, .len = 200, .tag = 0xabcdef,
		.producer = getpid(),
	};
	unsigned char *m = map_at(self->p.fd, 0, self->p.map_size,
				  PROT_READ | PROT_WRITE);
	struct mp_child c;
	struct msgpool_op l;

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mp_loan(self->p.fd, pa.len, 0, &l));
	ASSERT_GE(l.capacity, pa.len);
	mp_fill(m + l.offset, pa.len, pa.seed);
	ASSERT_EQ(0, mp_commit(self->p.fd, l.token, pa.len, pa.tag));

	ASSERT_EQ(0, mp_spawn(&c, reader_child, &pa));
	ASSERT_EQ(0, mp_send(c.wr, l.token));
	EXPECT_EQ(0, mp_reap(&c));
	EXPECT_EQ(0, mp_free(self->p.fd, l.token));
	munmap(m, self->p.map_size);
}

/* Rewrites the message it is sent in place, shorter. */
static int writer_child(int rd, int wr, void *arg)
{
	const struct peer_args *pa = arg;
	struct msgpool_op b;
	unsigned char *m;
	__u64 map_size, token;
	int fd;

	fd = mp_peer(pa->name, O_RDWR);
	CHILD_CHECK(fd >= 0);
	m = mp_map(fd, PROT_READ | PROT_WRITE, &map_size);
	CHILD_CHECK(m != MAP_FAILED);
	CHILD_CHECK(mp_recv(rd, &token) == 0);
	CHILD_CHECK(mp_borrow(fd, token, MSGPOOL_F_WRITE, &b) == 0);
	mp_fill(m + b.offset, pa->len, pa->seed);
	CHILD_CHECK(mp_release_len(fd, token, pa->len) == 0);
	return 0;
}

TEST_F(map, write_borrow_in_place_seen_by_the_owner)
{
	struct peer_args pa = { .name = self->p.name, .seed = 5, .len = 50 };
	unsigned char *m = map_at(self->p.fd, 0, self->p.map_size,
				  PROT_READ);
	unsigned char buf[100];
	struct mp_child c;
	struct msgpool_op b;
	__u64 t;

	ASSERT_NE(MAP_FAILED, m);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_EQ(0, mp_store(self->p.fd, buf, sizeof(buf), 0, &t));
	ASSERT_EQ(0, mp_spawn(&c, writer_child, &pa));
	ASSERT_EQ(0, mp_send(c.wr, t));
	EXPECT_EQ(0, mp_reap(&c));

	ASSERT_EQ(0, mp_borrow(self->p.fd, t, 0, &b));
	EXPECT_EQ(pa.len, b.len);
	EXPECT_TRUE(mp_is_fill(m + b.offset, pa.len, pa.seed));
	EXPECT_EQ(0xee, m[b.offset + pa.len]);
	EXPECT_EQ(0, mp_release(self->p.fd, t));
	EXPECT_EQ(0, mp_free(self->p.fd, t));
	munmap(m, self->p.map_size);
}

TEST(mapping_keeps_the_pool_alive)
{
	char name[MSGPOOL_NAME_MAX];
	unsigned char buf[64];
	unsigned char *m;
	struct msgpool_op h;
	__u64 map_size = 0, t;
	int fd, other;

	fd = mp_new_pool(name, _metadata->name, mp_std, MP_STD_NR, &map_size);
	ASSERT_LE(0, fd);
	m = map_at(fd, 0, map_size, PROT_READ);
	ASSERT_NE(MAP_FAILED, m);
	mp_fill(buf, sizeof(buf), 1);
	ASSERT_EQ(0, mp_store(fd, buf, sizeof(buf), 0, &t));
	close(fd);

	/* The mapping holds the file: its peer and its message live on. */
	other = mp_peer(name, O_RDONLY);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, mp_header(other, t, &h));
	EXPECT_TRUE(mp_is_fill(m + h.offset, sizeof(buf), 1));
	close(other);
	munmap(m, map_size);

	other = mp_open(O_RDWR);
	ASSERT_LE(0, other);
	EXPECT_EQ(-ENOENT, mp_join(other, name));
	close(other);
}

TEST_HARNESS_MAIN
