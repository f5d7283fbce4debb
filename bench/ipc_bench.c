// SPDX-License-Identifier: GPL-2.0
/*
 * Latency and throughput between two processes: msgpool against the
 * kernel's own IPC.
 *
 *   ipc_bench lat [FILTER]    ping-pong round trip and one-way latency,
 *                             64 B, 4 KiB, 64 KiB
 *   ipc_bench tput [FILTER]   streaming throughput, 64 B to 1 MiB
 *
 * FILTER keeps only the transport of that name.  Every message is
 * written once by its sender and read (checked) once by its receiver.
 * Busy transports spin where the blocking ones sleep in the kernel.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msgpool.h"
#include "bench.h"
#include "chan.h"

#define WARMUP		16
#define RUN_TIMEOUT	300	/* seconds one transport and size may take */

uint64_t empty_polls;

/*
 * @busy: the fd is O_NONBLOCK and the caller spins.  Inlined, so that
 * neither caller's loop tests @writing.
 */
static __always_inline void io_all(int fd, char *p, size_t len, int writing,
				   int busy)
{
	ssize_t n;

	while (len) {
		n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && ((busy && errno == EAGAIN) || errno == EINTR)) {
			empty_polls += errno == EAGAIN;
			cpu_relax();
			continue;
		}
		if (n <= 0)
			die(writing ? "write" : "read", n ? errno : EPIPE);
		p += n;
		len -= n;
	}
}

void write_all(int fd, const void *buf, size_t len)
{
	io_all(fd, (char *)buf, len, 1, 1);
}

void read_all(int fd, void *buf, size_t len, int busy)
{
	io_all(fd, buf, len, 0, busy);
}

void ring_put(struct chan *c, int dir, uint64_t v)
{
	uint64_t h = c->shm->head[dir];

	while (h - __atomic_load_n(&c->shm->tail[dir], __ATOMIC_ACQUIRE) >=
	       RING)
		cpu_relax();
	c->shm->tok[dir][h % RING] = v;
	__atomic_store_n(&c->shm->head[dir], h + 1, __ATOMIC_RELEASE);
}

uint64_t ring_get(struct chan *c, int dir)
{
	uint64_t t = c->shm->tail[dir], v;

	while (__atomic_load_n(&c->shm->head[dir], __ATOMIC_ACQUIRE) == t)
		cpu_relax();
	v = c->shm->tok[dir][t % RING];
	__atomic_store_n(&c->shm->tail[dir], t + 1, __ATOMIC_RELEASE);
	return v;
}

/* Returns once both sides have called it. */
void both_ready(struct chan *c)
{
	__atomic_add_fetch(&c->shm->ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&c->shm->ready, __ATOMIC_ACQUIRE) < 2)
		usleep(100);
}

static int is_busy(const struct chan *c)
{
	return !strcmp(c->t->mode, "busy");
}

static void set_nonblock(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("fcntl", errno);
}

static unsigned char *slot(struct chan *c, int dir, uint64_t i)
{
	return c->slots + ((size_t)dir * DEPTH + i % DEPTH) * c->len;
}

/* ---- copying transports: pipe, Unix socket, POSIX message queue ------ */

static void *private_tx(struct chan *c, int dir)
{
	(void)dir;
	return c->txb;
}

static void private_attach(struct chan *c)
{
	c->txb = aligned_alloc(64, c->len);
	c->rxb = aligned_alloc(64, c->len);
	if (!c->txb || !c->rxb)
		die("malloc", ENOMEM);
}

static void fds_teardown(struct chan *c)
{
	int d, i;

	for (d = 0; d < 2; d++)
		for (i = 0; i < 2; i++)
			if (c->fd[d][i] > 0)
				close(c->fd[d][i]);
}

static void pipe_setup(struct chan *c)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (pipe(c->fd[d]))
			die("pipe", errno);
		if (is_busy(c))
			set_nonblock(c->fd[d][0]);
	}
}

static void pipe_send(struct chan *c, int dir)
{
	write_all(c->fd[dir][1], c->txb, c->len);
}

static const void *pipe_recv(struct chan *c, int dir)
{
	read_all(c->fd[dir][0], c->rxb, c->len, is_busy(c));
	return c->rxb;
}

void nothing(struct chan *c, int dir)
{
	(void)c;
	(void)dir;
}

