// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Tests of msgpool.hpp against the module: prints TAP 13.  Each test runs
 * on a pool of its own, named after the pid and the test.
 */
#include "msgpool.hpp"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

struct failure {
	std::string what;
};

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond))                                             \
			throw failure{std::string(__FILE__ ":") +        \
				      std::to_string(__LINE__) + ": " #cond}; \
	} while (0)

// The error code of what @fn throws; a default error_code if nothing.
std::error_code thrown(const std::function<void()> &fn)
{
	try {
		fn();
	} catch (const std::system_error &e) {
		return e.code();
	}
	return {};
}

std::string name_of(const char *test)
{
	return "cpp-" + std::to_string(getpid()) + "-" + test;
}

// 14 slots in three classes, as the C tests' small pool.
const msgpool::Config small{{256, 8}, {4096, 4}, {65536, 2}};
constexpr std::int64_t all_slots = 14;

msgpool::Pool fresh(const char *test)
{
	return msgpool::Pool::create(name_of(test), small, 0600,
				     msgpool::flags::excl);
}

void t_create_open()
{
	msgpool::Pool a = fresh("open");
	CHECK(a.created());
	CHECK(a.capacity() == all_slots);
	CHECK(a.available() == all_slots);
	CHECK(a.memory_class() == msgpool::c::MSGPOOL_MEMORY_HOST);
	CHECK(a.fd() >= 0);

	msgpool::Pool b = msgpool::Pool::open(name_of("open"));
	CHECK(!b.created());
	CHECK(b.capacity() == all_slots);

	// Create without EXCL joins this user's own pool.
	msgpool::Pool c = msgpool::Pool::create(name_of("open"), small);
	CHECK(!c.created());

	CHECK(thrown([] { msgpool::Pool::open(name_of("nosuch")); }) ==
	      msgpool::errc::not_found);
	CHECK(thrown([] { fresh("open"); }) == msgpool::errc::exists);

	// A moved-from pool is closed; the moved-to one works.
	msgpool::Pool d = std::move(b);
	CHECK(!b);
	CHECK(d.available() == all_slots);
	msgpool::Pool::unlink(name_of("open"));
}

void t_store_read()
{
	msgpool::Pool p = fresh("store");
	std::uint64_t t = p.store(std::string_view("hello"), 42);
	CHECK(t != 0);
	CHECK(p.available() == all_slots - 1);
	{
		msgpool::ReadGuard g = p.read(t);
		CHECK(g.held());
		CHECK(g.token() == t);
		CHECK(g.tag() == 42);
		msgpool::bytes v = g.view();
		CHECK(v.size() == 5);
		CHECK(std::memcmp(v.data(), "hello", 5) == 0);
		CHECK(static_cast<char>(v[1]) == 'e');
		std::string s;
		for (std::byte b : v)
			s += static_cast<char>(b);
		CHECK(s == "hello");
		// A second shared borrow of the same slot coexists.
		msgpool::ReadGuard g2 = p.read(t);
		CHECK(g2.view().data() == v.data());
		CHECK(p.header(t).len == 5);
	}
	p.free(t);
	CHECK(p.available() == all_slots);

	// Any contiguous range of trivially copyable elements.
	std::vector<std::uint32_t> vec{1, 2, 3};
	t = p.store(vec);
	CHECK(p.read(t).view().size() == 12);
	p.free(t);
	msgpool::Pool::unlink(name_of("store"));
}

void t_read_mut()
{
	msgpool::Pool p = fresh("mut");
	std::uint64_t t = p.store(std::string_view("abcd"));
	{
		msgpool::WriteGuard w = p.read_mut(t);
		msgpool::mutable_bytes v = w.view();
		CHECK(v.size() == 4);
		v[0] = std::byte{'X'};
		// No shared borrow while the exclusive one lasts.
		CHECK(thrown([&] { p.read(t, msgpool::flags::nonblock); }) ==
		      msgpool::errc::already_borrowed);
	}
	CHECK(std::memcmp(p.read(t).view().data(), "Xbcd", 4) == 0);
	{
		msgpool::WriteGuard w = p.read_mut(t);
		w.release(2);
		CHECK(!w.held());
	}
	CHECK(p.header(t).len == 2);
	p.free(t);
	msgpool::Pool::unlink(name_of("mut"));
}

