// AsioClient against a real vsftpd (anonymous, writable /pub): what a user of the mount would see.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ftp/asio_client.h"
#include "ftp/error.h"
#include "tests/support/download.h"
#include "tests/support/test_env.h"
#include "tests/support/vsftpd_server.h"

namespace {

using ftp::AsioClient;
using ftp::Errc;
using namespace std::chrono_literals;

std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::uint64_t fnv1a(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string read_local(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class AsioClientVsftpdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FTPFS_REQUIRE(testsupport::missing_vsftpd());
    server_ = std::make_unique<testsupport::VsftpdServer>();
    ASSERT_TRUE(server_->started()) << server_->error();
  }

  ftp::SessionConfig config() const {
    ftp::SessionConfig c;
    c.host = server_->host();
    c.port = server_->port();
    c.user = server_->user();
    c.password = "test@";
    c.connect_timeout = 5000ms;
    c.command_timeout = 10000ms;
    c.data_timeout = 10000ms;
    return c;
  }

  std::unique_ptr<AsioClient> connect() {
    auto client = AsioClient::connect(config());
    EXPECT_TRUE(client) << client.error().message();
    return client ? std::move(*client) : nullptr;
  }

  std::string remote(std::string_view name) const { return server_->remote_root() + "/" + std::string(name); }

  ftp::Status put(AsioClient& client, std::string_view path, const std::string& data) {
    auto up = client.upload(path, ftp::UploadMode::replace);
    if (!up)
      return up.error();
    constexpr std::size_t kChunk = 1 << 20;
    for (std::size_t off = 0; off < data.size(); off += kChunk) {
      auto st = (*up)->write(std::span<const char>(data.data() + off, std::min(kChunk, data.size() - off)));
      if (!st)
        return st;
    }
    return (*up)->finish();
  }

  std::unique_ptr<testsupport::VsftpdServer> server_;
};

TEST_F(AsioClientVsftpdTest, LogsInAndListsFiles) {
  server_->write_file("hello.txt", "hello");
  server_->make_dir("sub");
  auto client = connect();
  ASSERT_TRUE(client);
  auto entries = client->list(server_->remote_root());
  ASSERT_TRUE(entries) << entries.error().message();
  auto find = [&](const std::string& name) {
    return std::find_if(entries->begin(), entries->end(),
                        [&](const ftp::DirEntry& e) { return e.name == name; });
  };
  ASSERT_NE(find("hello.txt"), entries->end());
  EXPECT_EQ(find("hello.txt")->size, 5u);
  ASSERT_NE(find("sub"), entries->end());
  EXPECT_EQ(find("sub")->type, ftp::FileType::directory);
}

TEST_F(AsioClientVsftpdTest, UnknownUserIsRefused) {
  auto c = config();
  c.user = "nosuchuser";
  auto client = AsioClient::connect(c);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.code(), ftp::make_error_code(Errc::login_failed));
}

TEST_F(AsioClientVsftpdTest, UploadsAndDownloadsSixtyFourMebibytesByteExact) {
  auto client = connect();
  ASSERT_TRUE(client);
  const std::string data = pattern(64u << 20, 1);
  ASSERT_TRUE(put(*client, remote("big.bin"), data));
  EXPECT_EQ(fnv1a(read_local(server_->root() / "big.bin")), fnv1a(data));
  auto d = client->download(remote("big.bin"), 0);
  ASSERT_TRUE(d) << d.error().message();
  auto back = testsupport::read_to_end(**d);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), data.size());
  EXPECT_EQ(fnv1a(*back), fnv1a(data));
  auto st = client->stat(remote("big.bin"));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, data.size());
}

TEST_F(AsioClientVsftpdTest, ResumesDownloadAtOffset) {
  const std::string data = pattern(1 << 20, 2);
  server_->write_file("r.bin", data);
  auto client = connect();
  ASSERT_TRUE(client);
  auto d = client->download(remote("r.bin"), 654321);
  ASSERT_TRUE(d) << d.error().message();
  auto tail = testsupport::read_to_end(**d);
  ASSERT_TRUE(tail) << tail.error().message();
  EXPECT_EQ(*tail, data.substr(654321));
}

