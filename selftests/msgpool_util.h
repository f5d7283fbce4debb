/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the msgpool selftests.  Each helper returns 0 or
 * -errno, so a test compares errnos directly with ASSERT_EQ().
 *
 * The harness runs every test in its own process, so a pool name made of
 * the test's name and the pid never collides with another test's.
 *
 * Include it before any system header: it asks for the GNU extensions.
 */
#ifndef MSGPOOL_SELFTEST_UTIL_H
#define MSGPOOL_SELFTEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/msgpool.h>

/*
 * The harness's ASSERT_*() compare operands of their own types, and its
 * wrappers leave parameters unused; GCC warns at every expansion.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msgpool_task.h"

#define MP_DEV		"/dev/msgpool"
#define NOBODY		65534	/* a user the tests drop to */
#define MP_PARAMS	"/sys/module/msgpool/parameters/"
#define MP_PAGE		((__u64)sysconf(_SC_PAGESIZE))
#define MP_ALIGN(x, a)	(((x) + (a) - 1) / (a) * (a))

/* The pool most tests use: 14 slots in three classes, four pages. */
static const struct msgpool_class mp_std[] = {
	{ .slot_size = 64, .nr_slots = 8 },
	{ .slot_size = 256, .nr_slots = 4 },
	{ .slot_size = 4096, .nr_slots = 2 },
};

#define MP_STD_NR	3
#define MP_STD_SLOTS	14

static inline int mp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* The op @o through @cmd: 0 or -errno, the op as it came back in *@out. */
static inline int mp_op(int fd, unsigned long cmd, struct msgpool_op o,
			struct msgpool_op *out)
{
	int ret = mp_ioctl(fd, cmd, &o);

	if (out)
		*out = o;
	return ret;
}

/* An op on message @token alone: MARK_READ, DISCARD, RELEASE, FREE. */
static inline int mp_token_op(int fd, unsigned long cmd, __u64 token)
{
	return mp_op(fd, cmd, (struct msgpool_op){ .token = token }, NULL);
}

/* Makes @fd's peer a reader: 0 or -errno; its index and seq if asked. */
static inline int mp_subscribe(int fd, __u32 *reader, __u64 *seq)
{
	struct msgpool_subscribe_args s = { 0 };
	int ret = mp_ioctl(fd, MSGPOOL_IOC_SUBSCRIBE, &s);

	if (!ret && reader)
		*reader = s.reader;
	if (!ret && seq)
		*seq = s.seq;
	return ret;
}

static inline int mp_unsubscribe(int fd)
{
	return ioctl(fd, MSGPOOL_IOC_UNSUBSCRIBE) ? -errno : 0;
}

static inline int mp_take(int fd, struct msgpool_op *out)
{
	return mp_op(fd, MSGPOOL_IOC_TAKE, (struct msgpool_op){ 0 }, out);
}

static inline int mp_mark_read(int fd, __u64 token)
{
	return mp_token_op(fd, MSGPOOL_IOC_MARK_READ, token);
}

/* An fd of the device, or -errno. */
static inline int mp_open(int flags)
{
	int fd = open(MP_DEV, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* A name unique to this test process: "<test>.<pid>.<n>". */
static inline void mp_name(char *buf, const char *test)
{
	static unsigned int n;
	char base[17];
	int i;

	for (i = 0; i < 16 && test[i]; i++)
		base[i] = isalnum((unsigned char)test[i]) ? test[i] : '_';
	base[i] = '\0';
	snprintf(buf, MSGPOOL_NAME_MAX, "%s.%d.%u", base, (int)getpid(), n++);
}

/* Fills @a for an attach of @name; @nr classes from @cls on CREATE. */
static inline void mp_attach_args(struct msgpool_attach *a, const char *name,
				  __u32 flags, __u32 mode,
				  const struct msgpool_class *cls, __u32 nr)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->name, name, strnlen(name, sizeof(a->name) - 1));
	a->flags = flags;
	a->mode = mode;
	a->nr_classes = nr;
	if (nr)
		memcpy(a->classes, cls, nr * sizeof(*cls));
}

