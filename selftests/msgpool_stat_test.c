// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool stats and namespaces: MSGPOOL_IOC_POOLS, MSGPOOL_IOC_PEERS and
 * MSGPOOL_IOC_UNLINK with every errno, pools scoped by IPC namespace, and
 * pool memory charged to the creator's memory cgroup.
 */
#include "msgpool_util.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define MP_MAX_POOLS	256
#define MP_CGROUP	"/sys/fs/cgroup"

/*
 * One list call through @fd: POOLS, or PEERS of pool @name if not NULL.
 * *@count goes in as the room at @buf, in entries of @size bytes, and
 * comes back as the kernel left it.  0 or -errno.
 */
static int st_list(int fd, const char *name, void *buf, __u32 *count,
		   __u32 size)
{
	struct msgpool_pool_list pl = {
		.pools = (uintptr_t)buf, .count = *count, .entry_size = size,
	};
	struct msgpool_peer_list rl = {
		.peers = (uintptr_t)buf, .count = *count, .entry_size = size,
	};
	int ret;

	if (!name) {
		ret = mp_ioctl(fd, MSGPOOL_IOC_POOLS, &pl);
		*count = pl.count;
		return ret;
	}
	strncpy(rl.name, name, sizeof(rl.name) - 1);
	ret = mp_ioctl(fd, MSGPOOL_IOC_PEERS, &rl);
	*count = rl.count;
	return ret;
}

/* The pools of this namespace into @st (MP_MAX_POOLS); their count. */
static int st_pools(int fd, struct msgpool_pool_stat *st)
{
	__u32 n = MP_MAX_POOLS;
	int ret = st_list(fd, NULL, st, &n, sizeof(*st));

	return ret ? ret : (int)n;
}

/* 0 and the entry of pool @name in *@out, or -ENOENT or -errno. */
static int st_pool(const char *name, struct msgpool_pool_stat *out)
{
	static struct msgpool_pool_stat st[MP_MAX_POOLS];
	int fd = mp_open(O_RDONLY), n, i, ret = -ENOENT;

	if (fd < 0)
		return fd;
	n = st_pools(fd, st);
	close(fd);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < MP_MAX_POOLS; i++) {
		if (!strcmp(st[i].name, name)) {
			*out = st[i];
			ret = 0;
		}
	}
	return ret;
}

/* Peers of @name, at most @max entries of @size bytes at @buf. */
static int st_peers_sized(const char *name, void *buf, __u32 max,
			  __u32 size)
{
	int fd = mp_open(O_RDONLY), ret;

	if (fd < 0)
		return fd;
	ret = st_list(fd, name, buf, &max, size);
	close(fd);
	return ret ? ret : (int)max;
}

/* Peers of @name (at most @max) into @st; their count or -errno. */
static int st_peers(const char *name, struct msgpool_peer_stat *st,
		    __u32 max)
{
	return st_peers_sized(name, st, max, sizeof(*st));
}

static const struct msgpool_peer_stat *
find_peer(const struct msgpool_peer_stat *st, int n, __u32 id)
{
	int i;

	for (i = 0; i < n; i++)
		if (st[i].peer_id == id)
			return &st[i];
	return NULL;
}

TEST(pools_on_unattached_fd)
{
	struct msgpool_pool_stat st;
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR), i;

	ASSERT_GE(fd, 0);
	mp_name(name, "pools");
	ASSERT_EQ(mp_create(fd, name, mp_std, MP_STD_NR, 0640, NULL), 0);
	ASSERT_EQ(st_pool(name, &st), 0);
	EXPECT_EQ(st.uid, geteuid());
	EXPECT_EQ(st.gid, getegid());
	EXPECT_EQ(st.mode, 0640);
	EXPECT_NE(st.id, 0);
	EXPECT_EQ(st.nr_classes, MP_STD_NR);
	for (i = 0; i < MP_STD_NR; i++) {
		EXPECT_EQ(st.classes[i].slot_size, mp_std[i].slot_size);
		EXPECT_EQ(st.classes[i].nr_slots, mp_std[i].nr_slots);
	}
	for (; i < MSGPOOL_MAX_CLASSES; i++)
		EXPECT_EQ(st.classes[i].nr_slots, 0);
	EXPECT_EQ(st.capacity, MP_STD_SLOTS);
	EXPECT_EQ(st.map_size, 4 * MP_PAGE);
	EXPECT_EQ(st.free, MP_STD_SLOTS);
	EXPECT_EQ(st.loaned + st.ready + st.borrowed + st.poisoned, 0);
	EXPECT_EQ(st.published, 0);
	EXPECT_EQ(st.nr_peers, 1);
	for (i = 0; i < MSGPOOL_TYPE_ID_LEN; i++)
		EXPECT_EQ(st.type_id[i], 0);
	EXPECT_EQ(st.retired, 0);
	EXPECT_EQ(st.reserved, 0);
	close(fd);
	EXPECT_EQ(st_pool(name, &st), -ENOENT);
}

