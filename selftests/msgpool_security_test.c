// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool against a hostile or careless peer: a read-only peer cannot
 * adopt, a peer cannot deadlock itself, waits end on any signal, an
 * O_NONBLOCK file never sleeps for a borrow, a stalled reader cannot hold
 * a pool, a squatted name is never joined by a CREATE, an attach by id
 * never joins a namesake, per-user quotas, a 0600 node, and producer pids
 * across pid namespaces.
 *
 * The unprivileged peers are children that drop to uid 65534 (or 65533)
 * after opening the device, as a launcher passing them the file would:
 * the node itself is root's.
 */
#include "msgpool_util.h"

#include <sched.h>
#include <sys/stat.h>

#define NOBODY2		65533

/*
 * A peer process of another user.  It opens USER_FILES files of the
 * device as root, drops to @uid and then does what the parent asks, one
 * request at a time, on the file the request names.
 */
#define USER_FILES	16

enum {
	RQ_ATTACH = 1,	/* attach @at; answers created and pool_id */
	RQ_CLOSE,	/* close the file */
	RQ_BORROW,	/* BORROW @token with @flags */
	RQ_BATCH,	/* BATCH of BORROW @token @flags, then a read BORROW */
	RQ_PARAM,	/* open max_user_pools for writing */
};

struct rq {
	__u32 cmd;
	__u32 file;
	__u64 token;
	__u32 flags;
	__u32 pad;
	struct msgpool_attach at;
};

struct rs {
	__s32 ret;
	__u32 created;
	__u32 pool_id;
	__u32 done;		/* RQ_BATCH: ops run */
	__s32 result[2];	/* RQ_BATCH: each op's */
};

struct user_args {
	uid_t uid;
	int oflags;
};

static void user_batch(int fd, const struct rq *q, struct rs *s)
{
	struct msgpool_op ops[2] = {
		{ .op = MSGPOOL_OP_BORROW, .flags = q->flags,
		  .token = q->token, .result = 1 },
		{ .op = MSGPOOL_OP_BORROW, .token = q->token, .result = 1 },
	};
	struct msgpool_batch_args b = {
		.ops = (uintptr_t)ops, .count = 2, .op_size = sizeof(ops[0]),
	};

	s->ret = mp_ioctl(fd, MSGPOOL_IOC_BATCH, &b);
	s->done = b.done;
	s->result[0] = ops[0].result;
	s->result[1] = ops[1].result;
}

static int user_peer(int rd, int wr, void *arg)
{
	const struct user_args *ua = arg;
	struct msgpool_info info;
	int fds[USER_FILES], i, fd;
	struct rq q;
	struct rs s;

	for (i = 0; i < USER_FILES; i++) {
		fds[i] = mp_open(ua->oflags);
		CHILD_CHECK(fds[i] >= 0);
	}
	CHILD_CHECK(mp_become(ua->uid, ua->uid) == 0);
	CHILD_CHECK(geteuid() == ua->uid);
	while (read(rd, &q, sizeof(q)) == sizeof(q)) {
		memset(&s, 0, sizeof(s));
		CHILD_CHECK(q.file < USER_FILES);
		fd = fds[q.file];
		switch (q.cmd) {
		case RQ_ATTACH:
			s.ret = mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &q.at);
			s.created = q.at.created;
			if (!s.ret && !mp_info(fd, &info))
				s.pool_id = info.pool_id;
			break;
		case RQ_CLOSE:
			s.ret = close(fd) ? -errno : 0;
			break;
		case RQ_BORROW:
			s.ret = mp_borrow(fd, q.token, q.flags, NULL);
			break;
		case RQ_BATCH:
			user_batch(fd, &q, &s);
			break;
		case RQ_PARAM:
			fd = open(MP_PARAMS "max_user_pools", O_WRONLY);
			s.ret = fd < 0 ? -errno : 0;
			if (fd >= 0)
				close(fd);
			break;
		default:
			CHILD_CHECK(0);
		}
		CHILD_CHECK(write(wr, &s, sizeof(s)) == sizeof(s));
	}
	return 0;
}

/* Runs @q in @c; its answer in *@s.  -1 if the child is gone. */
static int user_call(struct mp_child *c, struct rq *q, struct rs *s)
{
	if (write(c->wr, q, sizeof(*q)) != sizeof(*q) ||
	    read(c->rd, s, sizeof(*s)) != sizeof(*s))
		return -1;
	return 0;
}

/* Asks @c to attach file @file to @name; the attach's result. */
static int user_attach(struct mp_child *c, __u32 file, const char *name,
		       __u32 flags, __u32 mode,
		       const struct msgpool_class *cls, __u32 nr,
		       struct rs *s)
{
	struct rq q = { .cmd = RQ_ATTACH, .file = file };

	mp_attach_args(&q.at, name, flags, mode, cls, nr);
	if (user_call(c, &q, s))
		return -ECHILD;
	return s->ret;
}

/* Asks @c to create a fresh pool of @nr slots of @size bytes on @file. */
static int user_create(struct mp_child *c, __u32 file, __u32 size, __u32 nr)
{
	const struct msgpool_class cls = { .slot_size = size, .nr_slots = nr };
	char name[MSGPOOL_NAME_MAX];
	struct rs s;

	mp_name(name, "quota");
	return user_attach(c, file, name,
			   MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL, 0600,
			   &cls, 1, &s);
}

static int user_simple(struct mp_child *c, __u32 cmd, __u32 file)
{
	struct rq q = { .cmd = cmd, .file = file };
	struct rs s;

	if (user_call(c, &q, &s))
		return -ECHILD;
	return s.ret;
}

/* Kills and reaps @c if it was started; its status. */
static int child_stop(struct mp_child *c)
{
	int ret = 0;

	if (c->pid > 0)
		ret = mp_kill(c);
	c->pid = 0;
	return ret;
}