void t_loan_commit()
{
	msgpool::Pool p = fresh("loan");
	msgpool::LoanGuard l = p.loan(100);
	CHECK(l.view().size() == 256);
	CHECK(p.available() == all_slots - 1);
	std::memcpy(l.view().data(), "loaned", 6);
	CHECK(thrown([&] { l.commit(1000); }) == msgpool::errc::too_big);
	CHECK(l.held());
	std::uint64_t t = l.commit(6, 7);
	CHECK(!l.held());
	CHECK(t == l.token());
	{
		msgpool::ReadGuard g = p.read(t);
		CHECK(g.view().size() == 6 && g.tag() == 7);
		CHECK(std::memcmp(g.view().data(), "loaned", 6) == 0);
	}
	p.free(t);
	CHECK(p.available() == all_slots);
	msgpool::Pool::unlink(name_of("loan"));
}

void t_discard()
{
	msgpool::Pool p = fresh("discard");
	{
		msgpool::LoanGuard l = p.loan(10);
		CHECK(p.available() == all_slots - 1);
		l.discard();
		CHECK(!l.held());
		CHECK(p.available() == all_slots);
		CHECK(thrown([&] { l.discard(); }) == msgpool::errc::not_held);
	}
	{
		// Destroyed while held: discarded.
		msgpool::LoanGuard l = p.loan(5000);
		CHECK(l.view().size() == 65536);
		CHECK(p.available() == all_slots - 1);
	}
	CHECK(p.available() == all_slots);
	msgpool::Pool::unlink(name_of("discard"));
}

void t_move()
{
	msgpool::Pool p = fresh("move");
	std::uint64_t t = p.store(std::string_view("m"));
	msgpool::WriteGuard a = p.read_mut(t);
	msgpool::WriteGuard b = std::move(a);
	CHECK(!a.held() && b.held());
	CHECK(a.view().empty());
	// The borrow lives in b: still exclusive.
	CHECK(thrown([&] { p.read(t, msgpool::flags::nonblock); }) ==
	      msgpool::errc::already_borrowed);
	{
		msgpool::WriteGuard c;
		c = std::move(b);
		CHECK(!b.held() && c.held());
	}
	// c released it; the moved-from a and b release nothing.
	CHECK(p.read(t, msgpool::flags::nonblock).held());
	CHECK(thrown([&] { a.release(); }) == msgpool::errc::not_held);

	// Assigning over a held guard releases what it held.
	msgpool::ReadGuard r1 = p.read(t);
	msgpool::ReadGuard r2 = p.read(t);
	r1 = std::move(r2);
	CHECK(r1.held() && !r2.held());
	r1.release();
	p.free(t);
	msgpool::Pool::unlink(name_of("move"));
}

void t_destructors()
{
	msgpool::Pool p = fresh("dtor");
	std::vector<std::uint64_t> tokens;
	for (int i = 0; i < 3; i++)
		tokens.push_back(p.store(std::string_view("x")));
	{
		std::vector<msgpool::ReadGuard> guards;
		for (std::uint64_t t : tokens)
			guards.push_back(p.read(t));
		// Borrowed: freeing is refused.
		CHECK(thrown([&] { p.free(tokens[0]); }) ==
		      msgpool::errc::borrow_active);
	}
	for (std::uint64_t t : tokens)
		p.free(t);
	CHECK(p.available() == p.capacity());

	// A guard destroyed by an exception unwinding releases too.
	std::uint64_t t = p.store(std::string_view("y"));
	try {
		msgpool::WriteGuard w = p.read_mut(t);
		throw 1;
	} catch (int) {
	}
	p.free(t);
	CHECK(p.available() == p.capacity());
	msgpool::Pool::unlink(name_of("dtor"));
}