/* A typed pool's fingerprint, as POOLS reports it to anyone. */
TEST(pools_report_type_id)
{
	static const __u8 type[MSGPOOL_TYPE_ID_LEN] = {
		0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x80,
	};
	static const __u8 untyped[MSGPOOL_TYPE_ID_LEN];
	char name[MSGPOOL_NAME_MAX], plain[MSGPOOL_NAME_MAX];
	struct msgpool_pool_stat st;
	int fd, fd2;

	fd = mp_new_typed_pool(name, "typed", type, 0600);
	ASSERT_GE(fd, 0);
	fd2 = mp_new_pool(plain, "untyped", mp_std, MP_STD_NR, NULL);
	ASSERT_GE(fd2, 0);

	ASSERT_EQ(st_pool(name, &st), 0);
	EXPECT_EQ(memcmp(st.type_id, type, sizeof(type)), 0);
	EXPECT_EQ(st.reserved, 0);
	ASSERT_EQ(st_pool(plain, &st), 0);
	EXPECT_EQ(memcmp(st.type_id, untyped, sizeof(untyped)), 0);
	close(fd);
	close(fd2);
}

/* A published message counts until its last reader has marked it read. */
TEST(pools_count_published)
{
	struct msgpool_pool_stat st;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_op o;
	int fd = mp_new_pool(name, "published", mp_std, MP_STD_NR, NULL);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(mp_subscribe(fd, NULL, NULL), 0);
	ASSERT_EQ(mp_loan(fd, 8, 0, &o), 0);
	ASSERT_EQ(mp_publish(fd, o.token, 8, 0, NULL), 0);
	ASSERT_EQ(st_pool(name, &st), 0);
	EXPECT_EQ(st.published, 1);
	EXPECT_EQ(st.free, MP_STD_SLOTS - 1);
	EXPECT_EQ(st.loaned + st.ready + st.borrowed + st.poisoned, 0);
	ASSERT_EQ(mp_take(fd, &o), 0);
	ASSERT_EQ(mp_mark_read(fd, o.token), 0);
	ASSERT_EQ(st_pool(name, &st), 0);
	EXPECT_EQ(st.published, 0);
	EXPECT_EQ(st.free, MP_STD_SLOTS);
	close(fd);
}

TEST(pools_count_in_out)
{
	struct msgpool_pool_stat st[2];
	struct msgpool_pool_list l = { .entry_size = sizeof(st[0]) };
	char name[MSGPOOL_NAME_MAX];
	int fd[3], q = mp_open(O_RDONLY), i;
	__u32 before;

	ASSERT_GE(q, 0);
	ASSERT_EQ(mp_ioctl(q, MSGPOOL_IOC_POOLS, &l), 0);
	before = l.count;
	for (i = 0; i < 3; i++) {
		fd[i] = mp_new_pool(name, "count", mp_std, 1, NULL);
		ASSERT_GE(fd[i], 0);
	}
	/* No buffer: only the count. */
	l.count = 0;
	ASSERT_EQ(mp_ioctl(q, MSGPOOL_IOC_POOLS, &l), 0);
	EXPECT_EQ(l.count, before + 3);
	/* A short buffer: filled, and the count says it was short. */
	memset(st, 0xff, sizeof(st));
	l.pools = (uintptr_t)st;
	l.count = 1;
	ASSERT_EQ(mp_ioctl(q, MSGPOOL_IOC_POOLS, &l), 0);
	EXPECT_EQ(l.count, before + 3);
	EXPECT_NE(st[0].id, 0xffffffffU);
	EXPECT_EQ(st[1].id, 0xffffffffU);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	l.count = 0;
	ASSERT_EQ(mp_ioctl(q, MSGPOOL_IOC_POOLS, &l), 0);
	EXPECT_EQ(l.count, before);
	close(q);
}

TEST(pools_errors)
{
	struct msgpool_pool_stat st[MP_MAX_POOLS];
	struct msgpool_pool_list l = {
		.pools = (uintptr_t)st, .count = MP_MAX_POOLS,
		.entry_size = sizeof(st[0]),
	};
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_pool(name, "errors", mp_std, MP_STD_NR, NULL);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, &l), 0);
	l.entry_size = MSGPOOL_POOL_STAT_SIZE_VER0 - 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, &l), -EINVAL);
	l.entry_size = 4097;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, &l), -EINVAL);
	l.entry_size = 0;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, &l), -EINVAL);
	l.entry_size = sizeof(st[0]);
	l.reserved[1] = 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, &l), -EINVAL);
	l.reserved[1] = 0;
	l.pools = 8;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, &l), -EFAULT);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_POOLS, (void *)8), -EFAULT);
	/* Unused numbers of the stats range. */
	EXPECT_EQ(mp_ioctl(fd, _IOWR(MSGPOOL_IOC_MAGIC, 0x33,
				     struct msgpool_pool_list), &l), -ENOTTY);
	EXPECT_EQ(mp_ioctl(fd, _IOR(MSGPOOL_IOC_MAGIC, 0x30,
				    struct msgpool_pool_list), &l), -ENOTTY);
	close(fd);
}

/*
 * One slot in every state, each peer holding something:
 *   a: creator, owns every message, holds a loan
 *   b: two read borrows; r (O_RDONLY): one read borrow; c: a write borrow
 *   a peer that died in a write borrow left a poisoned slot
 */
FIXTURE(known) {
	char name[MSGPOOL_NAME_MAX];
	int a, b, r, c;
};