/*
 * Read-only peers: MSGPOOL_F_ADOPT would make the peer the message's
 * owner, the one whose close frees it.  A peer opened O_RDONLY, here of a
 * user the pool's mode only lets read, fails with -EBADF alone and in a
 * batch; the message outlives that peer and is still its writer's.
 */
TEST(ro_peer_cannot_adopt)
{
	static const __u32 refused[] = {
		MSGPOOL_F_ADOPT, MSGPOOL_F_ADOPT | MSGPOOL_F_NONBLOCK,
		MSGPOOL_F_WRITE,
	};
	struct user_args ua = { .uid = NOBODY, .oflags = O_RDONLY };
	char name[MSGPOOL_NAME_MAX];
	struct mp_child c = { 0 };
	struct msgpool_op o;
	struct rq q = { .cmd = RQ_BORROW };
	struct rs s;
	int fd = mp_open(O_RDWR);
	unsigned int i;
	__u64 tok;

	if (geteuid())
		SKIP(return, "needs root to switch users");
	ASSERT_GE(fd, 0);
	mp_name(name, "adopt");
	ASSERT_EQ(mp_create(fd, name, mp_std, MP_STD_NR, 0644, NULL), 0);
	ASSERT_EQ(mp_store_len(fd, 16, &tok), 0);

	ASSERT_EQ(mp_spawn(&c, user_peer, &ua), 0);
	ASSERT_EQ(user_attach(&c, 0, name, 0, 0, NULL, 0, &s), 0);
	q.token = tok;
	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		q.flags = refused[i];
		ASSERT_EQ(user_call(&c, &q, &s), 0);
		EXPECT_EQ(s.ret, -EBADF) TH_LOG("flags %#x", q.flags);
	}
	/* In a batch: that op fails, the read borrow after it runs. */
	q.cmd = RQ_BATCH;
	q.flags = MSGPOOL_F_ADOPT;
	ASSERT_EQ(user_call(&c, &q, &s), 0);
	EXPECT_EQ(s.ret, 0);
	EXPECT_EQ(s.done, 2);
	EXPECT_EQ(s.result[0], -EBADF);
	EXPECT_EQ(s.result[1], 0);
	/* The peer goes, with the read borrow it holds. */
	EXPECT_EQ(user_simple(&c, RQ_CLOSE, 0), 0);
	EXPECT_EQ(mp_reap(&c), 0);

	/* Had it adopted the message, its close would have freed it. */
	EXPECT_EQ(mp_header(fd, tok, &o), 0);
	EXPECT_EQ(o.len, 16);
	EXPECT_EQ(mp_borrow(fd, tok, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK, &o),
		  0);
	EXPECT_EQ(mp_release(fd, tok), 0);
	EXPECT_EQ(mp_free(fd, tok), 0);
	EXPECT_EQ(mp_avail(fd), MP_STD_SLOTS);
	close(fd);
}

/*
 * A borrow that only the caller itself could unblock fails with -EDEADLK
 * and never sleeps: a hang here is the harness's timeout.
 */
TEST(borrow_self_deadlock)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_op loan, o;
	int fd = mp_new_pool(name, "deadlk", mp_std, MP_STD_NR, NULL);
	__u64 tok;

	ASSERT_GE(fd, 0);

	/* Its own loan. */
	ASSERT_EQ(mp_loan(fd, 16, 0, &loan), 0);
	EXPECT_EQ(mp_borrow(fd, loan.token, 0, NULL), -EDEADLK);
	EXPECT_EQ(mp_borrow(fd, loan.token, MSGPOOL_F_WRITE, NULL), -EDEADLK);
	EXPECT_EQ(mp_borrow(fd, loan.token, MSGPOOL_F_ADOPT, NULL), -EDEADLK);
	ASSERT_EQ(mp_commit(fd, loan.token, 16, 7), 0);
	tok = loan.token;

	/* Its own write borrow, against a read or another write borrow. */
	ASSERT_EQ(mp_borrow(fd, tok, MSGPOOL_F_WRITE, NULL), 0);
	EXPECT_EQ(mp_borrow(fd, tok, 0, NULL), -EDEADLK);
	EXPECT_EQ(mp_borrow(fd, tok, MSGPOOL_F_WRITE, NULL), -EDEADLK);
	ASSERT_EQ(mp_release(fd, tok), 0);

	/* Its own read borrows, against a write borrow. */
	ASSERT_EQ(mp_borrow(fd, tok, 0, NULL), 0);
	ASSERT_EQ(mp_borrow(fd, tok, 0, NULL), 0);
	EXPECT_EQ(mp_borrow(fd, tok, MSGPOOL_F_WRITE, NULL), -EDEADLK);
	ASSERT_EQ(mp_release(fd, tok), 0);
	EXPECT_EQ(mp_borrow(fd, tok, MSGPOOL_F_WRITE, NULL), -EDEADLK);
	ASSERT_EQ(mp_release(fd, tok), 0);

	/* Nothing was left behind: the slot is free to borrow again. */
	EXPECT_EQ(mp_borrow(fd, tok, MSGPOOL_F_WRITE, &o), 0);
	EXPECT_EQ(o.tag, 7);
	EXPECT_EQ(mp_release(fd, tok), 0);
	close(fd);
}

