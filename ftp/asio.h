#pragma once
// The one place ftp/ includes Asio. Boost 1.74's <boost/asio/awaitable.hpp> uses std::exchange
// without including <utility>, so <utility> must come first (design.md section 2, build note).

#include <utility>

// g++ 12 reports -Wmismatched-new-delete for coroutine frames that use Asio's sized operator
// new/delete pair (a false positive, fixed in later g++); the pairing is Asio's own.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace ftp {

namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
template <class T>
using Awaitable = boost::asio::awaitable<T>;

}  // namespace ftp