FIXTURE_SETUP(known)
{
	struct msgpool_op loan;
	__u64 poisoned, read, written, ready;
	int d;

	mp_name(self->name, "known");
	self->a = mp_open(O_RDWR);
	ASSERT_GE(self->a, 0);
	ASSERT_EQ(mp_create(self->a, self->name, mp_std, MP_STD_NR, 0644,
			    NULL), 0);
	self->b = mp_peer(self->name, O_RDWR);
	self->r = mp_peer(self->name, O_RDONLY);
	self->c = mp_peer(self->name, O_RDWR);
	d = mp_peer(self->name, O_RDWR);
	ASSERT_GE(self->b, 0);
	ASSERT_GE(self->r, 0);
	ASSERT_GE(self->c, 0);
	ASSERT_GE(d, 0);
	ASSERT_EQ(mp_store_len(self->a, 8, &poisoned), 0);
	ASSERT_EQ(mp_borrow(d, poisoned, MSGPOOL_F_WRITE, NULL), 0);
	close(d);
	ASSERT_EQ(mp_store_len(self->a, 8, &read), 0);
	ASSERT_EQ(mp_store_len(self->a, 8, &written), 0);
	ASSERT_EQ(mp_store_len(self->a, 8, &ready), 0);
	ASSERT_EQ(mp_loan(self->a, 8, 0, &loan), 0);
	ASSERT_EQ(mp_borrow(self->b, read, 0, NULL), 0);
	ASSERT_EQ(mp_borrow(self->b, read, 0, NULL), 0);
	ASSERT_EQ(mp_borrow(self->r, read, 0, NULL), 0);
	ASSERT_EQ(mp_borrow(self->c, written, MSGPOOL_F_WRITE, NULL), 0);
}

FIXTURE_TEARDOWN(known)
{
	close(self->a);
	close(self->b);
	close(self->r);
	close(self->c);
}

TEST_F(known, pool_figures)
{
	struct msgpool_pool_stat st;

	ASSERT_EQ(st_pool(self->name, &st), 0);
	EXPECT_EQ(st.nr_peers, 4);
	EXPECT_EQ(st.free, MP_STD_SLOTS - 5);
	EXPECT_EQ(st.loaned, 1);
	EXPECT_EQ(st.ready, 1);
	EXPECT_EQ(st.borrowed, 2);
	EXPECT_EQ(st.poisoned, 1);
	EXPECT_EQ(st.published, 0);
}

TEST_F(known, peer_figures)
{
	struct msgpool_peer_stat st[8];
	const struct msgpool_peer_stat *p;
	int n;

	memset(st, 0xff, sizeof(st));
	n = st_peers(self->name, st, 8);
	ASSERT_EQ(n, 4);
	p = find_peer(st, n, mp_peer_id(self->a));
	ASSERT_NE(p, NULL);
	EXPECT_EQ(p->pid, getpid());
	EXPECT_EQ(p->flags, 0);
	EXPECT_EQ(p->loans, 1);
	EXPECT_EQ(p->reads + p->writes, 0);
	EXPECT_EQ(p->owned, 5);
	EXPECT_EQ(p->pad, 0);
	EXPECT_EQ(p->reserved[0] | p->reserved[1], 0);
	p = find_peer(st, n, mp_peer_id(self->b));
	ASSERT_NE(p, NULL);
	EXPECT_EQ(p->reads, 2);
	EXPECT_EQ(p->loans + p->writes + p->owned, 0);
	p = find_peer(st, n, mp_peer_id(self->r));
	ASSERT_NE(p, NULL);
	EXPECT_EQ(p->flags, MSGPOOL_PEER_RDONLY);
	EXPECT_EQ(p->reads, 1);
	p = find_peer(st, n, mp_peer_id(self->c));
	ASSERT_NE(p, NULL);
	EXPECT_EQ(p->flags, 0);
	EXPECT_EQ(p->writes, 1);
	EXPECT_EQ(p->loans + p->reads + p->owned, 0);
	/* A short buffer: two entries, the count of all four. */
	memset(st, 0xff, sizeof(st));
	EXPECT_EQ(st_peers(self->name, st, 2), 4);
	EXPECT_NE(st[1].peer_id, 0xffffffffU);
	EXPECT_EQ(st[2].peer_id, 0xffffffffU);
	EXPECT_EQ(st_peers(self->name, NULL, 0), 4);
}

TEST_F(known, peers_follow_close)
{
	struct msgpool_pool_stat st;

	close(self->c);
	self->c = -1;
	ASSERT_EQ(st_pool(self->name, &st), 0);
	EXPECT_EQ(st.nr_peers, 3);
	EXPECT_EQ(st.borrowed, 1);
	/* c's write borrow was on a's slot: it is poisoned now. */
	EXPECT_EQ(st.poisoned, 2);
	EXPECT_EQ(st_peers(self->name, NULL, 0), 3);
}

/*
 * List entries grow: a caller may pass any entry size from the first
 * struct's up to 4096.  Entries lie entry_size apart, each the struct as
 * the kernel knows it and zeros after it; nothing past the last entry
 * is written.
 */
static const __u32 pool_entry_sizes[] = {
	MSGPOOL_POOL_STAT_SIZE_VER0, MSGPOOL_POOL_STAT_SIZE_VER0 + 1,
	MSGPOOL_POOL_STAT_SIZE_VER0 + 8, 1000, 4096,
};
static const __u32 peer_entry_sizes[] = {
	MSGPOOL_PEER_STAT_SIZE_VER0, MSGPOOL_PEER_STAT_SIZE_VER0 + 1,
	MSGPOOL_PEER_STAT_SIZE_VER0 + 8, 1000, 4096,
};

/* 1 if the @n bytes at @p all are @v. */
static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/*
 * Lists POOLS, or PEERS of @name, through a file of its own into @buf
 * (room for @max entries of @size, and one more); checks that each entry
 * is @known bytes and zeros, and that nothing past the last is written.
 * The count.
 */
