// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool-stat against pools in known states: its table, its JSON (parsed
 * here, and checked figure by figure), name filters, -r, exit codes, and
 * what another IPC namespace sees.  The tool's main() is built into this
 * program and run in a child process, its output read over pipes.
 */
#include <ctype.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#define main msgpool_stat_main
#include "../tools/msgpool-stat.c"
#undef main

#include "harness.h"
#include "helpers.h"

struct run {
	int rc;			/* exit status, -1 if it did not exit */
	char out[65536];
	char err[4096];
};

static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
}

/* Runs msgpool-stat with the NULL-terminated @args. */
static void run_tool(struct run *r, const char *const *args)
{
	char *argv[16] = { "msgpool-stat" };
	int out[2], err[2], argc = 1, status;
	pid_t pid;

	while (*args && argc < 15)
		argv[argc++] = (char *)*args++;
	r->rc = -1;
	r->out[0] = r->err[0] = '\0';
	if (pipe(out) || pipe(err))
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		optind = 1;
		status = msgpool_stat_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	close(out[1]);
	close(err[1]);
	read_all(out[0], r->out, sizeof(r->out));
	read_all(err[0], r->err, sizeof(r->err));
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		r->rc = WEXITSTATUS(status);
}

#define RUN(r, ...) run_tool(r, (const char *const[]){ __VA_ARGS__, NULL })

/* A JSON checker: true if @p starts a valid value; *@p goes past it. */
static bool json_value(const char **p);

