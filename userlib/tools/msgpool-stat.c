// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool-stat: show the msgpool pools of this IPC namespace, like ipcs,
 * and remove a pool's name, like ipcrm.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgpool.h"

#define EXIT_USAGE	2

static const char usage_text[] =
"Usage: msgpool-stat [-p] [-j] [NAME...]\n"
"       msgpool-stat -r NAME...\n"
"       msgpool-stat -h\n"
"\n"
"Show the msgpool pools of the caller's IPC namespace, or remove their\n"
"names.  Pools of other IPC namespaces (other containers) are not shown.\n"
"\n"
"Options:\n"
"  -p    also list each pool's peers (open files attached to it) and\n"
"        what each holds\n"
"  -j    print JSON instead of a table; with -p, the peers are nested\n"
"        in their pool\n"
"  -r    remove the name of each pool NAME: no new peer can attach, the\n"
"        peers attached carry on, and the pool is freed when the last one\n"
"        closes; allowed to the pool's owner and to CAP_SYS_ADMIN\n"
"  -h    print this help\n"
"  NAME  show only these pools (an error if one does not exist)\n"
"\n"
"Pool columns: ID, NAME, OWNER and GROUP (numeric ids of the creator),\n"
"MODE (permission bits), PEERS (attached), SLOTS (capacity), and the\n"
"slots by state: FREE, LOANED (being filled), READY (a message nobody\n"
"borrows), BORROWED (a message being read or written), POISONED (a\n"
"writer died in it), PUBLISHED (messages published to subscribers);\n"
"TYPE is the fingerprint of the pool's message type in hex, - if it is\n"
"untyped; CLASSES lists the size classes as SLOT_SIZExNR_SLOTS.\n"
"Peer columns: PEER (id in the pool), PID (in the caller's pid\n"
"namespace, 0 if not visible there), MODE (rw, or ro for a read-only\n"
"peer), LOANS, READS (read borrows), WRITES (write borrows), OWNED.\n"
"\n"
"Exit status: 0 on success, 1 on an error (no /dev/msgpool, no such\n"
"pool, permission denied), 2 on a usage error.\n";

struct opts {
	bool peers;
	bool json;
	bool remove;
	char **names;
	int nr_names;
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "msgpool-stat: %s\nTry 'msgpool-stat -h' for help.\n",
		msg);
	return EXIT_USAGE;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "msgpool-stat: %s: %s\n", what, msgpool_strerror(err));
	return EXIT_FAILURE;
}

/* True if pool @st was asked for: every pool when no name was given. */
static bool wanted(const struct opts *o, const struct msgpool_pool_stat *st)
{
	int i;

	if (!o->nr_names)
		return true;
	for (i = 0; i < o->nr_names; i++)
		if (!strcmp(o->names[i], st->name))
			return true;
	return false;
}

/* "64x8,256x4": the size classes of @st. */
static void classes_text(const struct msgpool_pool_stat *st, char *buf,
			 size_t size)
{
	size_t len = 0;
	uint32_t c;

	buf[0] = '\0';
	for (c = 0; c < st->nr_classes && len < size; c++)
		len += snprintf(buf + len, size - len, "%s%ux%u",
				c ? "," : "", st->classes[c].slot_size,
				st->classes[c].nr_slots);
}

/* The type fingerprint in hex, or "" if the pool is untyped. */
static void type_text(const struct msgpool_pool_stat *st, char *buf)
{
	int i, typed = 0;

	for (i = 0; i < MSGPOOL_TYPE_ID_LEN; i++) {
		sprintf(buf + 2 * i, "%02x", st->type_id[i]);
		typed |= st->type_id[i];
	}
	if (!typed)
		buf[0] = '\0';
}

static void table_header(void)
{
	printf("%-6s %-31s %6s %6s %4s %5s %7s %7s %6s %7s %8s %8s %9s "
	       "%-32s %s\n", "ID", "NAME", "OWNER", "GROUP", "MODE", "PEERS",
	       "SLOTS", "FREE", "LOANED", "READY", "BORROWED", "POISONED",
	       "PUBLISHED", "TYPE", "CLASSES");
}

static void table_pool(const struct msgpool_pool_stat *st)
{
	char classes[MSGPOOL_MAX_CLASSES * 24];
	char type[2 * MSGPOOL_TYPE_ID_LEN + 1];

	classes_text(st, classes, sizeof(classes));
	type_text(st, type);
	printf("%-6u %-31s %6u %6u %04o %5u %7" PRIu64 " %7" PRIu64
	       " %6" PRIu64 " %7" PRIu64 " %8" PRIu64 " %8" PRIu64
	       " %9" PRIu64 " %-32s %s\n",
	       st->id, st->name, st->uid, st->gid, st->mode, st->nr_peers,
	       (uint64_t)st->capacity, (uint64_t)st->free,
	       (uint64_t)st->loaned, (uint64_t)st->ready,
	       (uint64_t)st->borrowed, (uint64_t)st->poisoned,
	       (uint64_t)st->published, type[0] ? type : "-", classes);
}