static int list_grown(struct __test_metadata *_metadata, const char *name,
		      unsigned char *buf, __u32 max, __u32 size, size_t known)
{
	int fd = mp_open(O_RDONLY), ret;
	__u32 i, n = max;

	ASSERT_GE(fd, 0);
	memset(buf, 0xff, (size_t)(max + 1) * size);
	ret = st_list(fd, name, buf, &n, size);
	close(fd);
	ASSERT_EQ(ret, 0) TH_LOG("entry_size %u", size);
	ASSERT_LE(n, max);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(all_bytes(buf + i * size + known, size - known, 0))
			TH_LOG("entry_size %u: tail of entry %u", size, i);
	EXPECT_TRUE(all_bytes(buf + n * size, (max + 1 - n) * size, 0xff))
		TH_LOG("entry_size %u: written past entry %u", size, n);
	return n;
}

TEST(pools_entry_size_growth)
{
	const size_t known = sizeof(struct msgpool_pool_stat);
	const __u32 max = MP_MAX_POOLS - 1;
	struct msgpool_pool_stat ref[2], st;
	char name[2][MSGPOOL_NAME_MAX];
	int fd[2], i, n, found;
	unsigned char *buf;
	unsigned int k;
	__u32 size;

	for (i = 0; i < 2; i++) {
		fd[i] = mp_open(O_RDWR);
		ASSERT_GE(fd[i], 0);
		mp_name(name[i], "entries");
		ASSERT_EQ(mp_create(fd[i], name[i], mp_std, MP_STD_NR,
				    i ? 0640 : 0600, NULL), 0);
		ASSERT_EQ(st_pool(name[i], &ref[i]), 0);
	}
	buf = malloc((size_t)MP_MAX_POOLS * 4096);
	ASSERT_NE(buf, NULL);
	for (k = 0; k < ARRAY_SIZE(pool_entry_sizes); k++) {
		size = pool_entry_sizes[k];
		n = list_grown(_metadata, NULL, buf, max, size, known);
		ASSERT_GE(n, 2);
		found = 0;
		for (i = 0; i < n; i++) {
			memcpy(&st, buf + (size_t)i * size, known);
			if (!strcmp(st.name, name[0]) ||
			    !strcmp(st.name, name[1])) {
				found |= 1 << !strcmp(st.name, name[1]);
				EXPECT_EQ(memcmp(&st, &ref[!strcmp(st.name,
								    name[1])],
						 known), 0)
					TH_LOG("entry_size %u: %s", size,
					       st.name);
			}
		}
		EXPECT_EQ(found, 3) TH_LOG("entry_size %u", size);
	}
	free(buf);
	for (i = 0; i < 2; i++)
		close(fd[i]);
}

TEST(peers_entry_size_growth)
{
	const size_t known = sizeof(struct msgpool_peer_stat);
	struct msgpool_peer_stat ref[4], st;
	char name[MSGPOOL_NAME_MAX];
	const struct msgpool_peer_stat *r;
	int fd[3], i, n;
	unsigned char *buf;
	unsigned int k;
	__u32 size;

	fd[0] = mp_new_pool(name, "peerentries", mp_std, MP_STD_NR, NULL);
	ASSERT_GE(fd[0], 0);
	fd[1] = mp_peer(name, O_RDWR);
	fd[2] = mp_peer(name, O_RDONLY);
	ASSERT_GE(fd[1], 0);
	ASSERT_GE(fd[2], 0);
	ASSERT_EQ(mp_store_len(fd[1], 8, NULL), 0);
	ASSERT_EQ(st_peers(name, ref, 4), 3);
	buf = malloc(5 * 4096);
	ASSERT_NE(buf, NULL);
	for (k = 0; k < ARRAY_SIZE(peer_entry_sizes); k++) {
		size = peer_entry_sizes[k];
		n = list_grown(_metadata, name, buf, 4, size, known);
		ASSERT_EQ(n, 3) TH_LOG("entry_size %u", size);
		for (i = 0; i < n; i++) {
			memcpy(&st, buf + (size_t)i * size, known);
			r = find_peer(ref, 3, st.peer_id);
			ASSERT_NE(r, NULL) TH_LOG("entry_size %u: entry %d",
						  size, i);
			EXPECT_EQ(memcmp(&st, r, known), 0)
				TH_LOG("entry_size %u: peer %u", size,
				       st.peer_id);
		}
	}
	/* Each peer once. */
	for (i = 0; i < 3; i++)
		EXPECT_NE(find_peer(ref, 3, mp_peer_id(fd[i])), NULL);
	free(buf);
	for (i = 0; i < 3; i++)
		close(fd[i]);
}

/* A list call with entries of @size: refused, nothing written. */
static void expect_size_refused(struct __test_metadata *_metadata, int fd,
				const char *name, unsigned char *buf,
				__u32 size)
{
	__u32 count = 2;

	memset(buf, 0xff, 2 * 4096);
	EXPECT_EQ(st_list(fd, name, buf, &count, size), -EINVAL)
		TH_LOG("%s entry_size %u", name ? "PEERS" : "POOLS", size);
	EXPECT_EQ(count, 2);
	EXPECT_TRUE(all_bytes(buf, 2 * 4096, 0xff));
}

