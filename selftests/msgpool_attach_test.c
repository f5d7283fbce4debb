// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool attach: names, pool configs and their limits, EXCL/CREATE,
 * permissions, read-only peers and the pool's lifetime.
 */
#include "msgpool_util.h"

#include <sys/stat.h>

TEST(ops_before_attach_enotconn)
{
	struct msgpool_op op = { .op = MSGPOOL_OP_NOP };
	struct msgpool_batch_args b = {
		.ops = (uintptr_t)&op, .count = 1, .op_size = sizeof(op),
	};
	struct msgpool_info info;
	char buf[8] = "payload";
	void *p;
	int fd;

	fd = mp_open(O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", MP_DEV, strerror(-fd));
	EXPECT_EQ(-ENOTCONN, mp_info(fd, &info));
	EXPECT_EQ(-ENOTCONN, mp_nop(fd));
	EXPECT_EQ(-ENOTCONN, mp_store(fd, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-ENOTCONN, mp_loan(fd, 1, 0, NULL));
	EXPECT_EQ(-ENOTCONN, mp_ioctl(fd, MSGPOOL_IOC_BATCH, &b));
	p = mmap(NULL, MP_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

TEST(unknown_ioctl_enotty)
{
	char name[MSGPOOL_NAME_MAX];
	__u32 small = 0;
	int fd;

	fd = mp_new_pool(name, _metadata->name, mp_std, MP_STD_NR, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, mp_ioctl(fd, _IO(MSGPOOL_IOC_MAGIC, 0x7f), NULL));
	/* A known number with another size is another ioctl. */
	EXPECT_EQ(-ENOTTY, mp_ioctl(fd, _IOWR(MSGPOOL_IOC_MAGIC, 0x11, __u32),
				    &small));
	EXPECT_EQ(-ENOTTY, mp_ioctl(fd, _IOWR('x', 0x11, struct msgpool_op),
				    &small));
	close(fd);
}

TEST(bad_attach_pointer_efault)
{
	int fd = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EFAULT, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, NULL));
	close(fd);
}

TEST(create_excl_and_attach)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_attach a;
	int fd1, fd2, fd3, fd4;
	__u64 map_size = 0;

	fd1 = mp_open(O_RDWR);
	fd2 = mp_open(O_RDWR);
	fd3 = mp_open(O_RDWR);
	fd4 = mp_open(O_RDWR);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	ASSERT_LE(0, fd4);
	mp_name(name, _metadata->name);

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       0600, mp_std, MP_STD_NR);
	ASSERT_EQ(0, mp_ioctl(fd1, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(1, a.created);
	map_size = a.map_size;
	EXPECT_NE(0, map_size);
	EXPECT_EQ(0, map_size % MP_PAGE);

	/* A plain attach finds it. */
	mp_attach_args(&a, name, 0, 0, NULL, 0);
	a.created = 1;
	ASSERT_EQ(0, mp_ioctl(fd2, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(0, a.created);
	EXPECT_EQ(map_size, a.map_size);

	/* CREATE without EXCL attaches to the existing pool. */
	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE, 0600,
		       mp_std, MP_STD_NR);
	ASSERT_EQ(0, mp_ioctl(fd3, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(0, a.created);
	EXPECT_EQ(map_size, a.map_size);

	EXPECT_EQ(-EEXIST, mp_create(fd4, name, mp_std, MP_STD_NR, 0600,
				     NULL));
	/* The refused fd is still unbound and can attach. */
	EXPECT_EQ(0, mp_join(fd4, name));
	close(fd1);
	close(fd2);
	close(fd3);
	close(fd4);
}

TEST(attach_missing_enoent)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	mp_name(name, _metadata->name);
	EXPECT_EQ(-ENOENT, mp_join(fd, name));
	/* A failed attach leaves the peer unbound. */
	EXPECT_EQ(-ENOTCONN, mp_nop(fd));
	EXPECT_EQ(0, mp_create(fd, name, mp_std, MP_STD_NR, 0600, NULL));
	close(fd);
}

TEST(second_attach_eisconn)
{
	char name[MSGPOOL_NAME_MAX], other[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR);
	int fd2 = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	mp_name(name, _metadata->name);
	mp_name(other, _metadata->name);
	ASSERT_EQ(0, mp_create(fd, name, mp_std, MP_STD_NR, 0600, NULL));
	EXPECT_EQ(-EISCONN, mp_join(fd, name));
	EXPECT_EQ(-EISCONN, mp_create(fd, other, mp_std, MP_STD_NR, 0600,
				      NULL));
	/* The refused create made nothing. */
	EXPECT_EQ(-ENOENT, mp_join(fd2, other));
	close(fd);
	close(fd2);
}

TEST(attach_flags_and_reserved)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_attach a;
	int fd = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	mp_name(name, _metadata->name);

	/* EXCL without CREATE, on a missing name: not ENOENT. */
	mp_attach_args(&a, name, MSGPOOL_ATTACH_EXCL, 0, NULL, 0);
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE | (1U << 3), 0600,
		       mp_std, MP_STD_NR);
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE | (1U << 31), 0600,
		       mp_std, MP_STD_NR);
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE, 0600, mp_std,
		       MP_STD_NR);
	a.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE, 0600, mp_std,
		       MP_STD_NR);
	a.reserved[1] = 1ULL << 63;
	EXPECT_EQ(-EINVAL, mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a));

	/* None of the refused calls created the pool or bound the fd. */
	EXPECT_EQ(-ENOENT, mp_join(fd, name));
	EXPECT_EQ(0, mp_create(fd, name, mp_std, MP_STD_NR, 0600, NULL));
	close(fd);
}