TEST_F(AsioClientVsftpdTest, AbandonedDownloadLeavesSessionUsable) {
  server_->write_file("big.bin", pattern(16 << 20, 3));
  auto c = config();
  c.max_sessions = 1;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  for (int i = 0; i < 5; ++i) {
    auto d = (*client)->download(remote("big.bin"), static_cast<std::uint64_t>(i) * 1000);
    ASSERT_TRUE(d) << d.error().message();
    std::vector<char> buf(4096);
    ASSERT_TRUE((*d)->read(buf));
  }
  auto entries = (*client)->list(server_->remote_root());
  ASSERT_TRUE(entries) << entries.error().message();
  EXPECT_EQ((*client)->stats().pool.generation, 1u) << "ABOR kept the one session in step";
}

TEST_F(AsioClientVsftpdTest, RenamesDeletesAndManagesDirectories) {
  auto client = connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->make_directory(remote("d")));
  EXPECT_TRUE(std::filesystem::is_directory(server_->root() / "d"));
  auto st = client->stat(remote("d"));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->type, ftp::FileType::directory);
  ASSERT_TRUE(put(*client, remote("d/a.txt"), "abc"));
  ASSERT_TRUE(client->rename(remote("d/a.txt"), remote("d/b.txt")));
  EXPECT_FALSE(std::filesystem::exists(server_->root() / "d/a.txt"));
  EXPECT_EQ(read_local(server_->root() / "d/b.txt"), "abc");
  EXPECT_FALSE(client->remove_directory(remote("d"))) << "not empty";
  ASSERT_TRUE(client->remove_file(remote("d/b.txt")));
  ASSERT_TRUE(client->remove_directory(remote("d")));
  EXPECT_FALSE(std::filesystem::exists(server_->root() / "d"));
}

TEST_F(AsioClientVsftpdTest, MissingPathsAreNotFound) {
  auto client = connect();
  ASSERT_TRUE(client);
  const auto not_found = ftp::make_error_code(Errc::not_found);
  EXPECT_EQ(client->stat(remote("missing")).code(), not_found);
  EXPECT_EQ(client->download(remote("missing"), 0).code(), not_found);
  EXPECT_EQ(client->remove_file(remote("missing")).code(), not_found);
  EXPECT_EQ(client->rename(remote("missing"), remote("other")).code(), not_found);
  EXPECT_TRUE(client->list(server_->remote_root())) << "the session survives the errors";
}

// A name its parent's listing did not show: vsftpd has no MLST, so the probe is SIZE, then CWD;
// for a missing name stat() lists the parent as a last resort, stat_unlisted() does not.
TEST_F(AsioClientVsftpdTest, AnUnlistedNameCostsNoSecondListing) {
  server_->write_file("u/file.txt", "12345");
  server_->make_dir("u/dir");
  auto client = connect();
  ASSERT_TRUE(client);
  const auto listings = [&] {
    const std::string log = server_->log();
    std::size_t n = 0;
    for (std::size_t at = log.find("\"LIST "); at != std::string::npos; at = log.find("\"LIST ", at + 1))
      ++n;
    return n;
  };
  const std::size_t before = listings();
  EXPECT_EQ(client->stat_unlisted(remote("u/missing")).code(), ftp::make_error_code(Errc::not_found));
  auto file = client->stat_unlisted(remote("u/file.txt"));
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_EQ(file->type, ftp::FileType::file);
  EXPECT_EQ(file->size, 5u);
  auto dir = client->stat_unlisted(remote("u/dir"));
  ASSERT_TRUE(dir) << dir.error().message();
  EXPECT_EQ(dir->type, ftp::FileType::directory);
  EXPECT_EQ(listings(), before) << server_->log();
  // stat() still looks in the listing, for names neither SIZE nor CWD knows.
  EXPECT_EQ(client->stat(remote("u/missing")).code(), ftp::make_error_code(Errc::not_found));
  EXPECT_EQ(listings(), before + 1) << server_->log();
}