static void json_ws(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static bool json_string(const char **p)
{
	if (**p != '"')
		return false;
	for ((*p)++; **p && **p != '"'; (*p)++)
		if (**p == '\\' && !*++*p)
			return false;
	return *(*p)++ == '"';
}

static bool json_list(const char **p, char end, bool object)
{
	(*p)++;
	json_ws(p);
	if (**p == end) {
		(*p)++;
		return true;
	}
	for (;;) {
		json_ws(p);
		if (object) {
			if (!json_string(p))
				return false;
			json_ws(p);
			if (*(*p)++ != ':')
				return false;
		}
		if (!json_value(p))
			return false;
		json_ws(p);
		if (**p == end) {
			(*p)++;
			return true;
		}
		if (*(*p)++ != ',')
			return false;
	}
}

static bool json_value(const char **p)
{
	json_ws(p);
	switch (**p) {
	case '{':
		return json_list(p, '}', true);
	case '[':
		return json_list(p, ']', false);
	case '"':
		return json_string(p);
	}
	if (!strncmp(*p, "true", 4) || !strncmp(*p, "null", 4)) {
		*p += 4;
		return true;
	}
	if (!strncmp(*p, "false", 5)) {
		*p += 5;
		return true;
	}
	if (**p != '-' && !isdigit((unsigned char)**p))
		return false;
	strtod(*p, (char **)p);
	return true;
}

static bool json_valid(const char *s)
{
	if (!json_value(&s))
		return false;
	json_ws(&s);
	return !*s;
}

/* The object of pool @name in the JSON @s, cut at its end; or NULL. */
static char *json_pool_obj(const char *s, const char *name, char *buf,
			   size_t size)
{
	char key[64];
	const char *start, *end;

	snprintf(key, sizeof(key), "{\"name\":\"%s\"", name);
	start = strstr(s, key);
	if (!start)
		return NULL;
	end = strstr(start + 1, "{\"name\":");
	if (!end)
		end = start + strlen(start);
	snprintf(buf, size, "%.*s", (int)(end - start), start);
	return buf;
}

/* The number after "key": in @obj, or -1. */
static long long json_num(const char *obj, const char *key)
{
	char k[64];
	const char *at;

	snprintf(k, sizeof(k), "\"%s\":", key);
	at = obj ? strstr(obj, k) : NULL;
	return at ? atoll(at + strlen(k)) : -1;
}

/* The peer object with @peer_id in pool object @obj, or NULL. */
static char *json_peer_obj(const char *obj, unsigned int peer_id, char *buf,
			   size_t size)
{
	char key[64];
	const char *start, *end;

	snprintf(key, sizeof(key), "{\"peer_id\":%u,", peer_id);
	start = obj ? strstr(obj, key) : NULL;
	if (!start)
		return NULL;
	end = strchr(start, '}');
	snprintf(buf, size, "%.*s", (int)(end - start + 1), start);
	return buf;
}

/*
 * The table row of pool @name: its figures in @v (12 numbers), its TYPE
 * in @type (at least 64 bytes).
 */
static bool table_row(const char *out, const char *name, long long *v,
		      char *type)
{
	static const char fmt[] =
		"%lld %*s %lld %lld %o %lld %lld %lld %lld %lld %lld %lld %lld %63s %255s";
	char pat[64], cls[256];
	const char *line;
	unsigned int mode;

	snprintf(pat, sizeof(pat), " %s ", name);
	line = strstr(out, pat);
	if (!line)
		return false;
	while (line > out && line[-1] != '\n')
		line--;
	if (sscanf(line, fmt, &v[0], &v[1], &v[2], &mode, &v[4], &v[5], &v[6],
		   &v[7], &v[8], &v[9], &v[10], &v[11], type, cls) != 14)
		return false;
	v[3] = mode;
	return true;
}

static int64_t peer_id_of(struct msgpool *pool)
{
	struct msgpool_info st;

	return msgpool_stats(pool, &st) ? -1 : st.peer_id;
}

/*
 * The pool in known states, as in the selftests: a creates and owns five
 * messages (one loaned), b holds two read borrows, r (read-only) one,
 * c a write borrow, and a dead writer left a slot poisoned.
 */
FIXTURE(tool) {
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *a, *b, *r, *c;
	struct msgpool_guard loan, rb1, rb2, rr, wc;
};

FIXTURE_SETUP(tool)
{
	struct msgpool_guard g;
	struct msgpool *d;
	uint64_t t[4];

	OPEN_SMALL(self->name, "tool", &self->a);
	ASSERT_EQ(0, msgpool_open(self->name, NULL, 0, 0, &self->b));
	ASSERT_EQ(0, msgpool_open(self->name, NULL, MSGPOOL_OPEN_RDONLY, 0,
				  &self->r));
	ASSERT_EQ(0, msgpool_open(self->name, NULL, 0, 0, &self->c));
	ASSERT_EQ(0, msgpool_open(self->name, NULL, 0, 0, &d));
	ASSERT_EQ(4, store_n(self->a, 4, 8, t));
	ASSERT_EQ(0, msgpool_read_mut(d, t[0], 0, &g));
	ASSERT_EQ(0, msgpool_close(&d));
	ASSERT_EQ(0, msgpool_loan(self->a, 8, 0, &self->loan));
	ASSERT_EQ(0, msgpool_read(self->b, t[1], 0, &self->rb1));
	ASSERT_EQ(0, msgpool_read(self->b, t[1], 0, &self->rb2));
	ASSERT_EQ(0, msgpool_read(self->r, t[1], 0, &self->rr));
	ASSERT_EQ(0, msgpool_read_mut(self->c, t[2], 0, &self->wc));
}

FIXTURE_TEARDOWN(tool)
{
	msgpool_close(&self->c);
	msgpool_close(&self->r);
	msgpool_close(&self->b);
	msgpool_close(&self->a);
}

TEST_F(tool, json_figures)
{
	static struct run run;
	static const char classes[] =
		"\"classes\":[{\"slot_size\":256,\"nr_slots\":8},{\"slot_size\":4096,\"nr_slots\":4},{\"slot_size\":65536,\"nr_slots\":2}]";
	char pool[8192];

	RUN(&run, "-j");
	ASSERT_EQ(0, run.rc);
	ASSERT_TRUE(json_valid(run.out));
	ASSERT_NE(NULL, json_pool_obj(run.out, self->name, pool,
				      sizeof(pool)));
	EXPECT_EQ(getuid(), json_num(pool, "uid"));
	EXPECT_EQ(getgid(), json_num(pool, "gid"));
	EXPECT_NE(NULL, strstr(pool, "\"mode\":\"0600\""));
	EXPECT_EQ(4, json_num(pool, "peers_attached"));
	EXPECT_EQ(ALL_SLOTS, json_num(pool, "capacity"));
	EXPECT_EQ(ALL_SLOTS - 5, json_num(pool, "free"));
	EXPECT_EQ(1, json_num(pool, "loaned"));
	EXPECT_EQ(1, json_num(pool, "ready"));
	EXPECT_EQ(2, json_num(pool, "borrowed"));
	EXPECT_EQ(1, json_num(pool, "poisoned"));
	EXPECT_EQ(0, json_num(pool, "published"));
	EXPECT_NE(NULL, strstr(pool, "\"type_id\":null"));
	EXPECT_NE(NULL, strstr(pool, classes));
	/* Peers only with -p. */
	EXPECT_EQ(NULL, strstr(pool, "\"peers\""));
}

TEST_F(tool, json_peers)
{
	static struct run run;
	char pool[8192], peer[512];
	char *p;

	RUN(&run, "-p", "-j", self->name);
	ASSERT_EQ(0, run.rc);
	ASSERT_TRUE(json_valid(run.out));
	ASSERT_NE(NULL, json_pool_obj(run.out, self->name, pool,
				      sizeof(pool)));
	/* Only the pool asked for. */
	EXPECT_EQ(NULL, strstr(strstr(run.out, "\"name\"") + 1, "\"name\""));
	p = json_peer_obj(pool, peer_id_of(self->a), peer, sizeof(peer));
	ASSERT_NE(NULL, p);
	EXPECT_EQ(getpid(), json_num(p, "pid"));
	EXPECT_NE(NULL, strstr(p, "\"read_only\":false"));
	EXPECT_EQ(1, json_num(p, "loans"));
	EXPECT_EQ(0, json_num(p, "reads"));
	EXPECT_EQ(0, json_num(p, "writes"));
	EXPECT_EQ(5, json_num(p, "owned"));
	p = json_peer_obj(pool, peer_id_of(self->b), peer, sizeof(peer));
	ASSERT_NE(NULL, p);
	EXPECT_EQ(2, json_num(p, "reads"));
	EXPECT_EQ(0, json_num(p, "owned"));
	p = json_peer_obj(pool, peer_id_of(self->r), peer, sizeof(peer));
	ASSERT_NE(NULL, p);
	EXPECT_NE(NULL, strstr(p, "\"read_only\":true"));
	EXPECT_EQ(1, json_num(p, "reads"));
	p = json_peer_obj(pool, peer_id_of(self->c), peer, sizeof(peer));
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, json_num(p, "writes"));
	EXPECT_EQ(0, json_num(p, "loans"));
}