/* Another peer's borrow is a wait that can end: -EBUSY, not -EDEADLK. */
TEST(borrow_other_peer_busy)
{
	char name[MSGPOOL_NAME_MAX];
	int a = mp_new_pool(name, "busy", mp_std, MP_STD_NR, NULL), b;
	__u64 tok;

	ASSERT_GE(a, 0);
	b = mp_peer(name, O_RDWR);
	ASSERT_GE(b, 0);
	ASSERT_EQ(mp_store_len(a, 16, &tok), 0);

	ASSERT_EQ(mp_borrow(b, tok, MSGPOOL_F_WRITE, NULL), 0);
	EXPECT_EQ(mp_borrow(a, tok, MSGPOOL_F_NONBLOCK, NULL), -EBUSY);
	EXPECT_EQ(mp_borrow(a, tok, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK,
			    NULL), -EBUSY);
	ASSERT_EQ(mp_release(b, tok), 0);

	/* Another peer's read borrow against a write borrow. */
	ASSERT_EQ(mp_borrow(b, tok, 0, NULL), 0);
	EXPECT_EQ(mp_borrow(a, tok, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK,
			    NULL), -EBUSY);
	/* Own and another's read borrows: still the caller's deadlock. */
	ASSERT_EQ(mp_borrow(a, tok, 0, NULL), 0);
	EXPECT_EQ(mp_borrow(a, tok, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK,
			    NULL), -EDEADLK);
	ASSERT_EQ(mp_release(a, tok), 0);
	ASSERT_EQ(mp_release(b, tok), 0);
	EXPECT_EQ(mp_borrow(a, tok, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK,
			    NULL), 0);
	EXPECT_EQ(mp_release(a, tok), 0);
	close(b);
	close(a);
}

/*
 * Waits end on any signal.  A child waits in LOAN for a slot of a full
 * pool, or in BORROW for another peer's write borrow, and gets a SIGTERM
 * it handles.  Without SA_RESTART the ioctl fails with EINTR; with it the
 * ioctl waits again and completes once the slot is free.
 */
#define SIG_READY	0x5245414459ULL
#define SIG_SEEN	0x5349474eULL

static int sig_wr = -1;

static void sig_note(int sig)
{
	int saved = errno;

	(void)sig;
	mp_send(sig_wr, SIG_SEEN);
	errno = saved;
}

struct sig_args {
	const char *name;
	__u64 token;		/* 0: LOAN, else BORROW of it */
	bool restart;
};

static int sig_waiter(int rd, int wr, void *arg)
{
	const struct sig_args *sa = arg;
	struct sigaction act = { .sa_handler = sig_note };
	int fd = mp_peer(sa->name, O_RDWR), ret;
	__u64 v;

	CHILD_CHECK(fd >= 0);
	sig_wr = wr;
	sigemptyset(&act.sa_mask);
	act.sa_flags = sa->restart ? SA_RESTART : 0;
	CHILD_CHECK(!sigaction(SIGTERM, &act, NULL));
	CHILD_CHECK(!mp_send(wr, SIG_READY));
	if (sa->token)
		ret = mp_borrow(fd, sa->token, 0, NULL);
	else
		ret = mp_loan(fd, 16, MSGPOOL_F_WAIT, NULL);
	CHILD_CHECK(!mp_send(wr, (__u64)(__s64)ret));
	/* Hold what it got until the parent has looked. */
	mp_recv(rd, &v);
	return 0;
}

FIXTURE(sigwait) {
	char name[MSGPOOL_NAME_MAX];
	int fd;
	__u64 tok[2];
	struct mp_child c;
};

FIXTURE_VARIANT(sigwait) {
	bool borrow;
	bool restart;
};

FIXTURE_VARIANT_ADD(sigwait, loan_eintr) { false, false };
FIXTURE_VARIANT_ADD(sigwait, borrow_eintr) { true, false };
FIXTURE_VARIANT_ADD(sigwait, loan_restart) { false, true };
FIXTURE_VARIANT_ADD(sigwait, borrow_restart) { true, true };

/* A backpressure pool of two slots, full; or a message write-borrowed. */
FIXTURE_SETUP(sigwait)
{
	static const struct msgpool_class two = { 64, 2 };

	self->fd = mp_new_pool(self->name, "sig", &two, 1, NULL);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(mp_store_len(self->fd, 8, &self->tok[0]), 0);
	if (variant->borrow) {
		ASSERT_EQ(mp_borrow(self->fd, self->tok[0], MSGPOOL_F_WRITE,
				    NULL), 0);
	} else {
		ASSERT_EQ(mp_store_len(self->fd, 8, &self->tok[1]), 0);
		ASSERT_EQ(mp_avail(self->fd), 0);
	}
}