TEST_F(AsioClientVsftpdTest, SetsModificationTimeWithMdtm) {
  server_->write_file("t.txt", "x");
  auto client = connect();
  ASSERT_TRUE(client);
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1500000000));
  ASSERT_TRUE(client->set_mtime(remote("t.txt"), when));
  auto st = client->stat(remote("t.txt"));
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_TRUE(st->mtime);
  EXPECT_EQ(*st->mtime, when);
}

TEST_F(AsioClientVsftpdTest, EightThreadsShareThePool) {
  auto client = connect();
  ASSERT_TRUE(client);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string data = pattern(1 << 20, 100 + t);
      const std::string path = remote("p" + std::to_string(t) + ".bin");
      for (int i = 0; i < 3; ++i) {
        if (!put(*client, path, data))
          ++failures;
        auto d = client->download(path, 0);
        if (!d) {
          ++failures;
          continue;
        }
        auto back = testsupport::read_to_end(**d);
        if (!back || *back != data)
          ++failures;
        if (!client->list(server_->remote_root()))
          ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(client->stats().pool.sessions_open, 4u);
}

TEST_F(AsioClientVsftpdTest, ActiveModeTransfersBothWays) {
  auto c = config();
  c.data_mode = ftp::DataMode::active;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  const std::string data = pattern(3 << 20, 7);
  ASSERT_TRUE(put(**client, remote("active.bin"), data));
  auto d = (*client)->download(remote("active.bin"), 0);
  ASSERT_TRUE(d) << d.error().message();
  auto back = testsupport::read_to_end(**d);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(fnv1a(*back), fnv1a(data));
  EXPECT_TRUE((*client)->list(server_->remote_root()));
}

TEST_F(AsioClientVsftpdTest, SessionDroppedByIdleServerIsReplaced) {
  server_.reset();
  server_ = std::make_unique<testsupport::VsftpdServer>(
      testsupport::VsftpdOptions{.extra_config = {"idle_session_timeout=1"}});
  ASSERT_TRUE(server_->started()) << server_->error();
  auto c = config();
  c.idle_timeout = 60000ms;  // no NOOP probe: the retry on a fresh session has to cope
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  std::this_thread::sleep_for(2500ms);
  auto entries = (*client)->list(server_->remote_root());
  ASSERT_TRUE(entries) << entries.error().message();
  EXPECT_EQ((*client)->stats().pool.generation, 2u);
}

TEST_F(AsioClientVsftpdTest, ConnectionLimitCapsThePoolWithoutErrors) {
  server_.reset();
  server_ = std::make_unique<testsupport::VsftpdServer>(testsupport::VsftpdOptions{.max_per_ip = 2});
  ASSERT_TRUE(server_->started()) << server_->error();
  server_->write_file("f.bin", pattern(256 << 10, 9));
  auto c = config();
  c.max_sessions = 8;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto d = (*client)->download(remote("f.bin"), 0);
        if (!d) {
          ++failures;
          continue;
        }
        auto back = testsupport::read_to_end(**d);
        if (!back || back->size() != (256u << 10))
          ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE((*client)->stats().pool.limit, 2u);
}

// A streaming upload may sit idle as long as its file stays open, so it must never take the last
// session: with two sessions, one such upload is fine and a second one is refused at once.
// How an upload that starts in the background ends: refused at once, or at finish().
std::error_code upload_outcome(ftp::Result<std::unique_ptr<ftp::Upload>>& up) {
  if (!up)
    return up.code();
  return (*up)->finish().code();
}

TEST_F(AsioClientVsftpdTest, SpareOnlyUploadNeverTakesTheLastSession) {
  auto c = config();
  c.max_sessions = 2;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  auto first = (*client)->upload_if_spare(remote("a.bin"), ftp::UploadMode::replace);
  ASSERT_TRUE(first) << first.error().message();
  // The upload starts in the background; until its STOR reached the server a second request could
  // win the spare session instead (a race of the test, not a fault: the first would be refused).
  for (int i = 0; i < 500 && !std::filesystem::exists(server_->root() / "a.bin"); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(std::filesystem::exists(server_->root() / "a.bin")) << "the first upload never started";

  auto pending = std::async(std::launch::async, [&] {
    auto second = (*client)->upload_if_spare(remote("b.bin"), ftp::UploadMode::replace);
    return upload_outcome(second);
  });
  const bool answered = pending.wait_for(5s) == std::future_status::ready;
  if (!answered)
    first->reset();  // lets a call that waits for the last session finish, so the test ends
  const auto second = pending.get();
  ASSERT_TRUE(answered) << "the second upload waited for the last session instead of being refused";
  EXPECT_EQ(second, std::errc::resource_unavailable_try_again);

  // The session left over serves everyone else while the first upload stays open.
  auto entries = (*client)->list(server_->remote_root());
  ASSERT_TRUE(entries) << entries.error().message();
  const std::string data = pattern(3u << 20, 11);
  const auto wrote = (*first)->write(data);
  ASSERT_TRUE(wrote) << "the first upload failed: " << wrote.error().message();
  const auto finished = (*first)->finish();
  ASSERT_TRUE(finished) << finished.error().message();
  first->reset();
  EXPECT_EQ(read_local(server_->root() / "a.bin"), data);
  EXPECT_FALSE(std::filesystem::exists(server_->root() / "b.bin"));

  // Both sessions are idle now: one may go to a streaming upload again.
  auto again = (*client)->upload_if_spare(remote("c.bin"), ftp::UploadMode::replace);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_TRUE((*again)->finish());
}

TEST_F(AsioClientVsftpdTest, SpareOnlyUploadIsRefusedWithASingleSession) {
  auto c = config();
  c.max_sessions = 1;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  auto up = (*client)->upload_if_spare(remote("a.bin"), ftp::UploadMode::replace);
  EXPECT_EQ(upload_outcome(up), std::errc::resource_unavailable_try_again);
  auto plain = (*client)->upload(remote("a.bin"), ftp::UploadMode::replace);
  EXPECT_FALSE(upload_outcome(plain));
}

// A server that allows one connection per client: the spare session the pool believed in does not
// exist (421), so the streaming upload is refused and the one real session stays free for others.
TEST_F(AsioClientVsftpdTest, SpareOnlyUploadFindsTheServersConnectionLimit) {
  server_.reset();
  server_ = std::make_unique<testsupport::VsftpdServer>(testsupport::VsftpdOptions{.max_per_ip = 1});
  ASSERT_TRUE(server_->started()) << server_->error();
  auto c = config();
  c.max_sessions = 4;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  auto up = (*client)->upload_if_spare(remote("a.bin"), ftp::UploadMode::replace);
  EXPECT_EQ(upload_outcome(up), std::errc::resource_unavailable_try_again);
  EXPECT_EQ((*client)->stats().pool.limit, 1u);
  auto entries = (*client)->list(server_->remote_root());
  EXPECT_TRUE(entries) << entries.error().message();
}

// Waits up to 5 s for the pool to reach a state; true if it did.
template <typename Pred>
bool pool_reaches(AsioClient& client, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!pred(client.stats().pool)) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The mount opens a second session in the background: the first streaming upload then starts on
// it at once instead of logging in (about six round trips on a far server).
TEST_F(AsioClientVsftpdTest, SpareSessionOpensInTheBackgroundAndServesTheFirstStreamingUpload) {
  auto c = config();
  c.max_sessions = 4;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  (*client)->open_spare_session();
  ASSERT_TRUE(pool_reaches(
      **client, [](const ftp::PoolStats& p) { return p.sessions_open == 2 && p.sessions_in_use == 0; }));
  auto up = (*client)->upload_if_spare(remote("a.bin"), ftp::UploadMode::replace);
  ASSERT_TRUE(up) << up.error().message();
  EXPECT_EQ((*client)->stats().pool.generation, 2u);  // no third login
  const std::string data = pattern(1u << 20, 5);
  ASSERT_TRUE((*up)->write(data));
  ASSERT_TRUE((*up)->finish());
  up->reset();
  EXPECT_EQ(read_local(server_->root() / "a.bin"), data);
}

TEST_F(AsioClientVsftpdTest, SpareSessionOnAOneConnectionServerOnlyLowersTheLimit) {
  server_.reset();
  server_ = std::make_unique<testsupport::VsftpdServer>(testsupport::VsftpdOptions{.max_per_ip = 1});
  ASSERT_TRUE(server_->started()) << server_->error();
  auto c = config();
  c.max_sessions = 4;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  (*client)->open_spare_session();
  ASSERT_TRUE(pool_reaches(**client, [](const ftp::PoolStats& p) { return p.limit == 1; }));
  EXPECT_EQ((*client)->stats().pool.sessions_open, 1u);
  auto entries = (*client)->list(server_->remote_root());
  EXPECT_TRUE(entries) << entries.error().message();
  auto up = (*client)->upload_if_spare(remote("a.bin"), ftp::UploadMode::replace);
  EXPECT_EQ(upload_outcome(up), std::errc::resource_unavailable_try_again);
}

// A whole-file fetch's outcome, waited for with a bound (the completion comes on the I/O thread).
struct FetchOutcome {
  std::error_code ec;
  std::size_t bytes = 0;
  bool completed = false;
};

FetchOutcome fetch_whole(AsioClient& client, const std::string& path, std::vector<std::span<char>> buffers,
                         std::chrono::milliseconds patience, std::chrono::milliseconds bound = 20s,
                         const std::function<void(ftp::WholeFetch&)>& meanwhile = {}) {
  auto promise = std::make_shared<std::promise<ftp::Result<std::size_t>>>();
  auto future = promise->get_future();
  auto fetch = client.fetch_whole_if_spare(path, std::move(buffers), patience,
                                           [promise](ftp::Result<std::size_t> r) { promise->set_value(r); });
  if (meanwhile && fetch)
    meanwhile(*fetch);
  FetchOutcome out;
  if (future.wait_for(bound) != std::future_status::ready) {
    // The buffers belong to the caller: the transfer must be over before they go.
    if (fetch)
      fetch->cancel();
    future.wait_for(10s);
    return out;
  }
  auto r = future.get();
  out.completed = true;
  out.ec = r ? std::error_code{} : r.code();
  out.bytes = r ? *r : 0;
  return out;
}

std::vector<std::span<char>> blocks_of(std::string& storage, std::size_t block) {
  std::vector<std::span<char>> out;
  for (std::size_t off = 0; off < storage.size(); off += block)
    out.emplace_back(storage.data() + off, std::min(block, storage.size() - off));
  return out;
}

TEST_F(AsioClientVsftpdTest, WholeFileFetchFillsEveryBufferInOrder) {
  const std::string data = pattern((3u << 20) + 4321, 21);
  server_->write_file("whole.bin", data);
  auto client = connect();
  ASSERT_TRUE(client);
  std::string got(data.size(), '\0');
  const auto out = fetch_whole(*client, remote("whole.bin"), blocks_of(got, 1u << 20), 1s);
  ASSERT_TRUE(out.completed) << "no completion";
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_EQ(out.bytes, data.size());
  EXPECT_TRUE(got == data);
  // The session came back in step: a command on it works.
  auto entries = client->list(server_->remote_root());
  ASSERT_TRUE(entries) << entries.error().message();
}

// A file shorter than the listing said: the count says so, and nothing past it is invented.
TEST_F(AsioClientVsftpdTest, WholeFileFetchOfAShorterFileReportsTheBytesItGot) {
  const std::string data = pattern(100000, 22);
  server_->write_file("short.bin", data);
  auto client = connect();
  ASSERT_TRUE(client);
  std::string got(300000, 'x');
  const auto out = fetch_whole(*client, remote("short.bin"), blocks_of(got, 128u << 10), 1s);
  ASSERT_TRUE(out.completed);
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_EQ(out.bytes, data.size());
  EXPECT_TRUE(got.substr(0, data.size()) == data);
}

TEST_F(AsioClientVsftpdTest, WholeFileFetchOfAMissingFileIsNotFound) {
  auto client = connect();
  ASSERT_TRUE(client);
  std::string got(1000, '\0');
  const auto out = fetch_whole(*client, remote("absent.bin"), blocks_of(got, 1000), 1s);
  ASSERT_TRUE(out.completed);
  EXPECT_EQ(out.ec, ftp::make_error_code(Errc::not_found)) << out.ec.message();
}

// With one session, taking it would leave none for anyone else: refused once the patience is over.
TEST_F(AsioClientVsftpdTest, WholeFileFetchNeverTakesTheLastSession) {
  server_->write_file("f.bin", pattern(5000, 23));
  auto c = config();
  c.max_sessions = 1;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  std::string got(5000, '\0');
  const auto start = std::chrono::steady_clock::now();
  const auto out = fetch_whole(**client, remote("f.bin"), blocks_of(got, 5000), 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(out.completed);
  EXPECT_EQ(out.ec, std::errc::resource_unavailable_try_again) << out.ec.message();
  EXPECT_GE(took, 250ms) << "gave up before its patience was over";
  EXPECT_LT(took, 5s);
}

// A session that comes back while the fetch waits makes one spare: the fetch goes ahead.
TEST_F(AsioClientVsftpdTest, WholeFileFetchWaitsForASessionToBecomeSpare) {
  const std::string data = pattern(200000, 24);
  server_->write_file("f.bin", data);
  server_->write_file("held.bin", pattern(8u << 20, 25));
  auto c = config();
  c.max_sessions = 2;
  auto client = AsioClient::connect(c);
  ASSERT_TRUE(client) << client.error().message();
  auto held = (*client)->download(remote("held.bin"), 0);  // one of the two sessions, for now
  ASSERT_TRUE(held) << held.error().message();
  std::string got(data.size(), '\0');
  auto released = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(200ms);
    held->reset();
  });
  const auto out = fetch_whole(**client, remote("f.bin"), blocks_of(got, 64u << 10), 5s);
  released.get();
  ASSERT_TRUE(out.completed);
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_EQ(out.bytes, data.size());
  EXPECT_TRUE(got == data);
}

// cancel() ends a transfer in progress; its completion still comes, once, and the client goes on.
TEST_F(AsioClientVsftpdTest, CancelledWholeFileFetchCompletesAndLeavesTheClientUsable) {
  server_->write_file("big.bin", pattern(64u << 20, 26));
  auto client = connect();
  ASSERT_TRUE(client);
  std::string got(64u << 20, '\0');
  const auto out = fetch_whole(*client, remote("big.bin"), blocks_of(got, 1u << 20), 1s, 20s,
                               [](ftp::WholeFetch& fetch) { fetch.cancel(); });
  ASSERT_TRUE(out.completed) << "a cancelled fetch never completed";
  if (out.ec) {
    EXPECT_EQ(out.ec, ftp::make_error_code(Errc::cancelled)) << out.ec.message();
  } else {
    EXPECT_EQ(out.bytes, got.size());  // it may have finished before the cancel arrived
  }
  auto entries = client->list(server_->remote_root());
  ASSERT_TRUE(entries) << entries.error().message();
}

}  // namespace