/* On a plain attach, the create-only fields must be zero. */
TEST(plain_attach_create_fields_einval)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_attach a;
	int fd = mp_new_pool(name, _metadata->name, mp_std, MP_STD_NR, NULL);
	int fd2 = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);

	mp_attach_args(&a, name, 0, 0600, NULL, 0);
	EXPECT_EQ(-EINVAL, mp_ioctl(fd2, MSGPOOL_IOC_ATTACH, &a));
	mp_attach_args(&a, name, 0, 0, mp_std, MP_STD_NR);
	EXPECT_EQ(-EINVAL, mp_ioctl(fd2, MSGPOOL_IOC_ATTACH, &a));
	mp_attach_args(&a, name, 0, 0, NULL, 0);
	a.classes[0].slot_size = 64;
	EXPECT_EQ(-EINVAL, mp_ioctl(fd2, MSGPOOL_IOC_ATTACH, &a));
	mp_attach_args(&a, name, 0, 0, NULL, 0);
	a.classes[MSGPOOL_MAX_CLASSES - 1].nr_slots = 1;
	EXPECT_EQ(-EINVAL, mp_ioctl(fd2, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(0, mp_join(fd2, name));
	close(fd);
	close(fd2);
}

/* Names that are refused, for CREATE and for a plain attach alike. */
FIXTURE(bad_name) {
	int fd;
};

FIXTURE_VARIANT(bad_name) {
	const char *bytes;
	unsigned int len;	/* bytes copied into name[] */
};

FIXTURE_VARIANT_ADD(bad_name, empty) { .bytes = "", .len = 1 };
FIXTURE_VARIANT_ADD(bad_name, slash) { .bytes = "a/b", .len = 4 };
FIXTURE_VARIANT_ADD(bad_name, dotdot_slash) { .bytes = "../x", .len = 5 };
FIXTURE_VARIANT_ADD(bad_name, space) { .bytes = "a b", .len = 4 };
FIXTURE_VARIANT_ADD(bad_name, newline) { .bytes = "a\nb", .len = 4 };
FIXTURE_VARIANT_ADD(bad_name, colon) { .bytes = "a:b", .len = 4 };
FIXTURE_VARIANT_ADD(bad_name, high_byte) { .bytes = "caf\xc3\xa9", .len = 6 };
FIXTURE_VARIANT_ADD(bad_name, unterminated) {
	.bytes = "abcdefghijklmnopqrstuvwxyz012345", .len = 32,
};
FIXTURE_VARIANT_ADD(bad_name, junk_after_nul) { .bytes = "ab\0c", .len = 4 };

FIXTURE_SETUP(bad_name)
{
	self->fd = mp_open(O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", MP_DEV,
				      strerror(-self->fd));
}

FIXTURE_TEARDOWN(bad_name)
{
	close(self->fd);
}

TEST_F(bad_name, einval)
{
	struct msgpool_attach a;

	mp_attach_args(&a, "", MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       0600, mp_std, MP_STD_NR);
	memcpy(a.name, variant->bytes, variant->len);
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_ATTACH, &a));

	mp_attach_args(&a, "", 0, 0, NULL, 0);
	memcpy(a.name, variant->bytes, variant->len);
	EXPECT_EQ(-EINVAL, mp_ioctl(self->fd, MSGPOOL_IOC_ATTACH, &a));
}

TEST(name_of_31_chars)
{
	char name[MSGPOOL_NAME_MAX], twin[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR);
	int fd2 = mp_open(O_RDWR);
	int fd3 = mp_open(O_RDWR);
	int n;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	n = snprintf(name, sizeof(name), "long.%d.", (int)getpid());
	memset(name + n, 'x', sizeof(name) - 1 - n);
	name[sizeof(name) - 1] = '\0';
	ASSERT_EQ(31, strlen(name));
	ASSERT_EQ(0, mp_create(fd, name, mp_std, MP_STD_NR, 0600, NULL));
	EXPECT_EQ(0, mp_join(fd2, name));
	/* All 31 characters name the pool. */
	memcpy(twin, name, sizeof(twin));
	twin[30] = 'y';
	EXPECT_EQ(-ENOENT, mp_join(fd3, twin));
	close(fd);
	close(fd2);
	close(fd3);
}

