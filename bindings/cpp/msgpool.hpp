// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * msgpool.hpp: a C++17 header-only binding of libmsgpool (<msgpool.h>).
 * Link with -lmsgpool (pkg-config msgpool).
 *
 *   msgpool::Pool pool = msgpool::Pool::create("telemetry",
 *           msgpool::Config{{256, 1024}, {65536, 64}});
 *   uint64_t token = pool.store(std::string_view("hello"), 42);
 *   {
 *           msgpool::ReadGuard g = pool.read(token);  // borrows the slot
 *           use(g.view().data(), g.view().size());
 *   }                                                  // released here
 *   pool.free(token);
 *
 * ERRORS
 *
 * Every call that can fail throws std::system_error whose code() is a
 * std::error_code of msgpool::category(): its value() is the negative enum
 * msgpool_error the C call returned, its message() msgpool_strerror()'s,
 * and it compares equal to the matching msgpool::errc.  Exceptions because
 * the guards are RAII objects: a constructor-like call (read, loan, take)
 * has no other way to say it failed without handing out a guard that holds
 * nothing, and C++ users of RAII expect them.  The error_code keeps the
 * exact msgpool error for callers that branch on it:
 *
 *   catch (const std::system_error &e) {
 *           if (e.code() == msgpool::errc::not_allocated) ...
 *   }
 *
 * The one expected failure of the hot path, nothing to take, has a
 * non-throwing form (try_take()).  Code built with -fno-exceptions uses the
 * C API directly.
 *
 * LIFETIMES
 *
 * Pool and the guards are move-only.  A guard ends its borrow, loan or
 * take when it is destroyed, unless it was ended already (release(),
 * commit(), discard(), publish(), mark_read()) or moved from: a moved-from
 * guard holds nothing and releases nothing.  A guard refers to the handle
 * of the Pool that made it: it must be destroyed before that Pool is
 * (moving the Pool is fine, the handle does not change).
 *
 * Destructors never throw.  A release that fails in a destructor is
 * ignored: the destructor may run while an exception unwinds the stack,
 * when a second exception would call std::terminate(), and there is
 * nothing a destructor could do about it anyway.  Such a failure means the
 * borrow was ended already (the handle unsubscribed, which ends its takes),
 * and closing the handle undoes whatever it still holds.  Call release()
 * (or mark_read(), discard()) explicitly to see the error.
 */
#ifndef MSGPOOL_HPP
#define MSGPOOL_HPP

#ifdef MSGPOOL_H
#error "include msgpool.hpp without <msgpool.h>: its C API is msgpool::c"
#endif
// C++ allows no namespace msgpool beside <msgpool.h>'s global struct
// msgpool, so the C API lives in namespace msgpool::c (same functions,
// same symbols: they keep their C linkage).  Its macros (MSGPOOL_*) and
// the kernel's types (<linux/msgpool.h>) stay global.
#include <stddef.h>
#include <stdint.h>
#include <linux/msgpool.h>
namespace msgpool {
namespace c {
#include <msgpool.h>
} // namespace c
} // namespace msgpool

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace msgpool {

class Pool;

// ---- Errors ----------------------------------------------------------------

// The values of enum msgpool_error, negative as the C calls return them.
enum class errc : int {
	no_free_slots = c::MSGPOOL_E_NO_FREE_SLOTS,
	bad_token = c::MSGPOOL_E_BAD_TOKEN,
	not_allocated = c::MSGPOOL_E_NOT_ALLOCATED,
	already_borrowed = c::MSGPOOL_E_ALREADY_BORROWED,
	borrow_active = c::MSGPOOL_E_BORROW_ACTIVE,
	poisoned = c::MSGPOOL_E_POISONED,
	permission = c::MSGPOOL_E_PERMISSION,
	not_held = c::MSGPOOL_E_NOT_HELD,
	too_big = c::MSGPOOL_E_TOO_BIG,
	limit = c::MSGPOOL_E_LIMIT,
	not_found = c::MSGPOOL_E_NOT_FOUND,
	exists = c::MSGPOOL_E_EXISTS,
	no_device = c::MSGPOOL_E_NO_DEVICE,
	no_memory = c::MSGPOOL_E_NO_MEMORY,
	interrupted = c::MSGPOOL_E_INTERRUPTED,
	closed = c::MSGPOOL_E_CLOSED,
	invalid = c::MSGPOOL_E_INVALID,
	abi = c::MSGPOOL_E_ABI,
	system = c::MSGPOOL_E_SYSTEM,
	empty = c::MSGPOOL_E_EMPTY,
	type_mismatch = c::MSGPOOL_E_TYPE_MISMATCH,
};

namespace detail {
class category_impl final : public std::error_category {
public:
	const char *name() const noexcept override { return "msgpool"; }
	std::string message(int ev) const override
	{
		return c::msgpool_strerror(ev);
	}
};
} // namespace detail

// The category of msgpool's error codes (one object for the program).
inline const std::error_category &category() noexcept
{
	static const detail::category_impl c;
	return c;
}

inline std::error_code make_error_code(errc e) noexcept
{
	return std::error_code(static_cast<int>(e), category());
}

} // namespace msgpool