/* One stream socket pair carries both directions: fd[0] is the pair. */
static void unix_setup(struct chan *c)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, c->fd[0]))
		die("socketpair", errno);
	if (is_busy(c)) {
		set_nonblock(c->fd[0][0]);
		set_nonblock(c->fd[0][1]);
	}
}

static void unix_send(struct chan *c, int dir)
{
	write_all(c->fd[0][dir], c->txb, c->len);
}

static const void *unix_recv(struct chan *c, int dir)
{
	read_all(c->fd[0][!dir], c->rxb, c->len, is_busy(c));
	return c->rxb;
}

static void mqueue_setup(struct chan *c)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct mq_attr attr = { .mq_maxmsg = 2, .mq_msgsize = c->len };
	char name[32];
	int d;

	/* Two queues of 64 KiB messages pass the default 800 KiB. */
	setrlimit(RLIMIT_MSGQUEUE, &rl);
	for (d = 0; d < 2; d++) {
		snprintf(name, sizeof(name), "/bench-mq-%d-%d", getpid(), d);
		c->fd[d][0] = mq_open(name, O_RDWR | O_CREAT | O_EXCL |
				      (is_busy(c) ? O_NONBLOCK : 0), 0600,
				      &attr);
		if (c->fd[d][0] < 0)
			die("mq_open", errno);
		mq_unlink(name);
	}
}

static void mqueue_send(struct chan *c, int dir)
{
	while (mq_send(c->fd[dir][0], c->txb, c->len, 0)) {
		if (errno != EAGAIN && errno != EINTR)
			die("mq_send", errno);
		empty_polls += errno == EAGAIN;
	}
}

static const void *mqueue_recv(struct chan *c, int dir)
{
	while (mq_receive(c->fd[dir][0], c->rxb, c->len, NULL) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			die("mq_receive", errno);
		empty_polls += errno == EAGAIN;
	}
	return c->rxb;
}

/* ---- shared memory: payload in place, a wakeup beside it ------------- */

static void shm_setup(struct chan *c)
{
	int d;

	c->slots = shared_alloc(2 * DEPTH * c->len);
	for (d = 0; d < 2; d++) {
		c->fd[d][0] = eventfd(0, EFD_SEMAPHORE);
		if (c->fd[d][0] < 0)
			die("eventfd", errno);
	}
}

static void *shm_tx(struct chan *c, int dir)
{
	return slot(c, dir, c->nsent[dir]);
}

static void efd_post(int fd)
{
	uint64_t one = 1;

	write_all(fd, &one, sizeof(one));
}

static void efd_take(int fd)
{
	uint64_t v;

	read_all(fd, &v, sizeof(v), 0);
}

static void efd_send(struct chan *c, int dir)
{
	c->nsent[dir]++;
	efd_post(c->fd[dir][0]);
}

static const void *efd_recv(struct chan *c, int dir)
{
	efd_take(c->fd[dir][0]);
	return slot(c, dir, c->nrecv[dir]);
}

static void shm_done(struct chan *c, int dir)
{
	c->nrecv[dir]++;
}

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void spin_send(struct chan *c, int dir)
{
	c->nsent[dir]++;
	__atomic_store_n(&c->shm->fseq[dir], (uint32_t)c->nsent[dir],
			 __ATOMIC_RELEASE);
}

static const void *spin_recv(struct chan *c, int dir)
{
	uint32_t last = c->nrecv[dir];

	while (__atomic_load_n(&c->shm->fseq[dir], __ATOMIC_ACQUIRE) == last)
		cpu_relax();
	return slot(c, dir, c->nrecv[dir]);
}

static void futex_send(struct chan *c, int dir)
{
	spin_send(c, dir);
	futex(&c->shm->fseq[dir], FUTEX_WAKE, 1);
}

static const void *futex_recv(struct chan *c, int dir)
{
	uint32_t last = c->nrecv[dir];

	while (__atomic_load_n(&c->shm->fseq[dir], __ATOMIC_ACQUIRE) == last)
		futex(&c->shm->fseq[dir], FUTEX_WAIT, last);
	return slot(c, dir, c->nrecv[dir]);
}

/*
 * memfd with a copy: the sender copies its buffer into the shared file,
 * the receiver copies it out; eventfds count full and free slots.
 */