FIXTURE_TEARDOWN(sigwait)
{
	child_stop(&self->c);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(sigwait, ends)
{
	struct sig_args sa = {
		.name = self->name, .restart = variant->restart,
		.token = variant->borrow ? self->tok[0] : 0,
	};
	__u64 v;

	ASSERT_EQ(mp_spawn(&self->c, sig_waiter, &sa), 0);
	ASSERT_EQ(mp_recv(self->c.rd, &v), 0);
	ASSERT_EQ(v, SIG_READY);
	ASSERT_EQ(mp_wait_sleeping(self->c.pid), 0);
	/* An interruptible sleep, not a killable one ('D'). */
	EXPECT_EQ(mp_task_state(self->c.pid), 'S');
	ASSERT_EQ(kill(self->c.pid, SIGTERM), 0);
	ASSERT_EQ(mp_recv(self->c.rd, &v), 0);
	ASSERT_EQ(v, SIG_SEEN);

	if (!variant->restart) {
		ASSERT_EQ(mp_recv(self->c.rd, &v), 0);
		EXPECT_EQ((int)v, -EINTR);
	} else {
		/* Restarted: it sleeps again, nothing came back. */
		ASSERT_EQ(mp_wait_sleeping(self->c.pid), 0);
		EXPECT_FALSE(mp_readable(self->c.rd));
		if (variant->borrow) {
			ASSERT_EQ(mp_release(self->fd, self->tok[0]), 0);
		} else {
			ASSERT_EQ(mp_free(self->fd, self->tok[0]), 0);
		}
		ASSERT_EQ(mp_recv(self->c.rd, &v), 0);
		EXPECT_EQ((int)v, 0);
	}
	ASSERT_EQ(mp_send(self->c.wr, 0), 0);
	EXPECT_EQ(mp_reap(&self->c), 0);
	self->c.pid = 0;
}

/* An O_NONBLOCK file never sleeps for a borrow: -EBUSY at once. */
TEST(nonblock_file_borrow)
{
	char name[MSGPOOL_NAME_MAX];
	int a = mp_new_pool(name, "nonblock", mp_std, MP_STD_NR, NULL), b, nb;
	__u64 tok;

	ASSERT_GE(a, 0);
	b = mp_peer(name, O_RDWR);
	ASSERT_GE(b, 0);
	nb = mp_peer(name, O_RDWR | O_NONBLOCK);
	ASSERT_GE(nb, 0);
	ASSERT_EQ(mp_store_len(a, 16, &tok), 0);

	ASSERT_EQ(mp_borrow(b, tok, MSGPOOL_F_WRITE, NULL), 0);
	EXPECT_EQ(mp_borrow(nb, tok, 0, NULL), -EBUSY);
	EXPECT_EQ(mp_borrow(nb, tok, MSGPOOL_F_WRITE, NULL), -EBUSY);
	ASSERT_EQ(mp_release(b, tok), 0);
	EXPECT_EQ(mp_borrow(nb, tok, 0, NULL), 0);
	EXPECT_EQ(mp_release(nb, tok), 0);
	close(nb);
	close(b);
	close(a);
}

/*
 * A reader that never takes holds at most reader_limit slots: the writer
 * of a backpressure pool never runs out, the reader learns what it lost.
 */
TEST(reader_limit)
{
	static const struct msgpool_class four = { 64, 4 };
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_attach at;
	struct msgpool_info info;
	struct msgpool_op o;
	int w, r, i;

	mp_attach_args(&at, "", MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
		       0600, &four, 1);
	at.reader_limit = 2;
	w = mp_new_attach(name, "limit", &at);
	ASSERT_GE(w, 0);
	r = mp_peer(name, O_RDONLY);
	ASSERT_GE(r, 0);
	ASSERT_EQ(mp_info(r, &info), 0);
	EXPECT_EQ(info.reader_limit, 2);
	EXPECT_EQ(info.pool_flags, 0);
	ASSERT_EQ(mp_subscribe(r, NULL, NULL), 0);

	for (i = 1; i <= 10; i++)
		ASSERT_EQ(mp_post(w, 8, 100 + i, 0, NULL), 0)
			TH_LOG("publish %d", i);
	EXPECT_EQ(mp_avail(w), 2);

	ASSERT_EQ(mp_take(r, &o), 0);
	EXPECT_EQ(o.lost, 8);
	EXPECT_EQ(o.tag, 109);
	EXPECT_EQ(mp_mark_read(r, o.token), 0);
	ASSERT_EQ(mp_take(r, &o), 0);
	EXPECT_EQ(o.lost, 0);
	EXPECT_EQ(o.tag, 110);
	EXPECT_EQ(mp_mark_read(r, o.token), 0);
	EXPECT_EQ(mp_take(r, &o), -EAGAIN);
	EXPECT_EQ(mp_avail(w), 4);

	/* The limit is the creator's: not for an attach to set. */
	close(r);
	r = mp_open(O_RDONLY);
	ASSERT_GE(r, 0);
	mp_attach_args(&at, name, 0, 0, NULL, 0);
	at.reader_limit = 2;
	EXPECT_EQ(mp_ioctl(r, MSGPOOL_IOC_ATTACH, &at), -EINVAL);
	close(r);
	close(w);
}

/*
 * A name another user took first is never joined by a CREATE: root's
 * create-or-join with its own mode 0600 fails with EEXIST and leaves it
 * unattached.  A plain attach, which asks to join, works; the squatter's
 * own CREATE joins its pool.
 */
TEST(create_never_joins_squatted_name)
{
	struct user_args ua = { .uid = NOBODY, .oflags = O_RDWR };
	char name[MSGPOOL_NAME_MAX];
	struct mp_child c = { 0 };
	struct msgpool_info info;
	struct msgpool_attach at;
	int fd = mp_open(O_RDWR);
	struct rs s;
	__u32 id;

	if (geteuid())
		SKIP(return, "needs root to switch users");
	ASSERT_GE(fd, 0);
	mp_name(name, "squat");
	ASSERT_EQ(mp_spawn(&c, user_peer, &ua), 0);
	ASSERT_EQ(user_attach(&c, 0, name,
			      MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL,
			      0666, mp_std, MP_STD_NR, &s), 0);
	EXPECT_EQ(s.created, 1);
	id = s.pool_id;
	ASSERT_NE(id, 0);
	/* The same user's CREATE joins its own pool. */
	ASSERT_EQ(user_attach(&c, 1, name, MSGPOOL_ATTACH_CREATE, 0666,
			      mp_std, MP_STD_NR, &s), 0);
	EXPECT_EQ(s.created, 0);
	EXPECT_EQ(s.pool_id, id);

	mp_attach_args(&at, name, MSGPOOL_ATTACH_CREATE, 0600, mp_std,
		       MP_STD_NR);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &at), -EEXIST);
	EXPECT_EQ(mp_info(fd, &info), -ENOTCONN);
	/* Asked to join, it joins. */
	EXPECT_EQ(mp_join(fd, name), 0);
	EXPECT_EQ(mp_info_of(fd).pool_id, id);
	EXPECT_EQ(mp_reap(&c), 0);
	close(fd);
}