/* Below the first struct or above 4096: refused, nothing written. */
TEST(list_entry_size_bounds)
{
	static const __u32 bad_pool[] = {
		0, 1, MSGPOOL_POOL_STAT_SIZE_VER0 - 1, 4097, 8192, 0xffffffffU,
	};
	static const __u32 bad_peer[] = {
		0, 1, MSGPOOL_PEER_STAT_SIZE_VER0 - 1, 4097, 8192, 0xffffffffU,
	};
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_pool(name, "entrybounds", mp_std, MP_STD_NR, NULL);
	unsigned char *buf;
	unsigned int k;
	__u32 count;

	ASSERT_GE(fd, 0);
	buf = malloc(2 * 4096);
	ASSERT_NE(buf, NULL);
	for (k = 0; k < ARRAY_SIZE(bad_pool); k++)
		expect_size_refused(_metadata, fd, NULL, buf, bad_pool[k]);
	for (k = 0; k < ARRAY_SIZE(bad_peer); k++)
		expect_size_refused(_metadata, fd, name, buf, bad_peer[k]);
	/* The bounds themselves are sizes a caller may pass. */
	count = 1;
	EXPECT_EQ(st_list(fd, NULL, buf, &count,
			  MSGPOOL_POOL_STAT_SIZE_VER0), 0);
	count = 1;
	EXPECT_EQ(st_list(fd, NULL, buf, &count, 4096), 0);
	EXPECT_EQ(st_peers_sized(name, buf, 1, MSGPOOL_PEER_STAT_SIZE_VER0), 1);
	EXPECT_EQ(st_peers_sized(name, buf, 1, 4096), 1);
	free(buf);
	close(fd);
}

/* A PEERS argument that lists pool @name into the four entries at @st. */
static void peer_list_args(struct msgpool_peer_list *l, const char *name,
			   struct msgpool_peer_stat *st)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->name, name);
	l->peers = (uintptr_t)st;
	l->count = 4;
	l->entry_size = sizeof(*st);
}

TEST(peers_errors)
{
	struct msgpool_peer_stat st[4];
	struct msgpool_peer_list l;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_pool_stat ps;
	int fd = mp_new_pool(name, "peerserr", mp_std, MP_STD_NR, NULL);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(st_pool(name, &ps), 0);
	peer_list_args(&l, name, st);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), 0);
	EXPECT_EQ(l.count, 1);
	peer_list_args(&l, name, st);
	l.id = ps.id;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), 0);
	peer_list_args(&l, name, st);
	l.id = ps.id + 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -ENOENT);
	peer_list_args(&l, "no-such-pool", st);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -ENOENT);
	peer_list_args(&l, "a/b", st);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.name[MSGPOOL_NAME_MAX - 1] = 'x';
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.entry_size = 8;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.entry_size = MSGPOOL_PEER_STAT_SIZE_VER0 - 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.entry_size = 4097;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.reserved32 = 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.reserved[0] = 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EINVAL);
	peer_list_args(&l, name, st);
	l.peers = 8;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, &l), -EFAULT);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_PEERS, (void *)8), -EFAULT);
	close(fd);
}

TEST(unlink_then_recreate)
{
	struct msgpool_pool_stat st;
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR), fd2 = mp_open(O_RDWR), late, n;
	__u32 old_id;
	__u64 t;

	ASSERT_GE(fd, 0);
	ASSERT_GE(fd2, 0);
	mp_name(name, "unlink");
	ASSERT_EQ(mp_create(fd, name, mp_std, MP_STD_NR, 0666, NULL), 0);
	ASSERT_EQ(st_pool(name, &st), 0);
	old_id = st.id;
	EXPECT_EQ(mp_unlink(name, old_id + 1), -ENOENT);
	ASSERT_EQ(mp_unlink(name, old_id), 0);
	EXPECT_EQ(mp_unlink(name, 0), -ENOENT);
	EXPECT_EQ(st_pool(name, &st), -ENOENT);
	EXPECT_EQ(st_peers(name, NULL, 0), -ENOENT);
	late = mp_open(O_RDWR);
	ASSERT_GE(late, 0);
	EXPECT_EQ(mp_join(late, name), -ENOENT);
	/* The peer already in carries on. */
	ASSERT_EQ(mp_store_len(fd, 8, &t), 0);
	ASSERT_EQ(mp_borrow(fd, t, 0, NULL), 0);
	ASSERT_EQ(mp_release(fd, t), 0);
	/* The name is free for a new pool. */
	ASSERT_EQ(mp_create(fd2, name, mp_std, 1, 0600, NULL), 0);
	ASSERT_EQ(st_pool(name, &st), 0);
	EXPECT_NE(st.id, old_id);
	EXPECT_EQ(st.capacity, mp_std[0].nr_slots);
	ASSERT_EQ(mp_join(late, name), 0);
	n = st_peers(name, NULL, 0);
	EXPECT_EQ(n, 2);
	EXPECT_EQ(mp_avail(fd), MP_STD_SLOTS - 1);
	close(fd);
	close(fd2);
	close(late);
}

/* An unlinked pool counts toward max_pools until its last close frees it. */
TEST(unlinked_pool_freed_at_last_close)
{
	struct msgpool_pool_stat st[MP_MAX_POOLS];
	__u64 max = mp_param("max_pools"), quota = mp_max_pools_decide();
	char name[MSGPOOL_NAME_MAX], first[MSGPOOL_NAME_MAX];
	int fds[MP_MAX_POOLS], q = mp_open(O_RDONLY), n, i, extra;

	ASSERT_NE(quota, 0);
	ASSERT_GE(q, 0);
	ASSERT_GT(max, 0);
	ASSERT_LE(max, MP_MAX_POOLS);
	n = st_pools(q, st);
	ASSERT_GE(n, 0);
	n = max - n;
	ASSERT_GT(n, 0);
	for (i = 0; i < n; i++) {
		fds[i] = mp_new_pool(name, "full", mp_std, 1, NULL);
		ASSERT_GE(fds[i], 0);
		if (!i)
			strcpy(first, name);
	}
	extra = mp_open(O_RDWR);
	ASSERT_GE(extra, 0);
	mp_name(name, "extra");
	EXPECT_EQ(mp_create(extra, name, mp_std, 1, 0600, NULL), -ENOSPC);
	ASSERT_EQ(st_pools(q, st), (int)max);
	ASSERT_EQ(mp_unlink(first, 0), 0);
	EXPECT_EQ(st_pools(q, st), (int)max - 1);
	EXPECT_EQ(mp_create(extra, name, mp_std, 1, 0600, NULL), -ENOSPC);
	close(fds[0]);
	EXPECT_EQ(mp_create(extra, name, mp_std, 1, 0600, NULL), 0);
	for (i = 1; i < n; i++)
		close(fds[i]);
	close(extra);
	close(q);
	EXPECT_EQ(mp_param_set("max_user_pools", quota), 0);
}