static void memfd_setup(struct chan *c)
{
	size_t size = 2 * DEPTH * c->len;
	int fd = memfd_create("bench", MFD_CLOEXEC), d;

	if (fd < 0 || ftruncate(fd, size))
		die("memfd", errno);
	c->slots = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	if (c->slots == MAP_FAILED)
		die("mmap memfd", errno);
	close(fd);
	for (d = 0; d < 2; d++) {
		c->fd[d][0] = eventfd(0, EFD_SEMAPHORE);
		c->sem[d] = eventfd(DEPTH, EFD_SEMAPHORE);
		if (c->fd[d][0] < 0 || c->sem[d] < 0)
			die("eventfd", errno);
	}
}

static void memfd_send(struct chan *c, int dir)
{
	if (c->stream)
		efd_take(c->sem[dir]);
	memcpy(slot(c, dir, c->nsent[dir]), c->txb, c->len);
	efd_send(c, dir);
}

static const void *memfd_recv(struct chan *c, int dir)
{
	efd_take(c->fd[dir][0]);
	memcpy(c->rxb, slot(c, dir, c->nrecv[dir]), c->len);
	return c->rxb;
}

static void memfd_done(struct chan *c, int dir)
{
	c->nrecv[dir]++;
	if (c->stream)
		efd_post(c->sem[dir]);
}

/* ---- msgpool: payload written into a loaned slot, token handed over -- */

struct msgpool *mp_create(const char *name, size_t len, uint32_t nr_slots)
{
	struct msgpool_config cfg = {
		.nr_classes = 1,
		.classes = { { len, nr_slots } },
	};
	struct msgpool *pool;

	mp_check(msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE |
			      MSGPOOL_OPEN_EXCL, 0600, &pool), "msgpool_open");
	return pool;
}

struct msgpool *mp_join(const char *name, struct msgpool **creator,
			int side)
{
	struct msgpool *pool;

	/* A child must not use its parent's peer: it gets its own. */
	if (side)
		msgpool_close(creator);
	mp_check(msgpool_open(name, NULL, 0, 0, &pool), "msgpool_open");
	return pool;
}

void mp_leave(struct msgpool **pool, struct msgpool **creator)
{
	msgpool_close(pool);
	if (*creator)
		msgpool_close(creator);
}

struct mp_local {
	struct msgpool *creator;	/* the parent's, keeps the pool */
	struct msgpool *pool;		/* this process's own peer */
	struct msgpool_guard tx[2], rx[2];
};

static char mp_name[32];

static void mp_setup(struct chan *c)
{
	struct mp_local *l = calloc(1, sizeof(*l));
	int d;

	if (!l)
		die("malloc", ENOMEM);
	snprintf(mp_name, sizeof(mp_name), "bench-%d", getpid());
	l->creator = mp_create(mp_name, c->len, 2 * DEPTH + 4);
	c->priv = l;
	if (is_busy(c))
		return;
	for (d = 0; d < 2; d++)
		if (pipe(c->fd[d]))
			die("pipe", errno);
}

static void mp_attach(struct chan *c)
{
	struct mp_local *l = c->priv;

	l->pool = mp_join(mp_name, &l->creator, c->side);
}

static void *mp_tx(struct chan *c, int dir)
{
	struct mp_local *l = c->priv;

	mp_check(msgpool_loan(l->pool, c->len, MSGPOOL_WAIT, &l->tx[dir]),
		 "msgpool_loan");
	return l->tx[dir].data;
}

static void mp_commit_tx(struct chan *c, int dir)
{
	struct mp_local *l = c->priv;

	mp_check(msgpool_commit(l->pool, &l->tx[dir], c->len, 0),
		 "msgpool_commit");
}

static void mp_send_pipe(struct chan *c, int dir)
{
	struct mp_local *l = c->priv;

	mp_commit_tx(c, dir);
	write_all(c->fd[dir][1], &l->tx[dir].token, sizeof(uint64_t));
}

static void mp_send_spin(struct chan *c, int dir)
{
	struct mp_local *l = c->priv;

	mp_commit_tx(c, dir);
	ring_put(c, dir, l->tx[dir].token);
}

static const void *mp_borrow(struct chan *c, int dir)
{
	struct mp_local *l = c->priv;

	mp_check(msgpool_read(l->pool, c->token[dir], 0, &l->rx[dir]),
		 "msgpool_read");
	return l->rx[dir].data;
}

static const void *mp_recv_pipe(struct chan *c, int dir)
{
	read_all(c->fd[dir][0], &c->token[dir], sizeof(uint64_t), 0);
	return mp_borrow(c, dir);
}