TEST(name_charset)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR);
	int fd2 = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	snprintf(name, sizeof(name), "AZaz09._-%d", (int)getpid());
	ASSERT_EQ(0, mp_create(fd, name, mp_std, MP_STD_NR, 0600, NULL));
	EXPECT_EQ(0, mp_join(fd2, name));
	close(fd);
	close(fd2);
}

/* Pool configs: refused ones must not leave a pool behind. */
FIXTURE(config) {
	int fd;
	char name[MSGPOOL_NAME_MAX];
};

FIXTURE_VARIANT(config) {
	__u32 nr;
	struct msgpool_class cls[MSGPOOL_MAX_CLASSES];
	__u32 mode;
	int expect;
};

FIXTURE_VARIANT_ADD(config, one_class) {
	.nr = 1, .cls = { { 1, 1 } }, .mode = 0600, .expect = 0,
};
FIXTURE_VARIANT_ADD(config, eight_classes) {
	.nr = 8,
	.cls = { { 1, 1 }, { 2, 2 }, { 63, 3 }, { 64, 4 }, { 65, 5 },
		 { 4095, 1 }, { 4096, 1 }, { 4097, 1 } },
	.mode = 0777, .expect = 0,
};
FIXTURE_VARIANT_ADD(config, no_class) {
	.nr = 0, .mode = 0600, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, nine_classes) {
	.nr = 9,
	.cls = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 1 },
		 { 6, 1 }, { 7, 1 }, { 8, 1 } },
	.mode = 0600, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, slot_size_zero) {
	.nr = 1, .cls = { { 0, 1 } }, .mode = 0600, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, nr_slots_zero) {
	.nr = 2, .cls = { { 64, 1 }, { 128, 0 } }, .mode = 0600,
	.expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, equal_sizes) {
	.nr = 2, .cls = { { 64, 1 }, { 64, 1 } }, .mode = 0600,
	.expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, decreasing_sizes) {
	.nr = 3, .cls = { { 64, 1 }, { 256, 1 }, { 128, 1 } }, .mode = 0600,
	.expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, nr_slots_over_2p24) {
	.nr = 1, .cls = { { 1, (1U << 24) + 1 } }, .mode = 0600,
	.expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, nr_slots_u32_max) {
	.nr = 1, .cls = { { 1, 0xffffffffU } }, .mode = 0600,
	.expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, mode_over_0777) {
	.nr = 1, .cls = { { 64, 1 } }, .mode = 01000, .expect = -EINVAL,
};
FIXTURE_VARIANT_ADD(config, mode_setuid_bit) {
	.nr = 1, .cls = { { 64, 1 } }, .mode = 04600, .expect = -EINVAL,
};
/* ALIGN(slot_size, 64) wraps to 0 in 32 bits. */
FIXTURE_VARIANT_ADD(config, stride_wraps) {
	.nr = 1, .cls = { { 0xffffffc1U, 1 } }, .mode = 0600,
	.expect = -E2BIG,
};
/* stride * nr_slots is 2^32: 0 in 32 bits. */
FIXTURE_VARIANT_ADD(config, bytes_wrap_u32) {
	.nr = 1, .cls = { { 0x80000000U, 2 } }, .mode = 0600,
	.expect = -E2BIG,
};
FIXTURE_VARIANT_ADD(config, largest_everything) {
	.nr = 8,
	.cls = { { 0xfffffff8U, 1U << 24 }, { 0xfffffff9U, 1U << 24 },
		 { 0xfffffffaU, 1U << 24 }, { 0xfffffffbU, 1U << 24 },
		 { 0xfffffffcU, 1U << 24 }, { 0xfffffffdU, 1U << 24 },
		 { 0xfffffffeU, 1U << 24 }, { 0xffffffffU, 1U << 24 } },
	.mode = 0600, .expect = -E2BIG,
};

FIXTURE_SETUP(config)
{
	self->fd = mp_open(O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", MP_DEV,
				      strerror(-self->fd));
	mp_name(self->name, _metadata->name);
}

FIXTURE_TEARDOWN(config)
{
	close(self->fd);
}