/* CREATE|EXCL @name on @fd; *@map_size gets the size to map. */
static inline int mp_create(int fd, const char *name,
			    const struct msgpool_class *cls, __u32 nr,
			    __u32 mode, __u64 *map_size)
{
	struct msgpool_attach a;
	int ret;

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       mode, cls, nr);
	ret = mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a);
	if (!ret && map_size)
		*map_size = a.map_size;
	return ret;
}

/* Plain attach of an existing pool. */
static inline int mp_join(int fd, const char *name)
{
	struct msgpool_attach a;

	mp_attach_args(&a, name, 0, 0, NULL, 0);
	return mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a);
}

/*
 * A new peer that makes the pool @a asks for under a fresh name for test
 * @test: its fd or -errno; the name in @name, @a as ATTACH left it.
 */
static inline int mp_new_attach(char *name, const char *test,
				struct msgpool_attach *a)
{
	int fd = mp_open(O_RDWR);
	int ret;

	if (fd < 0)
		return fd;
	mp_name(name, test);
	memcpy(a->name, name, strnlen(name, sizeof(a->name) - 1));
	ret = mp_ioctl(fd, MSGPOOL_IOC_ATTACH, a);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* The same for a pool of @nr classes from @cls, mode 0600. */
static inline int mp_new_pool(char *name, const char *test,
			      const struct msgpool_class *cls, __u32 nr,
			      __u64 *map_size)
{
	struct msgpool_attach a;
	int fd;

	mp_attach_args(&a, "", MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       0600, cls, nr);
	fd = mp_new_attach(name, test, &a);
	if (fd >= 0 && map_size)
		*map_size = a.map_size;
	return fd;
}

/* The same for a pool of the standard classes, of @type and @mode. */
static inline int mp_new_typed_pool(char *name, const char *test,
				    const __u8 *type, __u32 mode)
{
	struct msgpool_attach a;

	mp_attach_args(&a, "", MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       mode, mp_std, MP_STD_NR);
	memcpy(a.type_id, type, sizeof(a.type_id));
	return mp_new_attach(name, test, &a);
}

/* UNLINK of pool @name (of id @id unless 0) through @fd. */
static inline int mp_unlink_on(int fd, const char *name, __u32 id)
{
	struct msgpool_unlink_args u = { .id = id };

	snprintf(u.name, sizeof(u.name), "%s", name);
	return mp_ioctl(fd, MSGPOOL_IOC_UNLINK, &u);
}

/* The same through a file of its own, attached to no pool. */
static inline int mp_unlink(const char *name, __u32 id)
{
	int fd = mp_open(O_RDONLY), ret;

	if (fd < 0)
		return fd;
	ret = mp_unlink_on(fd, name, id);
	close(fd);
	return ret;
}

/* A new peer of pool @name opened with @flags: its fd, or -errno. */
static inline int mp_peer(const char *name, int flags)
{
	int fd = mp_open(flags);
	int ret;

	if (fd < 0)
		return fd;
	ret = mp_join(fd, name);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* The same, subscribed as a reader. */
static inline int mp_reader(const char *name, int flags)
{
	int fd = mp_peer(name, flags);
	int ret;

	if (fd < 0)
		return fd;
	ret = mp_subscribe(fd, NULL, NULL);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static inline int mp_info(int fd, struct msgpool_info *info)
{
	memset(info, 0, sizeof(*info));
	return mp_ioctl(fd, MSGPOOL_IOC_INFO, info);
}

/*
 * Tokens are the kernel's own: a test never decodes one.  A message's
 * slot is found from where it lies instead, the @offset an op returns,
 * in INFO's class table.  Returns the slot's index within its class and
 * its class in *@cls, or -1 if no slot of the pool starts at @offset.
 */
static inline long mp_slot_at(const struct msgpool_info *info, __u64 offset,
			      __u32 *cls)
{
	const struct msgpool_class_info *c;
	__u32 i;

	for (i = 0; i < info->nr_classes && i < MSGPOOL_MAX_CLASSES; i++) {
		c = &info->classes[i];
		if (!c->stride || offset < c->offset ||
		    offset >= c->offset + (__u64)c->nr_slots * c->stride)
			continue;
		if ((offset - c->offset) % c->stride)
			return -1;
		if (cls)
			*cls = i;
		return (offset - c->offset) / c->stride;
	}
	return -1;
}

/* The class of the slot at @offset, or -1 if no slot starts there. */
static inline int mp_class_at(const struct msgpool_info *info, __u64 offset)
{
	__u32 cls;

	return mp_slot_at(info, offset, &cls) < 0 ? -1 : (int)cls;
}

/* INFO of @fd, or all ones if it fails: no figure a test expects. */
static inline struct msgpool_info mp_info_of(int fd)
{
	struct msgpool_info info;

	if (mp_info(fd, &info))
		memset(&info, 0xff, sizeof(info));
	return info;
}

/* The peer id of @fd, or 0 if INFO fails. */
static inline __u32 mp_peer_id(int fd)
{
	struct msgpool_info info;

	return mp_info(fd, &info) ? 0 : info.peer_id;
}

/* Free slots of the pool, or ~0 if INFO fails. */
static inline __u64 mp_avail(int fd)
{
	struct msgpool_info info;

	return mp_info(fd, &info) ? ~0ULL : info.available;
}

static inline int mp_store(int fd, const void *buf, __u32 len, __u64 tag,
			   __u64 *token)
{
	struct msgpool_op o = {
		.len = len, .data = (uintptr_t)buf, .tag = tag,
	};
	int ret = mp_ioctl(fd, MSGPOOL_IOC_STORE, &o);

	if (!ret && token)
		*token = o.token;
	return ret;
}

/* Stores @len bytes of a fixed pattern. */
static inline int mp_store_len(int fd, __u32 len, __u64 *token)
{
	static char buf[65536];

	memset(buf, 0x5a, sizeof(buf));
	return mp_store(fd, buf, len, 0, token);
}

/* xorshift64: a stream the same on every run, and no help from the kernel. */
static inline __u64 mp_xorshift(__u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Whether mmap() takes these arguments: 0 or -errno. */
static inline int mp_map_err(int fd, __u64 off, __u64 len, int prot,
			     int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

/* The whole pool of @fd mapped shared, its size in *@size; or MAP_FAILED. */
static inline void *mp_map(int fd, int prot, __u64 *size)
{
	struct msgpool_info info;

	if (mp_info(fd, &info))
		return MAP_FAILED;
	*size = info.map_size;
	return mmap(NULL, info.map_size, prot, MAP_SHARED, fd, 0);
}

/* A payload pattern, another one for each @seed. */
static inline void mp_fill(unsigned char *p, size_t len, __u64 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 7 + i * 31);
}

static inline int mp_is_fill(const unsigned char *p, size_t len, __u64 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed * 7 + i * 31))
			return 0;
	return 1;
}

static inline int mp_loan(int fd, __u32 len, __u32 flags,
			  struct msgpool_op *out)
{
	return mp_op(fd, MSGPOOL_IOC_LOAN,
		     (struct msgpool_op){ .len = len, .flags = flags }, out);
}

static inline int mp_commit(int fd, __u64 token, __u32 len, __u64 tag)
{
	return mp_op(fd, MSGPOOL_IOC_COMMIT, (struct msgpool_op){
			.token = token, .len = len, .tag = tag }, NULL);
}

static inline int mp_publish(int fd, __u64 token, __u32 len, __u64 tag,
			     struct msgpool_op *out)
{
	return mp_op(fd, MSGPOOL_IOC_PUBLISH, (struct msgpool_op){
			.token = token, .len = len, .tag = tag }, out);
}

/* A loan of @len bytes published at once; *@seq gets its number. */
static inline int mp_post(int fd, __u32 len, __u64 tag, __u32 flags,
			  __u64 *seq)
{
	struct msgpool_op o;
	int ret = mp_loan(fd, len, flags, &o);

	if (ret)
		return ret;
	ret = mp_publish(fd, o.token, len, tag, &o);
	if (!ret && seq)
		*seq = o.seq;
	return ret;
}

static inline int mp_discard(int fd, __u64 token)
{
	return mp_token_op(fd, MSGPOOL_IOC_DISCARD, token);
}

static inline int mp_borrow(int fd, __u64 token, __u32 flags,
			    struct msgpool_op *out)
{
	return mp_op(fd, MSGPOOL_IOC_BORROW, (struct msgpool_op){
			.token = token, .flags = flags }, out);
}

static inline int mp_release(int fd, __u64 token)
{
	return mp_token_op(fd, MSGPOOL_IOC_RELEASE, token);
}

static inline int mp_release_len(int fd, __u64 token, __u32 len)
{
	return mp_op(fd, MSGPOOL_IOC_RELEASE, (struct msgpool_op){
			.token = token, .flags = MSGPOOL_F_SETLEN,
			.len = len }, NULL);
}

static inline int mp_free(int fd, __u64 token)
{
	return mp_token_op(fd, MSGPOOL_IOC_FREE, token);
}

static inline int mp_header(int fd, __u64 token, struct msgpool_op *out)
{
	return mp_op(fd, MSGPOOL_IOC_HEADER,
		     (struct msgpool_op){ .token = token }, out);
}

static inline int mp_nop(int fd)
{
	return mp_op(fd, MSGPOOL_IOC_NOP, (struct msgpool_op){ 0 }, NULL);
}

/* A module parameter as a number, or 0 if it cannot be read. */
static inline __u64 mp_param(const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), MP_PARAMS "%s", name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* 0, or -1 if the module parameter could not be written (root only). */
static inline int mp_param_set(const char *name, __u64 v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), MP_PARAMS "%s", name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	ret = fprintf(f, "%llu\n", (unsigned long long)v) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

/* Makes this process user @uid of group @gid alone: 0 or -errno. */
static inline int mp_become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/*
 * For a test of max_pools: CAP_SYS_RESOURCE would exempt root, and the
 * per-user quota would come first.  Returns the quota to restore.
 */
static inline __u64 mp_max_pools_decide(void)
{
	__u64 quota = mp_param("max_user_pools");

	if (mp_param_set("max_user_pools", mp_param("max_pools") + 1) ||
	    mp_drop_cap(CAP_SYS_RESOURCE))
		return 0;
	return quota;
}

/*
 * A child that says it is ready, loans 8 bytes of pool @arg with F_WAIT,
 * then sends the offset of the slot it got, and waits to be told to end.
 */
static inline int mp_waiting_loaner(int rd, int wr, void *arg)
{
	struct msgpool_op l;
	int fd = mp_peer(arg, O_RDWR);
	__u64 v;

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mp_send(wr, 0) == 0);
	CHILD_CHECK(mp_loan(fd, 8, MSGPOOL_F_WAIT, &l) == 0);
	CHILD_CHECK(mp_send(wr, l.offset) == 0);
	mp_recv(rd, &v);
	return 0;
}

/* poll() events of @fd within @ms, or -1. */
static inline int mp_events(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) < 0)
		return -1;
	return p.revents;
}

/* 1 if @fd has data (or EOF) to read right now, else 0. */
static inline int mp_readable(int fd)
{
	return mp_events(fd, POLLIN, 0) > 0;
}

#endif /* MSGPOOL_SELFTEST_UTIL_H */