static const void *mp_recv_spin(struct chan *c, int dir)
{
	c->token[dir] = ring_get(c, dir);
	return mp_borrow(c, dir);
}

/* The receiver frees: any writable peer holding the token may. */
static void mp_done(struct chan *c, int dir)
{
	struct mp_local *l = c->priv;

	mp_check(msgpool_release(l->pool, &l->rx[dir]), "msgpool_release");
	mp_check(msgpool_free(l->pool, c->token[dir]), "msgpool_free");
}

static void mp_teardown(struct chan *c)
{
	struct mp_local *l = c->priv;

	mp_leave(&l->pool, &l->creator);
	fds_teardown(c);
}

/* ---- the table ------------------------------------------------------ */

/* A write copies the payload into the kernel, a read out of it. */
#define COPYING(n, m, s, kind)						\
	{ .name = n, .mode = m, .can_stream = s, .copies = 2,		\
	  .setup = kind##_setup,					\
	  .attach = private_attach, .tx_buf = private_tx,		\
	  .send = kind##_send, .recv = kind##_recv, .done = nothing,	\
	  .teardown = fds_teardown }

static const struct transport pipe_busy = COPYING("pipe", "busy", 0, pipe);
static const struct transport pipe_blocking =
	COPYING("pipe", "blocking", 1, pipe);
static const struct transport unix_busy =
	COPYING("unix socket", "busy", 0, unix);
static const struct transport unix_blocking =
	COPYING("unix socket", "blocking", 1, unix);
static const struct transport mq_busy = COPYING("posix mq", "busy", 0, mqueue);
static const struct transport mq_blocking =
	COPYING("posix mq", "blocking", 0, mqueue);

static void no_attach(struct chan *c)
{
	(void)c;
}