TEST_F(tool, table_figures)
{
	static struct run run;
	long long v[12];
	char type[64];

	RUN(&run, "-p");
	ASSERT_EQ(0, run.rc);
	EXPECT_EQ(0, strncmp(run.out, "ID ", 3));
	ASSERT_TRUE(table_row(run.out, self->name, v, type));
	EXPECT_EQ(getuid(), v[1]);
	EXPECT_EQ(getgid(), v[2]);
	EXPECT_EQ(0600, v[3]);
	EXPECT_EQ(4, v[4]);
	EXPECT_EQ(ALL_SLOTS, v[5]);
	EXPECT_EQ(ALL_SLOTS - 5, v[6]);
	EXPECT_EQ(1, v[7]);
	EXPECT_EQ(1, v[8]);
	EXPECT_EQ(2, v[9]);
	EXPECT_EQ(1, v[10]);
	EXPECT_EQ(0, v[11]);
	EXPECT_STREQ("-", type);
	EXPECT_NE(NULL, strstr(run.out, " 256x8,4096x4,65536x2\n"));
	EXPECT_NE(NULL, strstr(run.out, "PEER"));
	/* The read-only peer's row. */
	EXPECT_NE(NULL, strstr(run.out, "   ro      0      1      0      0\n"));
}

TEST_F(tool, names_and_errors)
{
	static struct run run;

	RUN(&run, self->name, "no-such-pool");
	EXPECT_EQ(1, run.rc);
	EXPECT_NE(NULL, strstr(run.out, self->name));
	EXPECT_NE(NULL, strstr(run.err, "no-such-pool: no such pool"));
	RUN(&run, "-x");
	EXPECT_EQ(2, run.rc);
	EXPECT_NE(NULL, strstr(run.err, "unknown option -x"));
	RUN(&run, "-r");
	EXPECT_EQ(2, run.rc);
	RUN(&run, "-r", "-j", self->name);
	EXPECT_EQ(2, run.rc);
	RUN(&run, "-r", "no-such-pool");
	EXPECT_EQ(1, run.rc);
	EXPECT_NE(NULL, strstr(run.err,
			       "no-such-pool: no such pool or subscription"));
	RUN(&run, "-r", "bad/name");
	EXPECT_EQ(1, run.rc);
	EXPECT_NE(NULL, strstr(run.err, "bad/name: invalid argument"));
}

TEST_F(tool, remove)
{
	static struct run run;
	struct msgpool *late;
	uint64_t t;

	RUN(&run, "-r", self->name);
	ASSERT_EQ(0, run.rc);
	EXPECT_EQ(0, run.out[0]);
	RUN(&run, "-j");
	ASSERT_EQ(0, run.rc);
	EXPECT_EQ(NULL, strstr(run.out, self->name));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND,
		  msgpool_open(self->name, NULL, 0, 0, &late));
	/* The peers in it carry on. */
	EXPECT_EQ(0, msgpool_store(self->a, "x", 1, 0, 0, &t));
	RUN(&run, "-r", self->name);
	EXPECT_EQ(1, run.rc);
}