TEST(unlink_errors)
{
	struct msgpool_unlink_args u = { .name = "unlink-err" };
	int fd = mp_open(O_RDONLY);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_UNLINK, &u), -ENOENT);
	u.flags = 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_UNLINK, &u), -EINVAL);
	u.flags = 0;
	u.reserved[0] = 1;
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_UNLINK, &u), -EINVAL);
	u.reserved[0] = 0;
	strcpy(u.name, "x y");
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_UNLINK, &u), -EINVAL);
	memset(u.name, 0, sizeof(u.name));
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_UNLINK, &u), -EINVAL);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_UNLINK, (void *)8), -EFAULT);
	close(fd);
}

/* As uid 65534 with no capability: unlink @arg, send the result. */
/* The device is root's (0600): its file is opened first, then passed. */
static int unlink_as_nobody(int rd, int wr, void *arg)
{
	int fd = mp_open(O_RDONLY);

	(void)rd;
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!mp_become(NOBODY, NOBODY));
	CHILD_CHECK(!mp_send(wr, (__u64)(__s64)mp_unlink_on(fd, arg, 0)));
	close(fd);
	return 0;
}

/* As uid 65534: create pool @arg, wait for the parent, close it. */
static int create_as_nobody(int rd, int wr, void *arg)
{
	int fd = mp_open(O_RDWR), other = mp_open(O_RDONLY);
	__u64 v;

	CHILD_CHECK(fd >= 0 && other >= 0);
	CHILD_CHECK(!mp_become(NOBODY, NOBODY));
	CHILD_CHECK(!mp_create(fd, arg, mp_std, 1, 0666, NULL));
	CHILD_CHECK(!mp_send(wr, 0));
	CHILD_CHECK(!mp_recv(rd, &v));
	/* The owner may unlink its own pool. */
	CHILD_CHECK(mp_unlink_on(other, arg, 0) == (int)v);
	close(other);
	close(fd);
	return 0;
}

TEST(unlink_permission)
{
	char name[MSGPOOL_NAME_MAX], other[MSGPOOL_NAME_MAX];
	struct msgpool_pool_stat st;
	struct mp_child c = { 0 };
	int fd = mp_open(O_RDWR);
	__u64 v;

	if (geteuid())
		SKIP(return, "needs root to switch users");
	ASSERT_GE(fd, 0);
	mp_name(name, "perm");
	ASSERT_EQ(mp_create(fd, name, mp_std, 1, 0666, NULL), 0);
	/* Not the owner, no CAP_SYS_ADMIN: -EPERM, pool still named. */
	ASSERT_EQ(mp_spawn(&c, unlink_as_nobody, name), 0);
	ASSERT_EQ(mp_recv(c.rd, &v), 0);
	EXPECT_EQ((int)v, -EPERM);
	EXPECT_EQ(mp_reap(&c), 0);
	EXPECT_EQ(st_pool(name, &st), 0);
	/* The owner, not root. */
	mp_name(other, "perm");
	ASSERT_EQ(mp_spawn(&c, create_as_nobody, other), 0);
	ASSERT_EQ(mp_recv(c.rd, &v), 0);
	ASSERT_EQ(st_pool(other, &st), 0);
	EXPECT_EQ(st.uid, NOBODY);
	ASSERT_EQ(mp_send(c.wr, 0), 0);
	EXPECT_EQ(mp_reap(&c), 0);
	/* CAP_SYS_ADMIN removes a pool it does not own. */
	ASSERT_EQ(mp_spawn(&c, create_as_nobody, other), 0);
	ASSERT_EQ(mp_recv(c.rd, &v), 0);
	EXPECT_EQ(mp_unlink(other, 0), 0);
	ASSERT_EQ(mp_send(c.wr, (__u64)(__s64)-ENOENT), 0);
	EXPECT_EQ(mp_reap(&c), 0);
	close(fd);
}

/* Namespaces. */

/*
 * In a new IPC namespace: pool @arg of the parent is invisible, a pool of
 * the same name is a new one; reports its id, waits, then exits.
 */