namespace std {
template <>
struct is_error_code_enum<msgpool::errc> : true_type {};
} // namespace std

namespace msgpool {

namespace detail {
// Throws for a negative return of a C call, hands anything else back.
template <class T>
inline T check(T ret, const char *what)
{
	if (ret < 0)
		throw std::system_error(static_cast<int>(ret), category(), what);
	return ret;
}
} // namespace detail

// ---- Byte views ------------------------------------------------------------

// A view of contiguous bytes, std::span<std::byte> before C++20.
template <class B>
class basic_bytes {
public:
	using element_type = B;
	using value_type = std::remove_cv_t<B>;
	using size_type = std::size_t;
	using iterator = B *;
	using pointer = B *;
	using reference = B &;
	using void_ptr = std::conditional_t<std::is_const_v<B>,
					     const void *, void *>;

	constexpr basic_bytes() noexcept = default;
	basic_bytes(void_ptr data, std::size_t size) noexcept
		: data_(static_cast<B *>(data)), size_(size) {}
	// Any contiguous range of trivially copyable elements: std::string,
	// std::string_view, std::vector, std::array, a C array (whole, so a
	// string literal's '\0' with it), and a mutable_bytes as a bytes.
	template <class R,
		  class E = std::remove_pointer_t<decltype(
			  std::data(std::declval<R &>()))>,
		  class = std::enable_if_t<
			  std::is_trivially_copyable_v<E> &&
			  (std::is_const_v<B> || !std::is_const_v<E>) &&
			  !std::is_same_v<std::decay_t<R>, basic_bytes>>>
	basic_bytes(R &&r) noexcept
		: data_(reinterpret_cast<B *>(
			  const_cast<std::remove_const_t<E> *>(std::data(r)))),
		  size_(std::size(r) * sizeof(E)) {}

	B *data() const noexcept { return data_; }
	std::size_t size() const noexcept { return size_; }
	bool empty() const noexcept { return size_ == 0; }
	B *begin() const noexcept { return data_; }
	B *end() const noexcept { return data_ + size_; }
	B &operator[](std::size_t i) const noexcept { return data_[i]; }

	// The bytes as a T, in place: throws errc::too_big if they are
	// fewer than sizeof(T), errc::invalid if they are not aligned for T.
	template <class T>
	auto &as() const
	{
		static_assert(std::is_trivially_copyable_v<T>,
			      "as<T>() needs a trivially copyable T");
		using Q = std::conditional_t<std::is_const_v<B>, const T, T>;
		if (size_ < sizeof(T))
			throw std::system_error(make_error_code(errc::too_big),
						"msgpool: as<T>(): slot smaller than T");
		if (reinterpret_cast<std::uintptr_t>(data_) % alignof(T))
			throw std::system_error(make_error_code(errc::invalid),
						"msgpool: as<T>(): misaligned");
		return *reinterpret_cast<Q *>(data_);
	}

private:
	B *data_ = nullptr;
	std::size_t size_ = 0;
};

using bytes = basic_bytes<const std::byte>;
using mutable_bytes = basic_bytes<std::byte>;

// ---- Configuration ---------------------------------------------------------

// c::msgpool_open() flags (see msgpool(3)).
namespace flags {
constexpr unsigned create = MSGPOOL_OPEN_CREATE;
constexpr unsigned excl = MSGPOOL_OPEN_EXCL;
constexpr unsigned overwrite = MSGPOOL_OPEN_OVERWRITE;
constexpr unsigned rdonly = MSGPOOL_OPEN_RDONLY;
constexpr unsigned nonblock = MSGPOOL_NONBLOCK;
constexpr unsigned wait = MSGPOOL_WAIT;
constexpr unsigned adopt = MSGPOOL_ADOPT;
} // namespace flags

// The shape of a pool: Config{{slot_size, nr_slots}, ...}.
struct Config {
	c::msgpool_config c{};