TEST_F(config, create)
{
	struct msgpool_attach a;
	struct msgpool_info info;
	__u32 c;

	mp_attach_args(&a, self->name,
		       MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       variant->mode, variant->cls, 0);
	a.nr_classes = variant->nr;
	memcpy(a.classes, variant->cls, sizeof(a.classes));
	ASSERT_EQ(variant->expect, mp_ioctl(self->fd, MSGPOOL_IOC_ATTACH, &a));
	if (variant->expect) {
		EXPECT_EQ(-ENOENT, mp_join(self->fd, self->name));
		return;
	}
	EXPECT_EQ(1, a.created);
	ASSERT_EQ(0, mp_info(self->fd, &info));
	EXPECT_EQ(variant->nr, info.nr_classes);
	EXPECT_EQ(a.map_size, info.map_size);
	for (c = 0; c < variant->nr; c++) {
		EXPECT_EQ(variant->cls[c].slot_size, info.classes[c].slot_size);
		EXPECT_EQ(variant->cls[c].nr_slots, info.classes[c].nr_slots);
	}
}

static int create_one(int fd, const char *name, __u32 size, __u32 nr)
{
	struct msgpool_class cls = { .slot_size = size, .nr_slots = nr };

	return mp_create(fd, name, &cls, 1, 0600, NULL);
}

TEST(module_params_read_only)
{
	static const char * const names[] = {
		"max_pool_bytes", "max_pool_slots", "max_pools",
	};
	char path[128];
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), MP_PARAMS "%s", names[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %m", path);
		EXPECT_EQ(0444, st.st_mode & 07777) TH_LOG("%s", path);
		EXPECT_NE(0, mp_param(names[i])) TH_LOG("%s", path);
	}
}

TEST(config_over_max_pool_bytes_e2big)
{
	__u64 max_bytes = mp_param("max_pool_bytes");
	__u64 max_slots = mp_param("max_pool_slots");
	char name[MSGPOOL_NAME_MAX];
	__u64 nr;
	int fd;

	ASSERT_NE(0, max_bytes);
	/* 1 MiB slots: the byte limit is passed long before the slot one. */
	nr = max_bytes / (1 << 20) + 1;
	if (nr > max_slots || nr > (1U << 24))
		SKIP(return, "max_pool_bytes too large to pass alone");
	fd = mp_open(O_RDWR);
	ASSERT_LE(0, fd);
	mp_name(name, _metadata->name);
	EXPECT_EQ(-E2BIG, create_one(fd, name, 1 << 20, nr));
	EXPECT_EQ(-ENOENT, mp_join(fd, name));
	close(fd);
}

TEST(config_over_max_pool_slots_e2big)
{
	__u64 max_slots = mp_param("max_pool_slots");
	struct msgpool_class cls[2] = { { 1, 0 }, { 2, 1 } };
	char name[MSGPOOL_NAME_MAX];
	int fd;

	ASSERT_NE(0, max_slots);
	if (max_slots >= (1U << 24))
		SKIP(return, "max_pool_slots is above the per-class limit");
	fd = mp_open(O_RDWR);
	ASSERT_LE(0, fd);
	mp_name(name, _metadata->name);
	EXPECT_EQ(-E2BIG, create_one(fd, name, 1, max_slots + 1));
	/* The limit is on all classes together. */
	cls[0].nr_slots = max_slots;
	EXPECT_EQ(-E2BIG, mp_create(fd, name, cls, 2, 0600, NULL));
	EXPECT_EQ(-ENOENT, mp_join(fd, name));
	close(fd);
}

TEST(too_many_pools_enospc)
{
	__u64 max = mp_param("max_pools"), quota = mp_max_pools_decide();
	char name[MSGPOOL_NAME_MAX];
	int *fds, extra, ret = 0;
	__u64 i, n;

	ASSERT_NE(0, max);
	ASSERT_NE(0, quota);
	fds = calloc(max + 1, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	for (n = 0; n <= max; n++) {
		fds[n] = mp_open(O_RDWR);
		ASSERT_LE(0, fds[n]);
		mp_name(name, _metadata->name);
		ret = create_one(fds[n], name, 1, 1);
		if (ret)
			break;
	}
	ASSERT_EQ(-ENOSPC, ret) TH_LOG("%llu pools created",
				       (unsigned long long)n);
	ASSERT_LT(0, n) TH_LOG("other pools use up max_pools already");

	/* Closing a pool's last peer makes room for one more. */
	close(fds[0]);
	mp_name(name, _metadata->name);
	EXPECT_EQ(0, create_one(fds[n], name, 1, 1));
	extra = mp_open(O_RDWR);
	ASSERT_LE(0, extra);
	mp_name(name, _metadata->name);
	EXPECT_EQ(-ENOSPC, create_one(extra, name, 1, 1));
	close(extra);
	for (i = 1; i <= n; i++)
		close(fds[i]);
	free(fds);
	EXPECT_EQ(0, mp_param_set("max_user_pools", quota));
}

TEST(last_close_frees_name)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_info info;
	struct msgpool_attach a;
	struct msgpool_class small = { 128, 3 };
	int fd1, fd2, fd3;
	__u64 token;

	fd1 = mp_new_pool(name, _metadata->name, mp_std, MP_STD_NR, NULL);
	fd2 = mp_open(O_RDWR);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mp_join(fd2, name));
	ASSERT_EQ(0, mp_store_len(fd2, 10, &token));

	/* The creator leaving does not end the pool. */
	close(fd1);
	fd3 = mp_peer(name, O_RDWR);
	ASSERT_LE(0, fd3);
	EXPECT_EQ(0, mp_header(fd3, token, NULL));
	close(fd3);
	close(fd2);

	/* The last peer did: the name is free, a new pool takes it. */
	fd1 = mp_open(O_RDWR);
	ASSERT_LE(0, fd1);
	EXPECT_EQ(-ENOENT, mp_join(fd1, name));
	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       0600, &small, 1);
	ASSERT_EQ(0, mp_ioctl(fd1, MSGPOOL_IOC_ATTACH, &a));
	EXPECT_EQ(1, a.created);
	ASSERT_EQ(0, mp_info(fd1, &info));
	EXPECT_EQ(1, info.nr_classes);
	EXPECT_EQ(3, info.capacity);
	EXPECT_EQ(3, info.available);
	EXPECT_EQ(0, info.nr_stores);
	close(fd1);
}