static int new_ipc_ns(int rd, int wr, void *arg)
{
	struct msgpool_pool_stat st[MP_MAX_POOLS];
	int fd, q;
	__u64 v;

	CHILD_CHECK(!unshare(CLONE_NEWIPC));
	q = mp_open(O_RDONLY);
	CHILD_CHECK(q >= 0);
	CHILD_CHECK(st_pools(q, st) == 0);
	CHILD_CHECK(mp_join(q, arg) == -ENOENT);
	CHILD_CHECK(st_peers(arg, NULL, 0) == -ENOENT);
	CHILD_CHECK(mp_unlink(arg, 0) == -ENOENT);
	fd = mp_open(O_RDWR);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!mp_create(fd, arg, mp_std, 1, 0600, NULL));
	CHILD_CHECK(st_pools(q, st) == 1);
	CHILD_CHECK(!strcmp(st[0].name, arg));
	CHILD_CHECK(st[0].capacity == mp_std[0].nr_slots);
	CHILD_CHECK(st_peers(arg, NULL, 0) == 1);
	CHILD_CHECK(!mp_send(wr, st[0].id));
	CHILD_CHECK(!mp_recv(rd, &v));
	close(fd);
	close(q);
	return 0;
}

TEST(ipc_namespace_scopes_names)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_pool_stat st;
	struct mp_child c = { 0 };
	int fd = mp_open(O_RDWR);
	__u64 child_id;

	ASSERT_GE(fd, 0);
	mp_name(name, "ns");
	ASSERT_EQ(mp_create(fd, name, mp_std, MP_STD_NR, 0666, NULL), 0);
	ASSERT_EQ(mp_spawn(&c, new_ipc_ns, name), 0);
	ASSERT_EQ(mp_recv(c.rd, &child_id), 0);
	/* Two pools of one name; this namespace sees its own only. */
	ASSERT_EQ(st_pool(name, &st), 0);
	EXPECT_NE(st.id, child_id);
	EXPECT_EQ(st.capacity, MP_STD_SLOTS);
	EXPECT_EQ(st.nr_peers, 1);
	EXPECT_EQ(st_peers(name, NULL, 0), 1);
	ASSERT_EQ(mp_send(c.wr, 0), 0);
	EXPECT_EQ(mp_reap(&c), 0);
	ASSERT_EQ(st_pool(name, &st), 0);
	close(fd);
}

/* Creates a pool in a new IPC namespace and sends its fd; then exits. */
static int pool_in_dying_ns(int rd, int wr, void *arg)
{
	char buf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "p", .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fd, sock = *(int *)arg;

	(void)rd;
	(void)wr;
	CHILD_CHECK(!unshare(CLONE_NEWIPC));
	fd = mp_open(O_RDWR);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!mp_create(fd, "orphan-ns", mp_std, 1, 0600, NULL));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	CHILD_CHECK(sendmsg(sock, &mh, 0) == 1);
	return 0;
}

/* Sees no pool at all: the namespace is a new one. */
static int ns_sees_nothing(int rd, int wr, void *arg)
{
	struct msgpool_pool_stat st[MP_MAX_POOLS];
	int q;

	(void)rd;
	(void)wr;
	(void)arg;
	CHILD_CHECK(!unshare(CLONE_NEWIPC));
	q = mp_open(O_RDONLY);
	CHILD_CHECK(q >= 0);
	CHILD_CHECK(st_pools(q, st) == 0);
	CHILD_CHECK(mp_join(q, "orphan-ns") == -ENOENT);
	return 0;
}

/*
 * Runs @fn in a child that sends one fd over the socket its argument
 * names, and waits for it to exit: the fd received, or -1.
 */
static int fd_from_child(mp_child_fn fn)
{
	char buf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct mp_child c = { 0 };
	int sv[2], fd = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	if (!mp_spawn(&c, fn, &sv[1])) {
		if (recvmsg(sv[0], &mh, 0) == 1 && CMSG_FIRSTHDR(&mh))
			memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
		if (mp_reap(&c) && fd >= 0) {
			close(fd);
			fd = -1;
		}
	}
	close(sv[0]);
	close(sv[1]);
	return fd;
}

/* A pool outlives the namespace it was named in, and stays out of others. */
TEST(pool_outlives_its_namespace)
{
	struct mp_child c = { 0 };
	int fd, i;
	__u64 t;

	fd = fd_from_child(pool_in_dying_ns);
	ASSERT_GE(fd, 0);
	/* Not in this namespace, nor in any new one. */
	EXPECT_EQ(st_peers("orphan-ns", NULL, 0), -ENOENT);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(mp_spawn(&c, ns_sees_nothing, NULL), 0);
		EXPECT_EQ(mp_reap(&c), 0);
	}
	ASSERT_EQ(mp_store_len(fd, 8, &t), 0);
	EXPECT_EQ(mp_free(fd, t), 0);
	close(fd);
}

#define NS_SHM_BYTES	(16LL << 20)

/*
 * As pool_in_dying_ns(), then leaves NS_SHM_BYTES of SysV shared memory,
 * every page touched and the segment never removed, in that namespace:
 * it lives for as long as the namespace does.
 */
static int pool_and_shm_in_dying_ns(int rd, int wr, void *arg)
{
	int id, ret = pool_in_dying_ns(rd, wr, arg);
	char *p;

	if (ret)
		return ret;
	id = shmget(IPC_PRIVATE, NS_SHM_BYTES, IPC_CREAT | 0600);
	CHILD_CHECK(id >= 0);
	p = shmat(id, NULL, 0);
	CHILD_CHECK(p != (void *)-1);
	memset(p, 0x5a, NS_SHM_BYTES);
	CHILD_CHECK(!shmdt(p));
	return 0;
}

/* The Shmem: figure of /proc/meminfo in bytes, or -1. */
static long long shmem_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	long long kb = -1;
	char line[128];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Shmem: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb << 10;
}

/* The least Shmem figure over @ms milliseconds, read every 50 ms. */
static long long shmem_least(int ms)
{
	long long least = shmem_bytes(), v;

	for (; ms > 0; ms -= 50) {
		usleep(50 * 1000);
		v = shmem_bytes();
		if (v < least)
			least = v;
	}
	return least;
}