	Config() = default;
	Config(std::initializer_list<msgpool_class> classes)
	{
		if (classes.size() > MSGPOOL_MAX_CLASSES)
			throw std::system_error(make_error_code(errc::invalid),
						"msgpool: too many classes");
		for (const msgpool_class &k : classes)
			c.classes[c.nr_classes++] = k;
	}
	Config &type_id(const void *id, std::size_t len)
	{
		std::memset(c.type_id, 0, sizeof(c.type_id));
		std::memcpy(c.type_id, id,
			    len < sizeof(c.type_id) ? len : sizeof(c.type_id));
		return *this;
	}
	Config &reader_limit(std::uint32_t n)
	{
		c.reader_limit = n;
		return *this;
	}
};

// ---- Guards ----------------------------------------------------------------

namespace detail {
using end_fn = int (*)(c::msgpool *, c::msgpool_guard *);

// A filled c::msgpool_guard and the handle that ends it.
template <end_fn End>
class guard_base {
public:
	guard_base(const guard_base &) = delete;
	guard_base &operator=(const guard_base &) = delete;
	guard_base(guard_base &&o) noexcept
		: pool_(std::exchange(o.pool_, nullptr)), g_(o.g_) {}
	guard_base &operator=(guard_base &&o) noexcept
	{
		if (this != &o) {
			end_quietly();
			pool_ = std::exchange(o.pool_, nullptr);
			g_ = o.g_;
		}
		return *this;
	}
	~guard_base() { end_quietly(); }

	// Whether the guard still holds its borrow, loan or take.
	bool held() const noexcept { return pool_ != nullptr; }
	explicit operator bool() const noexcept { return held(); }
	std::uint64_t token() const noexcept { return g_.token; }
	// The header as the kernel returned it (len, capacity, tag, seq...).
	const msgpool_op &header() const noexcept { return g_.hdr; }
	std::uint64_t tag() const noexcept { return g_.hdr.tag; }
	// The C guard, for calls this binding does not wrap.
	const c::msgpool_guard &c_guard() const noexcept { return g_; }

protected:
	guard_base() noexcept = default;
	c::msgpool *pool_ = nullptr;
	c::msgpool_guard g_{};