void t_errors()
{
	msgpool::Pool p = fresh("errors");
	std::uint64_t t = p.store(std::string_view("e"));
	p.free(t);
	try {
		p.free(t);
		CHECK(!"double free did not throw");
	} catch (const std::system_error &e) {
		CHECK(e.code() == msgpool::errc::not_allocated);
		CHECK(e.code().value() == msgpool::c::MSGPOOL_E_NOT_ALLOCATED);
		CHECK(&e.code().category() == &msgpool::category());
		CHECK(std::string(e.code().category().name()) == "msgpool");
		CHECK(e.code().message() == msgpool::c::msgpool_strerror(
			      msgpool::c::MSGPOOL_E_NOT_ALLOCATED));
	}
	CHECK(thrown([&] { p.read(t); }) == msgpool::errc::not_allocated);
	CHECK(thrown([&] { p.read(0); }) == msgpool::errc::bad_token);
	CHECK(thrown([&] { p.store(msgpool::bytes()); }) ==
	      msgpool::errc::invalid);
	CHECK(thrown([&] { p.loan(1 << 20); }) == msgpool::errc::too_big);

	msgpool::Pool ro = msgpool::Pool::open(name_of("errors"), true);
	CHECK(thrown([&] { ro.store(std::string_view("no")); }) ==
	      msgpool::errc::permission);
	CHECK(thrown([&] { ro.loan(1); }) == msgpool::errc::permission);
	// But it reads.
	t = p.store(std::string_view("ro"));
	CHECK(ro.read(t).view().size() == 2);
	p.free(t);

	std::error_code ec = msgpool::errc::no_free_slots;
	CHECK(ec.value() == msgpool::c::MSGPOOL_E_NO_FREE_SLOTS);
	CHECK(ec.message() == msgpool::c::msgpool_strerror(
		      msgpool::c::MSGPOOL_E_NO_FREE_SLOTS));
	msgpool::Pool::unlink(name_of("errors"));
}

struct point {
	std::uint64_t x, y;
};

void t_as()
{
	msgpool::Pool p = fresh("as");
	point pt{3, 4};
	std::uint64_t t = p.store(msgpool::bytes(&pt, sizeof(pt)));
	{
		msgpool::ReadGuard g = p.read(t);
		const point &q = g.as<point>();
		CHECK(q.x == 3 && q.y == 4);
		CHECK(thrown([&] { g.as<std::array<char, 17>>(); }) ==
		      msgpool::errc::too_big);
	}
	{
		msgpool::WriteGuard w = p.read_mut(t);
		w.as<point>().y = 5;
	}
	CHECK(p.read(t).as<point>().y == 5);
	p.free(t);

	// A message smaller than the type, though its slot is not.
	t = p.store(std::string_view("tiny"));
	CHECK(thrown([&] { p.read(t).as<point>(); }) ==
	      msgpool::errc::too_big);
	p.free(t);

	msgpool::LoanGuard l = p.loan(sizeof(point));
	l.as<point>() = point{7, 8};
	t = l.commit(sizeof(point));
	CHECK(p.read(t).as<point>().x == 7);
	p.free(t);
	msgpool::Pool::unlink(name_of("as"));
}

void t_pubsub()
{
	msgpool::Pool pub = fresh("pubsub");
	msgpool::Pool sub = pub.dup();
	CHECK(sub.subscribe() >= 0);
	CHECK(thrown([&] { sub.subscribe(); }) == msgpool::errc::exists);
	CHECK(!sub.try_take());
	CHECK(!sub.wait(POLLIN, std::chrono::milliseconds(0)));

	std::uint64_t s1 = pub.publish(std::string_view("one"), 1);
	msgpool::LoanGuard l = pub.loan(3);
	std::memcpy(l.view().data(), "two", 3);
	std::uint64_t s2 = l.publish(3, 2);
	CHECK(s2 > s1);
	CHECK(pub.available() == all_slots - 2);
	CHECK(sub.wait(POLLIN, std::chrono::milliseconds(1000)));
	{
		msgpool::TakeGuard a = sub.take();
		CHECK(a.seq() == s1 && a.tag() == 1 && a.lost() == 0);
		CHECK(std::memcmp(a.view().data(), "one", 3) == 0);
		std::optional<msgpool::TakeGuard> b = sub.try_take();
		CHECK(b && b->seq() == s2);
		CHECK(std::memcmp(b->view().data(), "two", 3) == 0);
		b->mark_read();
		CHECK(pub.available() == all_slots - 1);
		CHECK(!sub.try_take());
	}
	// a was marked read when destroyed.
	CHECK(pub.available() == all_slots);
	CHECK(sub.missed() == 0);

	// Unsubscribing ends the takes: the guard's mark read then fails,
	// and its destructor swallows that.
	pub.publish(std::string_view("three"));
	{
		msgpool::TakeGuard c = sub.take(msgpool::flags::nonblock);
		sub.unsubscribe();
	}
	CHECK(pub.available() == all_slots);
	CHECK(thrown([&] { sub.take(msgpool::flags::nonblock); }) ==
	      msgpool::errc::not_found);
	msgpool::Pool::unlink(name_of("pubsub"));
}