/* A read-only peer may look but not touch. */
FIXTURE(rdonly) {
	int rw;
	int ro;
	char name[MSGPOOL_NAME_MAX];
	__u64 ready;	/* a stored message */
	__u64 loaned;	/* a loan of the rw peer */
};

FIXTURE_SETUP(rdonly)
{
	struct msgpool_op o;

	self->rw = mp_new_pool(self->name, _metadata->name, mp_std, MP_STD_NR,
			       NULL);
	ASSERT_LE(0, self->rw) TH_LOG("pool: %s", strerror(-self->rw));
	self->ro = mp_peer(self->name, O_RDONLY);
	ASSERT_LE(0, self->ro);
	ASSERT_EQ(0, mp_store_len(self->rw, 16, &self->ready));
	ASSERT_EQ(0, mp_loan(self->rw, 16, 0, &o));
	self->loaned = o.token;
}

FIXTURE_TEARDOWN(rdonly)
{
	close(self->ro);
	close(self->rw);
}

TEST_F(rdonly, write_ops_ebadf)
{
	__u64 avail = mp_avail(self->rw);
	struct msgpool_op o;
	char buf[4] = "abc";

	EXPECT_EQ(-EBADF, mp_store(self->ro, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EBADF, mp_loan(self->ro, 8, 0, NULL));
	EXPECT_EQ(-EBADF, mp_commit(self->ro, self->loaned, 8, 0));
	EXPECT_EQ(-EBADF, mp_discard(self->ro, self->loaned));
	EXPECT_EQ(-EBADF, mp_borrow(self->ro, self->ready, MSGPOOL_F_WRITE,
				    NULL));
	EXPECT_EQ(-EBADF, mp_borrow(self->ro, self->ready,
				    MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK,
				    NULL));
	EXPECT_EQ(-EBADF, mp_free(self->ro, self->ready));

	/* Nothing changed: the loan is still the rw peer's. */
	EXPECT_EQ(avail, mp_avail(self->rw));
	EXPECT_EQ(-EBUSY, mp_header(self->rw, self->loaned, &o));
	EXPECT_EQ(0, mp_commit(self->rw, self->loaned, 8, 0));
	EXPECT_EQ(0, mp_free(self->rw, self->ready));
}

TEST_F(rdonly, read_ops_allowed)
{
	struct msgpool_info info;
	struct msgpool_op o;

	EXPECT_EQ(0, mp_info(self->ro, &info));
	EXPECT_EQ(MP_STD_SLOTS - 2, info.available);
	EXPECT_EQ(0, mp_nop(self->ro));
	EXPECT_EQ(0, mp_header(self->ro, self->ready, &o));
	EXPECT_EQ(16, o.len);
	ASSERT_EQ(0, mp_borrow(self->ro, self->ready, 0, &o));
	EXPECT_EQ(16, o.len);
	/* The read borrow is real: it keeps the slot from being freed. */
	EXPECT_EQ(-EBUSY, mp_free(self->rw, self->ready));
	EXPECT_EQ(0, mp_release(self->ro, self->ready));
	EXPECT_EQ(0, mp_free(self->rw, self->ready));
}

TEST_F(rdonly, batch_write_ops_ebadf)
{
	struct msgpool_op ops[3] = {
		{ .op = MSGPOOL_OP_LOAN, .len = 8 },
		{ .op = MSGPOOL_OP_FREE, .token = self->ready },
		{ .op = MSGPOOL_OP_HEADER, .token = self->ready },
	};
	struct msgpool_batch_args b = {
		.ops = (uintptr_t)ops, .count = 3, .op_size = sizeof(ops[0]),
	};

	ASSERT_EQ(0, mp_ioctl(self->ro, MSGPOOL_IOC_BATCH, &b));
	EXPECT_EQ(3, b.done);
	EXPECT_EQ(-EBADF, ops[0].result);
	EXPECT_EQ(-EBADF, ops[1].result);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(16, ops[2].len);
}

/*
 * Permissions, checked like SysV shm.  The pool's creator and the peer
 * run in children with the given ids; both open a private node of the
 * device made 0666, so only the pool's mode decides.
 */
struct perm_args {
	const char *node;
	const char *name;
	uid_t uid;
	gid_t gid;
	__u32 mode;
	int oflags;
};

static int perm_creator(int rd, int wr, void *arg)
{
	const struct perm_args *pa = arg;
	__u64 v;
	int fd;

	CHILD_CHECK(mp_become(pa->uid, pa->gid) == 0);
	fd = open(pa->node, O_RDWR | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_send(wr, -mp_create(fd, pa->name, mp_std, MP_STD_NR,
					   pa->mode, NULL)) == 0);
	/* Keep the pool alive until the parent is done with it. */
	mp_recv(rd, &v);
	return 0;
}

/* Exits with the errno of the attach, 0 if it worked. */
static int perm_peer(int rd, int wr, void *arg)
{
	const struct perm_args *pa = arg;
	int fd;

	CHILD_CHECK(mp_become(pa->uid, pa->gid) == 0);
	fd = open(pa->node, pa->oflags | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "# child: open %s: %m\n", pa->node);
		return 200;
	}
	return -mp_join(fd, pa->name);
}