	// Ends the guard with @End; throws its error (the guard then holds
	// nothing either way but for a failed commit, whose loan goes on).
	void end(const char *what)
	{
		c::msgpool *p = pool_or_throw(what);

		pool_ = nullptr;
		check(End(p, &g_), what);
	}
	void end_quietly() noexcept
	{
		// Ignored on purpose: see LIFETIMES at the top.
		if (pool_)
			(void)End(std::exchange(pool_, nullptr), &g_);
	}
	c::msgpool *pool_or_throw(const char *what) const
	{
		if (!pool_)
			throw std::system_error(make_error_code(errc::not_held),
						what);
		return pool_;
	}
	std::size_t len() const noexcept
	{
		return pool_ ? static_cast<std::size_t>(g_.hdr.len) : 0;
	}
	friend class ::msgpool::Pool;
};
} // namespace detail

// A shared borrow (Pool::read): read-only view of the message.
class ReadGuard : public detail::guard_base<c::msgpool_release> {
public:
	ReadGuard() noexcept = default;
	bytes view() const noexcept { return bytes(g_.data, len()); }
	template <class T>
	const T &as() const { return view().as<T>(); }
	void release() { end("msgpool_release"); }
};

// An exclusive borrow (Pool::read_mut): writable view of the message.
class WriteGuard : public detail::guard_base<c::msgpool_release> {
public:
	WriteGuard() noexcept = default;
	mutable_bytes view() const noexcept
	{
		return mutable_bytes(g_.data, len());
	}
	template <class T>
	T &as() const { return view().as<T>(); }
	void release() { end("msgpool_release"); }
	// Ends the borrow with the message's length changed to @len.
	void release(std::size_t len)
	{
		detail::check(c::msgpool_release_len(
				      pool_or_throw("msgpool_release_len"),
				      &g_, len), "msgpool_release_len");
		pool_ = nullptr;
	}
};

// A loan (Pool::loan): a slot to write in place, then commit, publish or
// discard; discarded if destroyed while held.
class LoanGuard : public detail::guard_base<c::msgpool_discard> {
public:
	LoanGuard() noexcept = default;
	// The whole slot (its capacity).
	mutable_bytes view() const noexcept
	{
		return mutable_bytes(g_.data, pool_ ? g_.hdr.capacity : 0);
	}
	template <class T>
	T &as() const { return view().as<T>(); }
	// Makes the slot a message of @len bytes; returns its token, which
	// this handle owns.  A failure (errc::too_big) leaves the loan held.
	std::uint64_t commit(std::size_t len, std::uint64_t tag = 0)
	{
		detail::check(c::msgpool_commit(pool_or_throw("msgpool_commit"),
					     &g_, len, tag), "msgpool_commit");
		pool_ = nullptr;
		return g_.token;
	}
	// Publishes the slot as a message of @len bytes to the subscribed
	// readers; returns its sequence number.
	std::uint64_t publish(std::size_t len, std::uint64_t tag = 0)
	{
		detail::check(c::msgpool_publish(pool_or_throw("msgpool_publish"),
					      &g_, len, tag), "msgpool_publish");
		pool_ = nullptr;
		return g_.hdr.seq;
	}
	void discard() { end("msgpool_discard"); }
};

// A take (Pool::take): a published message, marked read when destroyed.
class TakeGuard : public detail::guard_base<c::msgpool_mark_read> {
public:
	TakeGuard() noexcept = default;
	bytes view() const noexcept { return bytes(g_.data, len()); }
	template <class T>
	const T &as() const { return view().as<T>(); }
	std::uint64_t seq() const noexcept { return g_.hdr.seq; }
	// Messages this reader skipped since its previous take.
	std::uint64_t lost() const noexcept { return g_.hdr.lost; }
	void mark_read() { end("msgpool_mark_read"); }
};

// ---- Pool ------------------------------------------------------------------

// A handle of a pool: one peer.  Closed when destroyed.
class Pool {
public:
	// Creates the pool @name, or joins this user's own (see
	// c::msgpool_open()); @extra: flags::excl, flags::overwrite.
	static Pool create(const std::string &name, const Config &cfg,
			   unsigned mode = 0600, unsigned extra = 0)
	{
		return Pool(name, &cfg.c, flags::create | extra, mode);
	}
	// Joins the existing pool @name, read-only if @rdonly; with @type,
	// only if the pool's type is @type's type_id.
	static Pool open(const std::string &name, bool rdonly = false,
			 const Config *type = nullptr)
	{
		return Pool(name, type ? &type->c : nullptr,
			    rdonly ? flags::rdonly : 0, 0);
	}
	// Removes the name @name (see c::msgpool_unlink()).
	static void unlink(const std::string &name)
	{
		detail::check(c::msgpool_unlink(name.c_str()), "msgpool_unlink");
	}