void t_ring()
{
	msgpool::Pool pub = fresh("ring");
	msgpool::Pool sub = pub.dup();
	CHECK(thrown([&] { sub.ring(8); }) == msgpool::errc::not_found);
	CHECK(sub.subscribe() >= 0);
	sub.ring(8);
	CHECK(thrown([&] { sub.ring(8); }) == msgpool::errc::exists);

	std::uint64_t s1 = pub.publish(std::string_view("one"), 1);
	std::uint64_t s2 = pub.publish(std::string_view("two"), 2);
	CHECK(sub.wait(POLLIN, std::chrono::milliseconds(0)));
	{
		msgpool::TakeGuard a = sub.take();
		CHECK(a.seq() == s1 && a.tag() == 1);
		CHECK(std::memcmp(a.view().data(), "one", 3) == 0);
		std::optional<msgpool::TakeGuard> b = sub.try_take();
		CHECK(b && b->seq() == s2 && b->tag() == 2);
		a.mark_read();
		CHECK(!sub.try_take());
	}
	// b was marked read when destroyed; a poll() drains the rings.
	CHECK(pub.wait(POLLOUT, std::chrono::milliseconds(0)));
	CHECK(pub.available() == all_slots);
	msgpool::Pool::unlink(name_of("ring"));
}

void t_dup()
{
	msgpool::Pool a = fresh("dup");
	std::uint64_t t;
	{
		msgpool::Pool b = a.dup();
		CHECK(!b.created());
		CHECK(b.capacity() == a.capacity());
		t = b.store(std::string_view("dup"));
		// A token of one peer reads through the other.
		CHECK(a.read(t).view().size() == 3);
		CHECK(a.available() == all_slots - 1);
	}
	// b owned the message: closing it freed the slot.
	CHECK(a.available() == all_slots);
	CHECK(thrown([&] { a.read(t); }) == msgpool::errc::not_allocated);

	msgpool::Pool ro = msgpool::Pool::open(name_of("dup"), true);
	msgpool::Pool ro2 = ro.dup();
	CHECK(thrown([&] { ro2.store(std::string_view("x")); }) ==
	      msgpool::errc::permission);
	msgpool::Pool::unlink(name_of("dup"));
}

struct test {
	const char *name;
	void (*fn)();
};

const test tests[] = {
	{"create_open_created", t_create_open},
	{"store_read_round_trip", t_store_read},
	{"read_mut_in_place", t_read_mut},
	{"loan_commit", t_loan_commit},
	{"loan_discard", t_discard},
	{"guard_move", t_move},
	{"destructors_release", t_destructors},
	{"error_mapping", t_errors},
	{"typed_as", t_as},
	{"publish_subscribe_take", t_pubsub},
	{"reader_rings", t_ring},
	{"dup", t_dup},
};

} // namespace

int main()
{
	const std::size_t n = sizeof(tests) / sizeof(tests[0]);
	std::size_t failed = 0;

	std::printf("TAP version 13\n1..%zu\n", n);
	for (std::size_t i = 0; i < n; i++) {
		std::string why;
		try {
			tests[i].fn();
		} catch (const failure &f) {
			why = f.what;
		} catch (const std::exception &e) {
			why = std::string("exception: ") + e.what();
		}
		if (!why.empty()) {
			failed++;
			std::printf("# %s\nnot ok %zu %s\n", why.c_str(), i + 1,
				    tests[i].name);
		} else {
			std::printf("ok %zu %s\n", i + 1, tests[i].name);
		}
		std::fflush(stdout);
	}
	std::printf("# %zu passed, %zu failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