/* The payload in place in shared memory, the wakeup of its kind. */
#define SHARED(n, m, kind)						\
	{ .name = n, .mode = m, .setup = shm_setup,			\
	  .attach = no_attach, .tx_buf = shm_tx, .send = kind##_send,	\
	  .recv = kind##_recv, .done = shm_done, .teardown = fds_teardown }

static const struct transport efd_shm = SHARED("eventfd+shm", "blocking", efd);
static const struct transport futex_shm =
	SHARED("futex+shm", "blocking", futex);
static const struct transport spin_shm = SHARED("shm spin", "busy", spin);

static const struct transport memfd_copy = {
	.name = "memfd+copy", .mode = "blocking", .can_stream = 1,
	.setup = memfd_setup, .attach = private_attach,
	.tx_buf = private_tx, .send = memfd_send, .recv = memfd_recv,
	.done = memfd_done, .teardown = fds_teardown,
};

#define TOKEN(n, m, via)						\
	{ .name = n, .mode = m, .can_stream = 1, .setup = mp_setup,	\
	  .attach = mp_attach, .tx_buf = mp_tx, .send = mp_send_##via,	\
	  .recv = mp_recv_##via, .done = mp_done, .teardown = mp_teardown }

static const struct transport mp_pipe =
	TOKEN("msgpool token/pipe", "blocking", pipe);
static const struct transport mp_spin =
	TOKEN("msgpool token/shm", "busy", spin);

static const struct transport *const transports[] = {
	&mp_spin, &mp_pipe,
	&pubsub_busy, &pubsub_blocking,
	&pubsub1_busy, &pubsub1_blocking,
	&pubsub_ring_busy, &pubsub_ring_blocking,
	&pubsub_batch_busy, &pubsub_batch_blocking,
#ifdef HAVE_IOX
	&iox_busy, &iox_blocking,
#endif
	&spin_shm, &pipe_busy, &unix_busy, &mq_busy,
	&pipe_blocking, &unix_blocking, &efd_shm, &futex_shm, &mq_blocking,
	&memfd_copy,
};

/* ---- system calls, counted ------------------------------------------ */

/* This process's counter, and what reading it and now_ns() add to it. */
static struct {
	int fd;
	uint64_t read;		/* syscalls one sc_read() adds */
	double clock;		/* syscalls one now_ns() makes */
} sc = { .fd = -1 };

struct sc_span {
	uint64_t count, clocks, empty;
};

static struct sc_span sc_start(void)
{
	struct sc_span s = { sc_read(sc.fd), now_ns_calls, empty_polls };

	return s;
}

/* The empty polls since @s. */
static double sc_empty(struct sc_span s)
{
	return (double)(empty_polls - s.empty);
}

/* Syscalls since @s: less the read that ends the span and now_ns()'s. */
static double sc_since(struct sc_span s)
{
	uint64_t end = sc_read(sc.fd);

	return (double)(end - s.count - sc.read) -
	       (double)(now_ns_calls - s.clocks) * sc.clock;
}

static void sc_setup(void)
{
	struct sc_span s;
	uint64_t a;
	int i;

	sc.fd = sc_open();
	if (sc.fd < 0)
		return;
	/* Two reads back to back: the second is what a read adds. */
	a = sc_read(sc.fd);
	sc.read = sc_read(sc.fd) - a;
	s = sc_start();
	for (i = 0; i < 64; i++)
		now_ns();
	sc.clock = (double)(sc_read(sc.fd) - s.count - sc.read) / 64;
}

/*
 * One row's figures, a message: tx of the sender, rx of the receiver and
 * how many of those were empty polls.
 */
static void report_sys(const char *group, const struct chan *c, double tx,
		       double rx, double rx_empty)
{
	if (sc.fd < 0)
		return;
	printf("@@sys %s|%s|%s|%zu|%.3f|%.3f|%d|%.3f\n", group, c->t->name,
	       c->t->mode, c->len, tx, rx, c->t->copies, rx_empty);
	fflush(stdout);
}

/* ---- the measurements ----------------------------------------------- */

static void send_one(struct chan *c, int dir, uint64_t seq)
{
	payload_fill(c->t->tx_buf(c, dir), c->len, seq, now_ns());
	c->t->send(c, dir);
}

/*
 * send_one(), its transport's calls counted apart from the harness's:
 * returns their syscalls.  Untimed messages only: the reads take time.
 */
static double send_counted(struct chan *c, int dir, uint64_t seq)
{
	struct sc_span s = sc_start();
	void *buf = c->t->tx_buf(c, dir);
	double n = sc_since(s);

	payload_fill(buf, c->len, seq, now_ns());
	s = sc_start();
	c->t->send(c, dir);
	return n + sc_since(s);
}

static uint64_t recv_one(struct chan *c, int dir, uint64_t seq)
{
	uint64_t t = payload_check(c->t->recv(c, dir), c->len, seq);

	c->t->done(c, dir);
	return t;
}

/*
 * Child of a latency run: echo every message, time each one way into
 * @ow (shared, @nrep x @iters); @tmp is scratch for the medians.  The
 * syscalls of each repeat's timed loop, a message, go to shm->sys, those
 * of the warm-up's sends alone to shm->sys_tx.
 */
static void lat_child(struct chan *c, int nrep, long iters, double *ow,
		      double *tmp)
{
	uint64_t seq = 0, t;
	struct sc_span s;
	double tx = 0;
	double *o;
	long i;
	int r;

	for (r = 0; r < nrep; r++) {
		o = ow + (long)r * iters;
		for (i = 0; i < WARMUP; i++, seq++) {
			recv_one(c, 0, seq);
			tx += send_counted(c, 1, seq);
		}
		s = sc_start();
		for (i = 0; i < iters; i++, seq++) {
			t = recv_one(c, 0, seq);
			o[i] = (now_ns() - t) / 1e3;
			send_one(c, 1, seq);
		}
		c->shm->sys_empty[r] = sc_empty(s) / iters;
		c->shm->sys[r] = sc_since(s) / iters;
		memcpy(tmp, o, iters * sizeof(*tmp));
		c->shm->oneway[r] = median(tmp, iters);
	}
	c->shm->sys_tx = tx / (nrep * WARMUP);
}

/*
 * The parent's side.  Syscalls: its sends, counted in the warm-up, are
 * the row's tx; the child's timed loops less its sends, the row's rx.
 */
static void lat_parent(struct chan *c, int nrep, long iters, double *rtt,
		       double *tmp)
{
	double med[MAX_REPEATS], tx = 0;
	uint64_t seq = 0, s;
	double *o;
	long i;
	int r;

	for (r = 0; r < nrep; r++) {
		o = rtt + (long)r * iters;
		for (i = 0; i < WARMUP; i++, seq++) {
			tx += send_counted(c, 0, seq);
			recv_one(c, 1, seq);
		}
		for (i = 0; i < iters; i++, seq++) {
			s = now_ns();
			send_one(c, 0, seq);
			recv_one(c, 1, seq);
			o[i] = (now_ns() - s) / 1e3;
		}
		memcpy(tmp, o, iters * sizeof(*tmp));
		med[r] = median(tmp, iters);
	}
	report("lat-rtt", c->t->name, c->t->mode, c->len, med, nrep, "us");
	report_samples("lat-rtt", c->t->name, c->t->mode, c->len, rtt, nrep,
		       iters, 1e3);
	c->sys_tx = tx / (nrep * WARMUP);
}

/*
 * Streaming: after TPUT_WARMUP messages, each repeat sends up to @n
 * messages and stops early once it has run TPUT_NS, with TPUT_FLOOR
 * messages at least.  The parent publishes the count in shm->stop before
 * it sends the last one; the child says on @done that it has them all.
 */
#define TPUT_WARMUP	64
#define TPUT_NS		1000000000ULL
#define TPUT_FLOOR	64
/* Repeats end on a whole batch of the batch transport: no partial one. */
#define TPUT_ROUND	32

static void flush(struct chan *c, int dir)
{
	if (c->t->flush)
		c->t->flush(c, dir);
}

/* The syscalls of each repeat's loop, a message, go to shm->sys. */
static void tput_child(struct chan *c, int nrep, int done)
{
	struct sc_span sp;
	uint64_t seq = 0, i;
	int r;

	for (i = 0; i < TPUT_WARMUP; i++, seq++)
		recv_one(c, 0, seq);
	write_all(done, "", 1);
	for (r = 0; r < nrep; r++) {
		sp = sc_start();
		for (i = 1;; i++, seq++) {
			recv_one(c, 0, seq);
			if (i == __atomic_load_n(&c->shm->stop,
						 __ATOMIC_ACQUIRE))
				break;
		}
		c->shm->sys_empty[r] = sc_empty(sp) / i;
		c->shm->sys[r] = sc_since(sp) / i;
		seq++;
		write_all(done, "", 1);
	}
}

static void tput_parent(struct chan *c, int nrep, long n, int done)
{
	double mibs[MAX_REPEATS];
	uint64_t seq = 0, s, i;
	struct sc_span sp;
	char b;
	int r;

	for (i = 0; i < TPUT_WARMUP; i++, seq++)
		send_one(c, 0, seq);
	flush(c, 0);
	read_all(done, &b, 1, 0);
	for (r = 0; r < nrep; r++) {
		__atomic_store_n(&c->shm->stop, 0, __ATOMIC_RELEASE);
		sp = sc_start();
		s = now_ns();
		for (i = 1;; i++, seq++) {
			if (i == (uint64_t)n ||
			    (i >= TPUT_FLOOR && !(i % TPUT_ROUND) &&
			     now_ns() - s >= TPUT_NS)) {
				__atomic_store_n(&c->shm->stop, i,
						 __ATOMIC_RELEASE);
				send_one(c, 0, seq);
				break;
			}
			send_one(c, 0, seq);
		}
		flush(c, 0);
		c->sys[r] = sc_since(sp) / i;
		seq++;
		read_all(done, &b, 1, 0);
		mibs[r] = (double)i * c->len / (1 << 20) /
			  ((now_ns() - s) / 1e9);
	}
	report("tput", c->t->name, c->t->mode, c->len, mibs, nrep, "MiB/s");
}

static long lat_iters(size_t len)
{
	return bench_iters(len > 4096 ? 100 : 400);
}

/*
 * Messages of one throughput repeat: 12 MiB's worth, at most 4000 and at
 * least 1000, in whole TPUT_ROUNDs (tput_parent stops a repeat at TPUT_NS
 * before that).
 */
static long tput_msgs(size_t len)
{
	long n = (12L << 20) / len;

	if (n > 4000)
		n = 4000;
	if (n < 1000)
		n = 1000;
	return (n + TPUT_ROUND - 1) / TPUT_ROUND * TPUT_ROUND;
}

/*
 * One CPU each: a busy receiver sharing a CPU with its sender would spin
 * until the next tick, and a blocking pair measures the wakeup of another
 * CPU, as two components of a system would.
 */
static void pin(int side)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(side, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity", errno);
}

static void run(const struct transport *t, size_t len, int stream)
{
	struct chan c = { .t = t, .len = len, .stream = stream };
	int nrep = bench_repeats(), done[2], status;
	long n = stream ? tput_msgs(len) : lat_iters(len);
	size_t all = stream ? 1 : (size_t)nrep * n * sizeof(double);
	double *v = calloc(n, sizeof(*v)), *samples = NULL;
	pid_t pid;

	if (!v || pipe(done))
		die("setup", errno);
	c.shm = shared_alloc(sizeof(*c.shm));
	/* Latency: every sample, the child's one-way ones shared. */
	if (!stream)
		samples = shared_alloc(all);
	t->setup(&c);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	c.side = !pid;
	pin(c.side);
	alarm(RUN_TIMEOUT);
	t->attach(&c);
	sc_setup();
	if (c.side) {
		if (stream) {
			tput_child(&c, nrep, done[1]);
		} else {
			lat_child(&c, nrep, n, samples, v);
			/* Its last reply dies with its peer: wait until read. */
			read_all(done[0], v, 1, 0);
		}
		t->teardown(&c);
		exit(0);
	}
	if (stream) {
		tput_parent(&c, nrep, n, done[0]);
	} else {
		double *rtt = malloc(all);

		if (!rtt)
			die("malloc", ENOMEM);
		lat_parent(&c, nrep, n, rtt, v);
		free(rtt);
		write_all(done[1], "", 1);
	}
	if (waitpid(pid, &status, 0) < 0 || status)
		die("child", ECHILD);
	if (stream) {
		report_sys("tput", &c, median(c.sys, nrep),
			   median(c.shm->sys, nrep),
			   median(c.shm->sys_empty, nrep));
	} else {
		report_sys("lat", &c, c.sys_tx,
			   median(c.shm->sys, nrep) - c.shm->sys_tx,
			   median(c.shm->sys_empty, nrep));
		memcpy(v, c.shm->oneway, nrep * sizeof(*v));
		report("lat-oneway", t->name, t->mode, len, v, nrep, "us");
		report_samples("lat-oneway", t->name, t->mode, len, samples,
			       nrep, n, 1e3);
		munmap(samples, all);
	}
	alarm(0);
	t->teardown(&c);
	close(done[0]);
	close(done[1]);
	munmap(c.shm, sizeof(*c.shm));
	free(v);
}

/*
 * Each run in a process of its own: runtimes such as iceoryx's must not
 * be inherited across fork, and one failing transport leaves the others'
 * rows standing.
 */
static void run_isolated(const struct transport *t, size_t len, int stream)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork", errno);
	if (!pid) {
		run(t, len, stream);
		exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || status)
		fprintf(stderr, "bench: %s (%s) at %zu bytes failed\n",
			t->name, t->mode, len);
}

int main(int argc, char **argv)
{
	static const size_t lat_sizes[] = { 64, 4096, 65536 };
	static const size_t tput_sizes[] = { 64, 4096, 65536, 1 << 20 };
	int stream = argc > 1 && !strcmp(argv[1], "tput");
	const char *filter = argc > 2 ? argv[2] : "";
	size_t i, s, nsizes = stream ? 4 : 3;

	/*
	 * The kernel patches the syscall tracepoint's code in at the first
	 * counter and out at the last.  Under TCG, both vCPUs once spun for
	 * minutes in the patch site as one run's counters closed while the
	 * next one's opened, so vm-bench.sh keeps one open throughout.
	 */
	if (argc > 1 && !strcmp(argv[1], "hold")) {
		if (sc_open() < 0)
			return 1;
		printf("ready\n");
		fflush(stdout);
		pause();
		return 0;
	}
	if (argc < 2 || (!stream && strcmp(argv[1], "lat"))) {
		fprintf(stderr, "usage: ipc_bench lat|tput [FILTER] | hold\n");
		return 2;
	}
	/* What the counts take out for each clock read, for the record. */
	sc_setup();
	if (sc.fd >= 0) {
		printf("@@info guest_clock_syscalls %.2f\n", sc.clock);
		close(sc.fd);
		sc.fd = -1;
	}
	for (i = 0; i < ARRAY_SIZE(transports); i++) {
		if ((*filter && strcmp(transports[i]->name, filter)) ||
		    (stream && !transports[i]->can_stream) ||
		    (!stream && transports[i]->stream_only))
			continue;
		for (s = 0; s < nsizes; s++)
			run_isolated(transports[i], stream ? tput_sizes[s] :
				     lat_sizes[s], stream);
	}
	return 0;
}