	Pool(const std::string &name, const c::msgpool_config *cfg,
	     unsigned open_flags, unsigned mode)
	{
		detail::check(c::msgpool_open(name.c_str(), cfg, open_flags, mode,
					   &p_), "msgpool_open");
	}
	// Takes over a handle of the C API.
	explicit Pool(c::msgpool *p) noexcept : p_(p) {}
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;
	Pool(Pool &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
	Pool &operator=(Pool &&o) noexcept
	{
		if (this != &o) {
			close();
			p_ = std::exchange(o.p_, nullptr);
		}
		return *this;
	}
	~Pool() { close(); }

	// Closes the handle now (c::msgpool_close() fails only on a NULL one).
	void close() noexcept
	{
		if (p_)
			(void)c::msgpool_close(&p_);
	}
	c::msgpool *c_handle() const noexcept { return p_; }
	explicit operator bool() const noexcept { return p_ != nullptr; }

	bool created() const noexcept { return c::msgpool_created(p_) == 1; }
	// A second, independent peer of the same pool.
	Pool dup() const
	{
		c::msgpool *d = nullptr;

		detail::check(c::msgpool_dup(p_, &d), "msgpool_dup");
		return Pool(d);
	}

	std::uint64_t store(bytes b, std::uint64_t tag = 0,
			    unsigned fl = 0)
	{
		std::uint64_t token = 0;

		detail::check(c::msgpool_store(p_, b.data(), b.size(), tag, fl,
					    &token), "msgpool_store");
		return token;
	}
	ReadGuard read(std::uint64_t token, unsigned fl = 0)
	{
		return fill<ReadGuard>("msgpool_read", [&](auto *g) {
			return c::msgpool_read(p_, token, fl, g);
		});
	}
	WriteGuard read_mut(std::uint64_t token, unsigned fl = 0)
	{
		return fill<WriteGuard>("msgpool_read_mut", [&](auto *g) {
			return c::msgpool_read_mut(p_, token, fl, g);
		});
	}
	void free(std::uint64_t token)
	{
		detail::check(c::msgpool_free(p_, token), "msgpool_free");
	}
	msgpool_op header(std::uint64_t token)
	{
		msgpool_op hdr{};

		detail::check(c::msgpool_header(p_, token, &hdr),
			      "msgpool_header");
		return hdr;
	}
	LoanGuard loan(std::size_t len, unsigned fl = 0)
	{
		return fill<LoanGuard>("msgpool_loan", [&](auto *g) {
			return c::msgpool_loan(p_, len, fl, g);
		});
	}

	// Publish/subscribe.
	int subscribe()
	{
		return detail::check(c::msgpool_subscribe(p_),
				     "msgpool_subscribe");
	}
	void unsubscribe()
	{
		detail::check(c::msgpool_unsubscribe(p_), "msgpool_unsubscribe");
	}
	// Rings of @entries for this reader: take() and mark_read() then make
	// no system call while messages come (msgpool_ring()).
	void ring(unsigned entries)
	{
		detail::check(c::msgpool_ring(p_, entries), "msgpool_ring");
	}
	// Copies @b into a loaned slot and publishes it; returns its seq.
	std::uint64_t publish(bytes b, std::uint64_t tag = 0,
			      unsigned fl = 0)
	{
		LoanGuard g = loan(b.size(), fl);

		std::memcpy(g.view().data(), b.data(), b.size());
		return g.publish(b.size(), tag);
	}
	// Waits (in poll()) for a message unless @fl is flags::nonblock.
	TakeGuard take(unsigned fl = 0)
	{
		return fill<TakeGuard>("msgpool_take", [&](auto *g) {
			return c::msgpool_take(p_, fl, g);
		});
	}
	// Nothing to take is no error: an empty optional.
	std::optional<TakeGuard> try_take()
	{
		TakeGuard g;
		int ret = c::msgpool_take(p_, MSGPOOL_NONBLOCK, &g.g_);

		if (ret == c::MSGPOOL_E_EMPTY)
			return std::nullopt;
		detail::check(ret, "msgpool_take");
		g.pool_ = p_;
		return std::optional<TakeGuard>(std::move(g));
	}
	// poll() for POLLIN and/or POLLOUT; true when ready, false on timeout
	// (a negative timeout waits for ever).
	bool wait(short events, std::chrono::milliseconds timeout =
				      std::chrono::milliseconds(-1))
	{
		return detail::check(c::msgpool_wait(p_, events,
						  static_cast<int>(timeout.count())),
				     "msgpool_wait") == 1;
	}
	int fd() const noexcept { return c::msgpool_fd(p_); }
	std::uint64_t missed() const noexcept { return c::msgpool_missed(p_); }

	// Figures.
	std::int64_t available()
	{
		return detail::check(c::msgpool_available(p_),
				     "msgpool_available");
	}
	std::int64_t capacity()
	{
		return detail::check(c::msgpool_capacity(p_), "msgpool_capacity");
	}
	int memory_class()
	{
		return detail::check(c::msgpool_memory_class(p_),
				     "msgpool_memory_class");
	}
	msgpool_info stats()
	{
		msgpool_info st{};

		detail::check(c::msgpool_stats(p_, &st), "msgpool_stats");
		return st;
	}

private:
	c::msgpool *p_ = nullptr;

	// A guard of this handle that the C call @call fills; throws its
	// error.
	template <class G, class F>
	G fill(const char *what, F call)
	{
		G g;

		detail::check(call(&g.g_), what);
		g.pool_ = p_;
		return g;
	}
};

} // namespace msgpool

#endif // MSGPOOL_HPP