static int attach_id(int fd, const char *name, __u32 flags, __u32 id)
{
	struct msgpool_attach at;

	mp_attach_args(&at, name, flags, flags ? 0600 : 0, mp_std,
		       flags ? MP_STD_NR : 0);
	at.id = id;
	return mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &at);
}

/* An attach by id never joins a pool that merely has the same name. */
TEST(attach_by_id)
{
	char name[MSGPOOL_NAME_MAX];
	int old = mp_new_pool(name, "byid", mp_std, MP_STD_NR, NULL);
	int new = mp_open(O_RDWR), fd, old_id, new_id;

	ASSERT_GE(old, 0);
	ASSERT_GE(new, 0);
	old_id = mp_info_of(old).pool_id;
	ASSERT_GT(old_id, 0);
	ASSERT_EQ(mp_unlink(name, 0), 0);
	ASSERT_EQ(mp_create(new, name, mp_std, MP_STD_NR, 0600, NULL), 0);
	new_id = mp_info_of(new).pool_id;
	ASSERT_GT(new_id, 0);
	ASSERT_NE(new_id, old_id);

	fd = mp_open(O_RDWR);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(attach_id(fd, name, 0, old_id), -ENOENT);
	EXPECT_EQ(attach_id(fd, name, MSGPOOL_ATTACH_CREATE, new_id), -EINVAL);
	EXPECT_EQ(attach_id(fd, name, MSGPOOL_ATTACH_CREATE, old_id), -EINVAL);
	/* Nor does an unlink by id. */
	EXPECT_EQ(mp_unlink(name, old_id), -ENOENT);
	EXPECT_EQ(attach_id(fd, name, 0, new_id), 0);
	EXPECT_EQ(mp_info_of(fd).pool_id, new_id);
	close(fd);
	close(new);
	close(old);
}

/*
 * Slots name their owner by peer id: a new peer that got a live peer's id
 * would have that peer's messages freed at its own close.  Peers come and
 * go around a long-lived one; no newcomer gets its id, and the live ones
 * never share one.
 */
#define ID_ROUNDS	2000
#define ID_LIVE		8

TEST(peer_ids_not_reused_while_alive)
{
	char name[MSGPOOL_NAME_MAX];
	int elder = mp_new_pool(name, "ids", mp_std, MP_STD_NR, NULL);
	int live[ID_LIVE], i, j, k, clashes = 0;
	__u32 ids[ID_LIVE], elder_id;
	__u64 t;

	ASSERT_GE(elder, 0);
	ASSERT_EQ(mp_store(elder, "x", 1, 0, &t), 0);
	elder_id = mp_peer_id(elder);
	ASSERT_NE(elder_id, 0);
	for (i = 0; i < ID_LIVE; i++)
		live[i] = -1;
	for (i = 0; i < ID_ROUNDS; i++) {
		k = i % ID_LIVE;
		if (live[k] >= 0)
			close(live[k]);
		live[k] = mp_peer(name, O_RDWR);
		ASSERT_GE(live[k], 0);
		ids[k] = mp_peer_id(live[k]);
		clashes += ids[k] == elder_id;
		for (j = 0; j < ID_LIVE && j <= i; j++)
			clashes += j != k && ids[j] == ids[k];
	}
	EXPECT_EQ(clashes, 0);
	for (i = 0; i < ID_LIVE; i++)
		close(live[i]);
	/* Nobody's close took the elder's message with it. */
	EXPECT_EQ(mp_header(elder, t, NULL), 0);
	close(elder);
}

/*
 * Pools whose ids are 32 apart (what a 5-bit pool tag could not tell
 * apart), each with one message in the same slot of the same shape, after
 * the same history: no pool accepts another's token, by any op.
 */
#define TOKEN_POOLS	40

static int op_on(int fd, __u64 token)
{
	int ret = mp_header(fd, token, NULL);

	if (ret != -ESTALE && ret != -EINVAL)
		return ret;
	ret = mp_borrow(fd, token, MSGPOOL_F_NONBLOCK, NULL);
	if (ret != -ESTALE && ret != -EINVAL)
		return ret;
	ret = mp_free(fd, token);
	return ret == -ESTALE || ret == -EINVAL ? -ESTALE : ret;
}

TEST(token_of_any_other_pool_refused)
{
	static const struct msgpool_class one[] = { { 64, 1 } };
	int fds[TOKEN_POOLS], i, j, wrong = 0;
	char name[MSGPOOL_NAME_MAX];
	__u64 tokens[TOKEN_POOLS];

	for (i = 0; i < TOKEN_POOLS; i++) {
		fds[i] = mp_new_pool(name, "tok", one, 1, NULL);
		ASSERT_GE(fds[i], 0);
		ASSERT_EQ(mp_store(fds[i], "x", 1, 0, &tokens[i]), 0);
	}
	for (i = 0; i < TOKEN_POOLS; i++)
		for (j = 0; j < TOKEN_POOLS; j++)
			if (i != j && op_on(fds[i], tokens[j]) != -ESTALE)
				wrong++;
	EXPECT_EQ(wrong, 0);
	for (i = 0; i < TOKEN_POOLS; i++) {
		EXPECT_EQ(mp_header(fds[i], tokens[i], NULL), 0);
		close(fds[i]);
	}
}

/*
 * A full pool and 2^18 guesses, the likeliest tokens of a plain layout
 * first (small generations over every pool tag and index): none names a
 * live message.  When tokens were laid out so, 256 of them did.  Root
 * creates these pools, exempt from the per-user quota.
 */