TEST(type_column)
{
	static const char hex[] = "00112233445566778899aabbccddeeff";
	static struct run run;
	struct msgpool_config cfg = one_class(64, 2);
	char name[MSGPOOL_NAME_MAX], type[64], pool[8192], want[64];
	struct msgpool *p;
	long long v[12];
	int i;

	for (i = 0; i < MSGPOOL_TYPE_ID_LEN; i++)
		cfg.type_id[i] = 0x11 * i;
	pool_name(name, "typed");
	ASSERT_EQ(0, msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE, 0600, &p));
	RUN(&run, name);
	ASSERT_EQ(0, run.rc);
	ASSERT_NE(NULL, strstr(run.out, " TYPE "));
	ASSERT_TRUE(table_row(run.out, name, v, type));
	EXPECT_STREQ(hex, type);
	EXPECT_NE(NULL, strstr(run.out, " 64x2\n"));
	RUN(&run, "-j", name);
	ASSERT_EQ(0, run.rc);
	ASSERT_TRUE(json_valid(run.out));
	ASSERT_NE(NULL, json_pool_obj(run.out, name, pool, sizeof(pool)));
	snprintf(want, sizeof(want), "\"type_id\":\"%s\"", hex);
	EXPECT_NE(NULL, strstr(pool, want));
	msgpool_close(&p);
}

static int nobody_removes(int rd, int wr, void *arg)
{
	static struct run run;

	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 10;
	RUN(&run, "-r", (const char *)arg);
	if (!strstr(run.err, "permission denied"))
		return 11;
	return run.rc;
}

TEST_F(tool, remove_needs_owner)
{
	struct msgpool *again;
	struct mp_child ch;

	if (geteuid())
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, mp_spawn(&ch, nobody_removes, self->name));
	EXPECT_EQ(1, mp_reap(&ch));
	ASSERT_EQ(0, msgpool_open(self->name, NULL, 0, 0, &again));
	msgpool_close(&again);
}

static int other_namespace(int rd, int wr, void *arg)
{
	static struct run run;

	if (unshare(CLONE_NEWIPC))
		return 10;
	RUN(&run, "-j");
	if (run.rc || strcmp(run.out, "{\"pools\":[]}\n"))
		return 11;
	RUN(&run, (const char *)arg);
	return run.rc;
}

TEST_F(tool, other_namespace_sees_nothing)
{
	struct mp_child ch;

	ASSERT_EQ(0, mp_spawn(&ch, other_namespace, self->name));
	EXPECT_EQ(1, mp_reap(&ch));
}

TEST(help)
{
	static struct run run;
	const char *const words[] = {
		"Usage: msgpool-stat", "-p", "-j", "-r NAME", "-h", "FREE",
		"POISONED", "PUBLISHED", "TYPE", "OWNED", "Exit status",
	};
	size_t i;

	RUN(&run, "-h");
	EXPECT_EQ(0, run.rc);
	for (i = 0; i < ARRAY_SIZE(words); i++)
		EXPECT_NE(NULL, strstr(run.out, words[i]));
}

TEST(library_calls)
{
	struct msgpool_peer_stat *peers;
	struct msgpool_pool_stat *pools;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *pool;
	size_t n, m;

	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_list_pools(NULL, &n));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_list_pools(&pools, NULL));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_list_peers(NULL, 0, &peers, &n));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_list_peers("a b", 0, &peers, &n));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_unlink(NULL));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_unlink(""));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND,
		  msgpool_list_peers("no-such-pool", 0, &peers, &n));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_unlink("no-such-pool"));
	ASSERT_EQ(0, msgpool_list_pools(&pools, &m));
	free(pools);
	OPEN_SMALL(name, "lib", &pool);
	ASSERT_EQ(0, msgpool_list_pools(&pools, &n));
	EXPECT_EQ(m + 1, n);
	free(pools);
	ASSERT_EQ(0, msgpool_list_peers(name, 0, &peers, &n));
	ASSERT_EQ(1, n);
	EXPECT_EQ(getpid(), peers[0].pid);
	EXPECT_EQ(peer_id_of(pool), peers[0].peer_id);
	free(peers);
	EXPECT_EQ(0, msgpool_unlink(name));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_list_peers(name, 0, &peers, &n));
	msgpool_close(&pool);
}

TEST_HARNESS_MAIN