/*
 * Reads Shmem every 50 ms until it is at most @limit or @ms milliseconds
 * have passed; the last figure.
 */
static long long shmem_wait_down(long long limit, int ms)
{
	long long v = shmem_bytes();

	for (; v > limit && ms > 0; ms -= 50) {
		usleep(50 * 1000);
		v = shmem_bytes();
	}
	return v;
}

/*
 * A pool holds its IPC namespace from its creation to its last close, and
 * that close must let the namespace go.  put_ipc_ns() is not exported: the
 * pool drops its reference through the namespace's nsfs ->put() instead.
 * Should that stand-in stop matching get_ipc_ns(), the namespace either
 * leaks for good or is freed while the pool still points at it.  A
 * namespace's lifetime shows in /proc/meminfo: SysV shared memory never
 * removed is freed with its namespace, from a workqueue, hence the polls.
 */
TEST(ipc_namespace_freed_at_last_close)
{
	long long base = shmem_bytes(), held, after;
	int fd;

	ASSERT_GE(base, 0);
	fd = fd_from_child(pool_and_shm_in_dying_ns);
	ASSERT_GE(fd, 0);
	/* No task is left in the namespace: the pool alone holds it. */
	held = shmem_least(500);
	ASSERT_GE(held - base, NS_SHM_BYTES * 3 / 4);
	close(fd);
	after = shmem_wait_down(held - NS_SHM_BYTES * 3 / 4, 20000);
	EXPECT_LE(after, held - NS_SHM_BYTES * 3 / 4);
	TH_LOG("Shmem: %lld kB before, %lld kB with the pool, %lld kB after",
	       base >> 10, held >> 10, after >> 10);
}

/* Memory cgroups. */

/* Writes @s to @file of cgroup directory @dir: 0 or -errno. */
static int cg_set(const char *dir, const char *file, const char *s)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The number in @file of cgroup directory @dir, or -1. */
static long long cg_num(const char *dir, const char *file)
{
	char path[256], buf[64] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

/* Mounts cgroup2 if needed and makes a child cgroup with memory on. */
static int cg_make(char *dir, size_t size)
{
	int ret;

	if (access(MP_CGROUP "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", MP_CGROUP, "cgroup2", 0, NULL))
		return -errno;
	ret = cg_set(MP_CGROUP, "cgroup.subtree_control", "+memory");
	if (ret)
		return ret;
	snprintf(dir, size, MP_CGROUP "/msgpool-%d", (int)getpid());
	return mkdir(dir, 0755) ? -errno : 0;
}

#define CG_POOL_BYTES	(8LL << 20)
#define CG_SLACK	(1LL << 20)

/* 128 slots of 64 KiB: 8 MiB of pages. */
static const struct msgpool_class cg_cls[] = {
	{ .slot_size = 65536, .nr_slots = 128 },
};

/*
 * In cgroup @arg: a pool's pages are charged to it and uncharged when it
 * is freed; then at memory.max, creating one fails with -ENOMEM and leaves
 * nothing behind.
 */
static int cg_child(int rd, int wr, void *arg)
{
	struct msgpool_pool_stat st[MP_MAX_POOLS];
	const char *dir = arg;
	long long before, with;
	char max[32];
	int fd, q, pools;

	(void)rd;
	(void)wr;
	CHILD_CHECK(!cg_set(dir, "cgroup.procs", "0"));
	q = mp_open(O_RDONLY);
	CHILD_CHECK(q >= 0);
	pools = st_pools(q, st);
	before = cg_num(dir, "memory.current");
	fd = mp_open(O_RDWR);
	CHILD_CHECK(fd >= 0 && before >= 0);
	CHILD_CHECK(!mp_create(fd, "memcg", cg_cls, 1, 0600, NULL));
	with = cg_num(dir, "memory.current");
	fprintf(stderr, "# memory.current %lld -> %lld\n", before, with);
	CHILD_CHECK(with - before >= CG_POOL_BYTES);
	CHILD_CHECK(with - before <= CG_POOL_BYTES + CG_SLACK);
	close(fd);
	CHILD_CHECK(cg_num(dir, "memory.current") <= before + CG_SLACK);

	before = cg_num(dir, "memory.current");
	snprintf(max, sizeof(max), "%lld", before + 2 * CG_SLACK);
	CHILD_CHECK(!cg_set(dir, "memory.max", max));
	fd = mp_open(O_RDWR);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_create(fd, "memcg", cg_cls, 1, 0600, NULL) == -ENOMEM);
	CHILD_CHECK(st_pools(q, st) == pools);
	CHILD_CHECK(mp_join(fd, "memcg") == -ENOENT);
	CHILD_CHECK(cg_num(dir, "memory.current") <= before + CG_SLACK);
	/* A pool that fits still can be made. */
	CHILD_CHECK(!mp_create(fd, "memcg", mp_std, MP_STD_NR, 0600, NULL));
	close(fd);
	close(q);
	return 0;
}

TEST(memcg_charge_and_limit)
{
	struct mp_child c = { 0 };
	char dir[128];
	int ret;

	if (geteuid())
		SKIP(return, "needs root for cgroups");
	ret = cg_make(dir, sizeof(dir));
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(mp_spawn(&c, cg_child, dir), 0);
	EXPECT_EQ(mp_reap(&c), 0);
	EXPECT_EQ(rmdir(dir), 0);
}

TEST_HARNESS_MAIN