TEST(live_token_not_guessed)
{
	static const struct msgpool_class cls[] = { { 64, 256 } };
	__u64 x = 0x9e3779b97f4a7c15ULL, guess, t;
	char name[MSGPOOL_NAME_MAX];
	int fd = mp_new_pool(name, "guess", cls, 1, NULL), i, hits = 0;

	ASSERT_GE(fd, 0);
	for (i = 0; i < 256; i++)
		ASSERT_EQ(mp_store(fd, "x", 1, 0, &t), 0);
	for (i = 0; i < 1 << 18; i++) {
		mp_xorshift(&x);
		/* generation 1..4, pool tag 0..31, index 0..255, then any */
		guess = i < 32768 ? (__u64)(i / 8192 + 1) << 32 |
				    (__u64)(i / 256 % 32) << 27 | (i % 256) : x;
		hits += !mp_header(fd, guess, NULL);
	}
	EXPECT_EQ(hits, 0);
	close(fd);
}

/*
 * Per-user quotas, module parameters root may change at run time.  The
 * fixture puts them back however the test ends.
 */
FIXTURE(quota) {
	__u64 pools;
	__u64 bytes;
	struct mp_child a, b;
	int fd;
};

FIXTURE_SETUP(quota)
{
	self->fd = -1;
	ASSERT_EQ(access(MP_PARAMS "max_user_pools", R_OK), 0);
	ASSERT_EQ(access(MP_PARAMS "max_user_bytes", R_OK), 0);
	self->pools = mp_param("max_user_pools");
	self->bytes = mp_param("max_user_bytes");
}

FIXTURE_TEARDOWN(quota)
{
	child_stop(&self->a);
	child_stop(&self->b);
	if (self->fd >= 0)
		close(self->fd);
	if (geteuid())
		return;
	EXPECT_EQ(mp_param_set("max_user_pools", self->pools), 0);
	EXPECT_EQ(mp_param_set("max_user_bytes", self->bytes), 0);
}

TEST_F(quota, pools)
{
	struct user_args nobody = { .uid = NOBODY, .oflags = O_RDWR };
	struct user_args other = { .uid = NOBODY2, .oflags = O_RDWR };
	char name[MSGPOOL_NAME_MAX];
	int i;

	if (geteuid())
		SKIP(return, "needs root to switch users and set quotas");
	ASSERT_EQ(mp_param_set("max_user_pools", 3), 0);
	ASSERT_EQ(mp_param("max_user_pools"), 3);
	ASSERT_EQ(mp_spawn(&self->a, user_peer, &nobody), 0);
	/* Root's to set, not the user's. */
	EXPECT_EQ(user_simple(&self->a, RQ_PARAM, 0), -EACCES);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(user_create(&self->a, i, 64, 4), 0)
			TH_LOG("pool %d", i);
	EXPECT_EQ(user_create(&self->a, 3, 64, 4), -EDQUOT);

	/* The quota is the user's: root and another user still create. */
	self->fd = mp_new_pool(name, "root", mp_std, MP_STD_NR, NULL);
	EXPECT_GE(self->fd, 0);
	ASSERT_EQ(mp_spawn(&self->b, user_peer, &other), 0);
	EXPECT_EQ(user_create(&self->b, 0, 64, 4), 0);
	EXPECT_EQ(user_create(&self->b, 1, 64, 4), 0);
	EXPECT_EQ(mp_reap(&self->b), 0);
	self->b.pid = 0;

	/* A pool closed is a place given back; all of them, all places. */
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 0), 0);
	EXPECT_EQ(user_create(&self->a, 3, 64, 4), 0);
	EXPECT_EQ(user_create(&self->a, 4, 64, 4), -EDQUOT);
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 1), 0);
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 2), 0);
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 3), 0);
	for (i = 4; i < 7; i++)
		EXPECT_EQ(user_create(&self->a, i, 64, 4), 0)
			TH_LOG("pool %d", i);
	EXPECT_EQ(user_create(&self->a, 7, 64, 4), -EDQUOT);

	/* Lowered below what the user has: no new pool, the old ones live. */
	ASSERT_EQ(mp_param_set("max_user_pools", 1), 0);
	EXPECT_EQ(user_create(&self->a, 8, 64, 4), -EDQUOT);
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 4), 0);
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 5), 0);
	EXPECT_EQ(user_create(&self->a, 9, 64, 4), -EDQUOT);
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 6), 0);
	EXPECT_EQ(user_create(&self->a, 10, 64, 4), 0);
}

TEST_F(quota, bytes)
{
	struct user_args nobody = { .uid = NOBODY, .oflags = O_RDWR };
	const struct msgpool_class big = { 4096, 512 };
	char name[MSGPOOL_NAME_MAX];

	if (geteuid())
		SKIP(return, "needs root to switch users and set quotas");
	ASSERT_EQ(mp_param_set("max_user_bytes", 1048576), 0);
	ASSERT_EQ(mp_param("max_user_bytes"), 1048576);
	ASSERT_EQ(mp_spawn(&self->a, user_peer, &nobody), 0);

	/* 2 MiB of payload. */
	EXPECT_EQ(user_create(&self->a, 0, 4096, 512), -EDQUOT);
	/* 512 KiB of payload, but 8192 slots of kernel metadata. */
	EXPECT_EQ(user_create(&self->a, 0, 64, 8192), -EDQUOT);
	/* More payload, 144 slots: fits. */
	EXPECT_EQ(user_create(&self->a, 0, 4096, 144), 0);
	/* Its bytes count: a second one does not. */
	EXPECT_EQ(user_create(&self->a, 1, 4096, 144), -EDQUOT);
	/* Root is not held to it. */
	self->fd = mp_new_pool(name, "root", &big, 1, NULL);
	EXPECT_GE(self->fd, 0);
	/* Closed, its bytes are given back. */
	EXPECT_EQ(user_simple(&self->a, RQ_CLOSE, 0), 0);
	EXPECT_EQ(user_create(&self->a, 1, 4096, 144), 0);
}

/*
 * The module makes its node 0600: only the udev rule opens it to a group.
 * Where udev runs, the rule decides.
 */