FIXTURE(perm) {
	char dir[64];
	char node[96];
	char name[MSGPOOL_NAME_MAX];
};

FIXTURE_VARIANT(perm) {
	uid_t owner_uid;
	gid_t owner_gid;
	__u32 mode;
	uid_t uid;
	gid_t gid;
	int oflags;
	int expect;	/* errno of the peer's attach */
};

FIXTURE_VARIANT_ADD(perm, other_read_ro) {
	0, 0, 0604, NOBODY, NOBODY, O_RDONLY, 0,
};
FIXTURE_VARIANT_ADD(perm, other_read_rw) {
	0, 0, 0604, NOBODY, NOBODY, O_RDWR, EACCES,
};
FIXTURE_VARIANT_ADD(perm, other_rw_rw) {
	0, 0, 0606, NOBODY, NOBODY, O_RDWR, 0,
};
FIXTURE_VARIANT_ADD(perm, other_none_ro) {
	0, 0, 0660, NOBODY, NOBODY, O_RDONLY, EACCES,
};
FIXTURE_VARIANT_ADD(perm, other_write_only_ro) {
	0, 0, 0602, NOBODY, NOBODY, O_RDONLY, EACCES,
};
FIXTURE_VARIANT_ADD(perm, other_write_only_rw) {
	0, 0, 0602, NOBODY, NOBODY, O_RDWR, EACCES,
};
FIXTURE_VARIANT_ADD(perm, group_read_ro) {
	0, 0, 0640, NOBODY, 0, O_RDONLY, 0,
};
FIXTURE_VARIANT_ADD(perm, group_read_rw) {
	0, 0, 0640, NOBODY, 0, O_RDWR, EACCES,
};
FIXTURE_VARIANT_ADD(perm, group_bits_not_other_bits) {
	0, 0, 0604, NOBODY, 0, O_RDONLY, EACCES,
};
FIXTURE_VARIANT_ADD(perm, owner_read_ro) {
	NOBODY, NOBODY, 0400, NOBODY, NOBODY, O_RDONLY, 0,
};
FIXTURE_VARIANT_ADD(perm, owner_read_rw) {
	NOBODY, NOBODY, 0400, NOBODY, NOBODY, O_RDWR, EACCES,
};
FIXTURE_VARIANT_ADD(perm, owner_bits_not_other_bits) {
	NOBODY, NOBODY, 0066, NOBODY, NOBODY, O_RDONLY, EACCES,
};
FIXTURE_VARIANT_ADD(perm, owner_rw_rw) {
	NOBODY, NOBODY, 0600, NOBODY, NOBODY, O_RDWR, 0,
};
FIXTURE_VARIANT_ADD(perm, cap_ipc_owner_bypasses) {
	NOBODY, NOBODY, 0000, 0, 0, O_RDWR, 0,
};