static void table_peers(const struct msgpool_peer_stat *p, size_t n)
{
	size_t i;

	printf("       %-6s %7s %4s %6s %6s %6s %6s\n", "PEER", "PID", "MODE",
	       "LOANS", "READS", "WRITES", "OWNED");
	for (i = 0; i < n; i++)
		printf("       %-6u %7u %4s %6" PRIu64 " %6" PRIu64 " %6" PRIu64
		       " %6" PRIu64 "\n", p[i].peer_id, p[i].pid,
		       p[i].flags & MSGPOOL_PEER_RDONLY ? "ro" : "rw",
		       (uint64_t)p[i].loans, (uint64_t)p[i].reads,
		       (uint64_t)p[i].writes, (uint64_t)p[i].owned);
}

/* ,"key":value */
static void json_u64(const char *key, uint64_t v)
{
	printf(",\"%s\":%" PRIu64, key, v);
}

static void json_peers(const struct msgpool_peer_stat *p, size_t n)
{
	size_t i;

	printf(",\"peers\":[");
	for (i = 0; i < n; i++) {
		printf("%s{\"peer_id\":%u", i ? "," : "", p[i].peer_id);
		json_u64("pid", p[i].pid);
		printf(",\"read_only\":%s",
		       p[i].flags & MSGPOOL_PEER_RDONLY ? "true" : "false");
		json_u64("loans", p[i].loans);
		json_u64("reads", p[i].reads);
		json_u64("writes", p[i].writes);
		json_u64("owned", p[i].owned);
		printf("}");
	}
	printf("]");
}

/* Names are [A-Za-z0-9._-]: nothing to escape. */
static void json_pool(const struct msgpool_pool_stat *st)
{
	char type[2 * MSGPOOL_TYPE_ID_LEN + 1];
	uint32_t c;

	printf("{\"name\":\"%s\"", st->name);
	json_u64("id", st->id);
	json_u64("uid", st->uid);
	json_u64("gid", st->gid);
	printf(",\"mode\":\"%04o\"", st->mode);
	json_u64("peers_attached", st->nr_peers);
	json_u64("map_size", st->map_size);
	json_u64("capacity", st->capacity);
	json_u64("free", st->free);
	json_u64("loaned", st->loaned);
	json_u64("ready", st->ready);
	json_u64("borrowed", st->borrowed);
	json_u64("poisoned", st->poisoned);
	json_u64("published", st->published);
	type_text(st, type);
	if (type[0])
		printf(",\"type_id\":\"%s\"", type);
	else
		printf(",\"type_id\":null");
	printf(",\"classes\":[");
	for (c = 0; c < st->nr_classes; c++)
		printf("%s{\"slot_size\":%u,\"nr_slots\":%u}", c ? "," : "",
		       st->classes[c].slot_size, st->classes[c].nr_slots);
	printf("]");
}

/* One pool with its peers, if asked for; 1 if they could not be listed. */
static int show_pool(const struct opts *o, const struct msgpool_pool_stat *st,
		     bool first)
{
	struct msgpool_peer_stat *peers = NULL;
	size_t n = 0;
	int err = 0;

	if (o->peers) {
		err = msgpool_list_peers(st->name, st->id, &peers, &n);
		/* Unlinked since the pools were listed: no peers to show. */
		if (err == MSGPOOL_E_NOT_FOUND)
			err = 0;
		if (err)
			fail(st->name, err);
	}
	if (o->json) {
		printf("%s", first ? "" : ",");
		json_pool(st);
		if (o->peers)
			json_peers(peers, n);
		printf("}");
	} else {
		table_pool(st);
		if (o->peers && n)
			table_peers(peers, n);
	}
	free(peers);
	return err ? EXIT_FAILURE : 0;
}

static int show(const struct opts *o)
{
	struct msgpool_pool_stat *pools;
	bool first = true;
	int ret = 0, i;
	size_t n, j;

	i = msgpool_list_pools(&pools, &n);
	if (i)
		return fail("listing pools", i);
	if (o->json)
		printf("{\"pools\":[");
	else
		table_header();
	for (j = 0; j < n; j++) {
		if (!wanted(o, &pools[j]))
			continue;
		ret |= show_pool(o, &pools[j], first);
		first = false;
	}
	if (o->json)
		printf("]}\n");
	for (i = 0; i < o->nr_names; i++) {
		for (j = 0; j < n && strcmp(pools[j].name, o->names[i]); j++)
			;
		if (j == n) {
			fprintf(stderr, "msgpool-stat: %s: no such pool\n",
				o->names[i]);
			ret = EXIT_FAILURE;
		}
	}
	free(pools);
	return ret;
}

static int remove_names(const struct opts *o)
{
	int ret = 0, err, i;

	for (i = 0; i < o->nr_names; i++) {
		err = msgpool_unlink(o->names[i]);
		if (err)
			ret = fail(o->names[i], err);
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	char msg[32];
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "+pjrh")) != -1) {
		switch (c) {
		case 'p':
			o.peers = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'r':
			o.remove = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			snprintf(msg, sizeof(msg), "unknown option -%c", optopt);
			return usage_error(msg);
		}
	}
	o.names = argv + optind;
	o.nr_names = argc - optind;
	if (o.remove) {
		if (o.peers || o.json)
			return usage_error("-r takes no -p or -j");
		if (!o.nr_names)
			return usage_error("-r needs a pool NAME");
		return remove_names(&o);
	}
	return show(&o);
}