static int open_as_nobody(int rd, int wr, void *arg)
{
	(void)rd;
	(void)arg;
	CHILD_CHECK(mp_become(NOBODY, NOBODY) == 0);
	CHILD_CHECK(!mp_send(wr, (__u64)(__s64)mp_open(O_RDONLY)));
	return 0;
}

TEST(node_mode)
{
	struct mp_child c = { 0 };
	struct stat st;
	__u64 v;

	if (!access("/run/udev/control", F_OK))
		SKIP(return, "udev manages %s", MP_DEV);
	ASSERT_EQ(stat(MP_DEV, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0600);
	EXPECT_EQ(st.st_uid, 0);
	if (geteuid())
		return;
	ASSERT_EQ(mp_spawn(&c, open_as_nobody, NULL), 0);
	ASSERT_EQ(mp_recv(c.rd, &v), 0);
	EXPECT_EQ((int)v, -EACCES);
	EXPECT_EQ(mp_reap(&c), 0);
}

/*
 * Producer pids across pid namespaces.  A child enters a new pid
 * namespace (its children do) and forks a grandchild, pid 1 there.
 */
struct pidns_args {
	const char *name;
	__u64 token;	/* the parent's message, 0 for none */
};

/* Stores a message as pid 1; sends its pid outside, then the token. */
static int pidns_producer(int rd, int wr, void *arg)
{
	const struct pidns_args *pa = arg;
	int fd = mp_peer(pa->name, O_RDWR), p[2], status;
	struct msgpool_op h;
	__u64 tok, v;
	pid_t pid;

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!pipe(p));
	CHILD_CHECK(!unshare(CLONE_NEWPID));
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (!pid) {
		CHILD_CHECK(getpid() == 1);
		CHILD_CHECK(!mp_store_len(fd, 8, &tok));
		/* In its own namespace, it is 1. */
		CHILD_CHECK(!mp_header(fd, tok, &h));
		CHILD_CHECK(h.producer == 1);
		CHILD_CHECK(!mp_send(p[1], tok));
		/* Alive until the parent has read the header. */
		mp_recv(rd, &v);
		_exit(0);
	}
	CHILD_CHECK(!mp_recv(p[0], &tok));
	CHILD_CHECK(!mp_send(wr, pid));
	CHILD_CHECK(!mp_send(wr, tok));
	CHILD_CHECK(waitpid(pid, &status, 0) == pid);
	CHILD_CHECK(WIFEXITED(status) && !WEXITSTATUS(status));
	return 0;
}

/* Reads the header of the parent's message from inside; sends producer. */
static int pidns_reader(int rd, int wr, void *arg)
{
	const struct pidns_args *pa = arg;
	int fd = mp_peer(pa->name, O_RDONLY), status;
	struct msgpool_op h;
	pid_t pid;

	(void)rd;
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!unshare(CLONE_NEWPID));
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (!pid) {
		CHILD_CHECK(getpid() == 1);
		CHILD_CHECK(!mp_header(fd, pa->token, &h));
		CHILD_CHECK(!mp_borrow(fd, pa->token, 0, &h));
		CHILD_CHECK(!mp_send(wr, h.producer));
		_exit(0);
	}
	CHILD_CHECK(waitpid(pid, &status, 0) == pid);
	CHILD_CHECK(WIFEXITED(status) && !WEXITSTATUS(status));
	return 0;
}

TEST(pidns_producer_seen_from_outside)
{
	struct pidns_args pa = { 0 };
	char name[MSGPOOL_NAME_MAX];
	struct mp_child c = { 0 };
	int fd = mp_new_pool(name, "pidns", mp_std, MP_STD_NR, NULL);
	struct msgpool_op h;
	__u64 pid, tok;

	if (geteuid())
		SKIP(return, "needs root for a pid namespace");
	ASSERT_GE(fd, 0);
	pa.name = name;
	ASSERT_EQ(mp_spawn(&c, pidns_producer, &pa), 0);
	ASSERT_EQ(mp_recv(c.rd, &pid), 0);
	ASSERT_EQ(mp_recv(c.rd, &tok), 0);
	ASSERT_EQ(mp_header(fd, tok, &h), 0);
	EXPECT_EQ(h.producer, pid);
	EXPECT_NE(h.producer, 1);
	ASSERT_EQ(mp_send(c.wr, 0), 0);
	EXPECT_EQ(mp_reap(&c), 0);
	close(fd);
}

TEST(pidns_outside_producer_hidden)
{
	struct pidns_args pa = { 0 };
	char name[MSGPOOL_NAME_MAX];
	struct mp_child c = { 0 };
	int fd = mp_new_pool(name, "pidns", mp_std, MP_STD_NR, NULL);
	struct msgpool_op h;
	__u64 producer;

	if (geteuid())
		SKIP(return, "needs root for a pid namespace");
	ASSERT_GE(fd, 0);
	ASSERT_EQ(mp_store_len(fd, 8, &pa.token), 0);
	ASSERT_EQ(mp_header(fd, pa.token, &h), 0);
	EXPECT_EQ(h.producer, getpid());
	pa.name = name;
	ASSERT_EQ(mp_spawn(&c, pidns_reader, &pa), 0);
	ASSERT_EQ(mp_recv(c.rd, &producer), 0);
	EXPECT_EQ(producer, 0);
	EXPECT_EQ(mp_reap(&c), 0);
	close(fd);
}

/*
 * A protected pool: a slot is writable through the mapping only to the
 * peer that holds it, only while it holds it.
 */
static const struct msgpool_class paged[] = { { 4096, 4 } };

static int prot_create(int fd, const char *name)
{
	struct msgpool_attach a;

	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL |
		       MSGPOOL_ATTACH_PROTECTED, 0600, paged, 1);
	return mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a);
}