FIXTURE_SETUP(perm)
{
	static const char * const dirs[] = { "/tmp", "/dev/shm", "/dev" };
	struct stat st;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, getuid()) TH_LOG("the permission tests run as root");
	ASSERT_EQ(0, stat(MP_DEV, &st)) TH_LOG("%s: %m", MP_DEV);
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	/* A directory that holds device nodes and that nobody may enter. */
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(self->dir, sizeof(self->dir), "%s/msgpool.XXXXXX",
			 dirs[i]);
		if (!mkdtemp(self->dir))
			continue;
		snprintf(self->node, sizeof(self->node), "%s/msgpool",
			 self->dir);
		if (!chmod(self->dir, 0755) &&
		    !mknod(self->node, S_IFCHR | 0666, st.st_rdev) &&
		    !chmod(self->node, 0666)) {
			fd = open(self->node, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				close(fd);
				break;
			}
		}
		unlink(self->node);
		rmdir(self->dir);
	}
	ASSERT_LT(i, ARRAY_SIZE(dirs)) TH_LOG("no place for a device node");
	mp_name(self->name, _metadata->name);
}

FIXTURE_TEARDOWN(perm)
{
	unlink(self->node);
	rmdir(self->dir);
}

TEST_F(perm, attach)
{
	struct perm_args owner = {
		.node = self->node, .name = self->name,
		.uid = variant->owner_uid, .gid = variant->owner_gid,
		.mode = variant->mode,
	};
	struct perm_args peer = {
		.node = self->node, .name = self->name,
		.uid = variant->uid, .gid = variant->gid,
		.oflags = variant->oflags,
	};
	struct mp_child creator, other;
	__u64 err = ~0ULL;

	ASSERT_EQ(0, mp_spawn(&creator, perm_creator, &owner));
	ASSERT_EQ(0, mp_recv(creator.rd, &err));
	ASSERT_EQ(0, err) TH_LOG("create as %u: errno %d",
				 variant->owner_uid, (int)err);
	ASSERT_EQ(0, mp_spawn(&other, perm_peer, &peer));
	EXPECT_EQ(variant->expect, mp_reap(&other));
	EXPECT_EQ(0, mp_reap(&creator));
}

/*
 * Type fingerprints.  Two types, as hashes of two message definitions
 * would be; they differ in their last byte only, so an attach that
 * compared less than the whole fingerprint would take one for the other.
 */
static const __u8 type_a[MSGPOOL_TYPE_ID_LEN] = {
	0x6d, 0x73, 0x67, 0x70, 0x6f, 0x6f, 0x6c, 0x2d,
	0x74, 0x79, 0x70, 0x65, 0x2d, 0x61, 0x00, 0x01,
};
static const __u8 type_b[MSGPOOL_TYPE_ID_LEN] = {
	0x6d, 0x73, 0x67, 0x70, 0x6f, 0x6f, 0x6c, 0x2d,
	0x74, 0x79, 0x70, 0x65, 0x2d, 0x61, 0x00, 0x02,
};
static const __u8 untyped[MSGPOOL_TYPE_ID_LEN];

/*
 * Attach @fd to @name as a peer of @type with @flags, the standard
 * classes if CREATE is among them.  *@created gets the call's answer.
 */
static int typed_attach(int fd, const char *name, __u32 flags,
			const __u8 *type, __u32 *created)
{
	bool create = flags & MSGPOOL_ATTACH_CREATE;
	struct msgpool_attach a;
	int ret;

	mp_attach_args(&a, name, flags, create ? 0600 : 0,
		       create ? mp_std : NULL, create ? MP_STD_NR : 0);
	memcpy(a.type_id, type, sizeof(a.type_id));
	ret = mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a);
	if (!ret && created)
		*created = a.created;
	return ret;
}

/* 1 if INFO of @fd reports @type, 0 if another, -errno if INFO fails. */
static int info_type_is(int fd, const __u8 *type)
{
	struct msgpool_info info;
	int ret = mp_info(fd, &info);

	if (ret)
		return ret;
	return !memcmp(info.type_id, type, sizeof(info.type_id));
}

TEST(typed_pool_takes_its_type)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_open(O_RDWR), fd2 = mp_open(O_RDWR);
	int fd3 = mp_open(O_RDWR);
	__u32 created = 0;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	mp_name(name, _metadata->name);
	ASSERT_EQ(0, typed_attach(fd, name, MSGPOOL_ATTACH_CREATE |
				  MSGPOOL_ATTACH_EXCL, type_a, &created));
	EXPECT_EQ(1, created);
	EXPECT_EQ(1, info_type_is(fd, type_a));
	/* A peer of the same type joins, plain or with CREATE. */
	created = 1;
	EXPECT_EQ(0, typed_attach(fd2, name, 0, type_a, &created));
	EXPECT_EQ(0, created);
	EXPECT_EQ(1, info_type_is(fd2, type_a));
	created = 1;
	EXPECT_EQ(0, typed_attach(fd3, name, MSGPOOL_ATTACH_CREATE, type_a,
				  &created));
	EXPECT_EQ(0, created);
	EXPECT_EQ(1, info_type_is(fd3, type_a));
	EXPECT_EQ(0, mp_nop(fd3));
	close(fd);
	close(fd2);
	close(fd3);
}