/* 1 if a write to @p, from a child of this process, dies of SIGBUS. */
static int write_faults(volatile char *p)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		*p = 'x';
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
}

TEST(protected_pool_shape)
{
	static const struct msgpool_class small[] = { { 64, 4 } };
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_attach a;
	struct msgpool_info info;
	int fd = mp_open(O_RDWR);

	ASSERT_GE(fd, 0);
	mp_name(name, "prot");
	/* Slots of whole pages only, and only at create. */
	mp_attach_args(&a, name, MSGPOOL_ATTACH_CREATE |
		       MSGPOOL_ATTACH_PROTECTED, 0600, small, 1);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a), -EINVAL);
	mp_attach_args(&a, name, MSGPOOL_ATTACH_PROTECTED, 0, NULL, 0);
	EXPECT_EQ(mp_ioctl(fd, MSGPOOL_IOC_ATTACH, &a), -EINVAL);
	ASSERT_EQ(prot_create(fd, name), 0);
	ASSERT_EQ(mp_info(fd, &info), 0);
	EXPECT_EQ(info.pool_flags, MSGPOOL_ATTACH_PROTECTED);
	EXPECT_EQ(info.classes[0].stride, 4096);
	close(fd);
}

FIXTURE(prot) {
	int a, b;
	char *map_a, *map_b;
	__u64 size;
};

FIXTURE_SETUP(prot)
{
	char name[MSGPOOL_NAME_MAX];

	self->a = mp_open(O_RDWR);
	ASSERT_GE(self->a, 0);
	mp_name(name, "prot");
	ASSERT_EQ(prot_create(self->a, name), 0);
	self->b = mp_peer(name, O_RDWR);
	ASSERT_GE(self->b, 0);
	self->map_a = mp_map(self->a, PROT_READ | PROT_WRITE, &self->size);
	self->map_b = mp_map(self->b, PROT_READ | PROT_WRITE, &self->size);
	ASSERT_NE(self->map_a, MAP_FAILED);
	ASSERT_NE(self->map_b, MAP_FAILED);
}

FIXTURE_TEARDOWN(prot)
{
	munmap(self->map_a, self->size);
	munmap(self->map_b, self->size);
	close(self->a);
	close(self->b);
}

TEST_F(prot, loan_writable_to_its_holder_only)
{
	struct msgpool_op l;

	ASSERT_EQ(mp_loan(self->a, 100, 0, &l), 0);
	self->map_a[l.offset] = 'a';		/* the holder writes */
	EXPECT_EQ(self->map_b[l.offset], 'a');	/* the others read */
	EXPECT_EQ(write_faults(self->map_b + l.offset), 1);
	EXPECT_EQ(write_faults(self->map_a + l.offset), 0);
	ASSERT_EQ(mp_commit(self->a, l.token, 1, 0), 0);
	/* A stale pointer of the writer's: no longer. */
	EXPECT_EQ(write_faults(self->map_a + l.offset), 1);
	EXPECT_EQ(write_faults(self->map_b + l.offset), 1);
	EXPECT_EQ(self->map_a[l.offset], 'x');	/* the holder's, none after */
}

TEST_F(prot, write_borrow_moves_the_right)
{
	struct msgpool_op l;
	__u64 t;

	ASSERT_EQ(mp_loan(self->a, 1, 0, &l), 0);
	self->map_a[l.offset] = 'a';
	ASSERT_EQ(mp_commit(self->a, l.token, 1, 0), 0);
	t = l.token;
	ASSERT_EQ(mp_borrow(self->b, t, MSGPOOL_F_WRITE, NULL), 0);
	EXPECT_EQ(write_faults(self->map_b + l.offset), 0);
	EXPECT_EQ(write_faults(self->map_a + l.offset), 1);
	self->map_b[l.offset] = 'b';
	ASSERT_EQ(mp_release(self->b, t), 0);
	EXPECT_EQ(write_faults(self->map_b + l.offset), 1);
	EXPECT_EQ(self->map_a[l.offset], 'b');
	/* A read borrow gives no right to write. */
	ASSERT_EQ(mp_borrow(self->b, t, 0, NULL), 0);
	EXPECT_EQ(write_faults(self->map_b + l.offset), 1);
	ASSERT_EQ(mp_release(self->b, t), 0);
}

TEST_F(prot, every_end_of_a_hold_unmaps)
{
	struct msgpool_batch_args b = { 0 };
	struct msgpool_op l, op;
	__u64 t;

	/* Discard. */
	ASSERT_EQ(mp_loan(self->a, 1, 0, &l), 0);
	self->map_a[l.offset] = 'a';
	ASSERT_EQ(mp_discard(self->a, l.token), 0);
	EXPECT_EQ(write_faults(self->map_a + l.offset), 1);
	/* A commit in a batch. */
	ASSERT_EQ(mp_loan(self->a, 1, 0, &l), 0);
	self->map_a[l.offset] = 'a';
	memset(&op, 0, sizeof(op));
	op.op = MSGPOOL_OP_COMMIT;
	op.token = l.token;
	op.len = 1;
	b.ops = (uintptr_t)&op;
	b.count = 1;
	b.op_size = sizeof(op);
	ASSERT_EQ(mp_ioctl(self->a, MSGPOOL_IOC_BATCH, &b), 0);
	ASSERT_EQ(op.result, 0);
	EXPECT_EQ(write_faults(self->map_a + l.offset), 1);
	/* A store: the kernel wrote it, nobody may after. */
	ASSERT_EQ(mp_store(self->a, "s", 1, 0, &t), 0);
	ASSERT_EQ(mp_header(self->a, t, &op), 0);
	EXPECT_EQ(self->map_b[op.offset], 's');
	EXPECT_EQ(write_faults(self->map_a + op.offset), 1);
}

TEST_HARNESS_MAIN