TEST(typed_pool_refuses_other_type_eprototype)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_typed_pool(name, _metadata->name, type_a,
				   0600);
	int fd2 = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-EPROTOTYPE, typed_attach(fd2, name, 0, type_b, NULL));
	/* The refused peer is not attached, and may attach as type a. */
	EXPECT_EQ(-ENOTCONN, mp_nop(fd2));
	EXPECT_EQ(0, typed_attach(fd2, name, 0, type_a, NULL));
	EXPECT_EQ(1, info_type_is(fd, type_a));
	close(fd);
	close(fd2);
}

/* CREATE without EXCL is an attach when the pool exists: same check. */
TEST(typed_pool_refuses_other_type_on_create_eprototype)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_typed_pool(name, _metadata->name, type_a,
				   0600);
	int fd2 = mp_open(O_RDWR);
	__u32 created = 7;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-EPROTOTYPE, typed_attach(fd2, name, MSGPOOL_ATTACH_CREATE,
					    type_b, &created));
	EXPECT_EQ(7, created);
	EXPECT_EQ(-ENOTCONN, mp_nop(fd2));
	/* The pool kept its type. */
	EXPECT_EQ(1, info_type_is(fd, type_a));
	EXPECT_EQ(0, typed_attach(fd2, name, MSGPOOL_ATTACH_CREATE, type_a,
				  NULL));
	close(fd);
	close(fd2);
}

TEST(untyped_attach_joins_typed_pool)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_typed_pool(name, _metadata->name, type_a,
				   0600);
	int fd2 = mp_open(O_RDWR);
	int fd3 = mp_open(O_RDONLY);
	__u32 created = 1;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	EXPECT_EQ(0, typed_attach(fd2, name, 0, untyped, NULL));
	/* INFO tells the untyped peer the pool's type. */
	EXPECT_EQ(1, info_type_is(fd2, type_a));
	EXPECT_EQ(0, typed_attach(fd3, name, MSGPOOL_ATTACH_CREATE, untyped,
				  &created));
	EXPECT_EQ(0, created);
	EXPECT_EQ(1, info_type_is(fd3, type_a));
	close(fd);
	close(fd2);
	close(fd3);
}

TEST(typed_attach_to_untyped_pool_eprototype)
{
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_pool(name, _metadata->name, mp_std, MP_STD_NR, NULL);
	int fd2 = mp_open(O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(1, info_type_is(fd, untyped));
	EXPECT_EQ(-EPROTOTYPE, typed_attach(fd2, name, 0, type_a, NULL));
	EXPECT_EQ(-EPROTOTYPE, typed_attach(fd2, name, MSGPOOL_ATTACH_CREATE,
					    type_a, NULL));
	/* A typed peer does not make an untyped pool typed. */
	EXPECT_EQ(1, info_type_is(fd, untyped));
	EXPECT_EQ(0, typed_attach(fd2, name, 0, untyped, NULL));
	close(fd);
	close(fd2);
}

/* As uid 65534, attach @arg as type b: exits with the attach's errno. */
static int typed_stranger(int rd, int wr, void *arg)
{
	int fd = mp_open(O_RDONLY);	/* the device is root's: open first */

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_become(NOBODY, NOBODY) == 0);
	return -typed_attach(fd, arg, 0, type_b, NULL);
}

/*
 * The permission check comes first: a peer that may not attach learns
 * EACCES whatever type it names, nothing of the pool's type.
 */
TEST(typed_attach_checks_permission_first)
{
	char name[MSGPOOL_NAME_MAX], open_name[MSGPOOL_NAME_MAX];
	int fd = mp_new_typed_pool(name, _metadata->name, type_a,
				   0600);
	struct mp_child c = { 0 };
	int fd2;

	ASSERT_EQ(0, getuid()) TH_LOG("the permission tests run as root");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mp_spawn(&c, typed_stranger, name));
	EXPECT_EQ(EACCES, mp_reap(&c));
	/* Where it may read, the type is what stops it. */
	fd2 = mp_new_typed_pool(open_name, _metadata->name, type_a, 0644);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mp_spawn(&c, typed_stranger, open_name));
	EXPECT_EQ(EPROTOTYPE, mp_reap(&c));
	close(fd);
	close(fd2);
}

TEST_HARNESS_MAIN
