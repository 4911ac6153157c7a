// AsioClient against the scriptable fake server: the failure modes real servers produce only by
// accident (split replies, 421 mid-session, dropped data, silence, full disk, connection limits).

#include "ftp/asio_client.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ftp/error.h"
#include "tests/fakes/fake_ftp_server.h"
#include "tests/support/download.h"

namespace {

using ftp::AsioClient;
using ftp::Errc;
using testsupport::FakeFtpServer;
using namespace std::chrono_literals;

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

class AsioClientTest : public ::testing::Test {
 protected:
  ftp::SessionConfig config() const {
    ftp::SessionConfig c;
    c.host = "127.0.0.1";
    c.port = server_.port();
    c.user = "tester";
    c.password = "secret";
    c.connect_timeout = 2000ms;
    c.command_timeout = 2000ms;
    c.data_timeout = 2000ms;
    return c;
  }

  // A client whose pool is at rest: the login session has opened its next data connection ahead
  // (Session::arm_data), so the next command the server sees is the test's own.
  std::unique_ptr<AsioClient> connect(ftp::SessionConfig c) {
    auto client = AsioClient::connect(std::move(c));
    EXPECT_TRUE(client) << client.error().message();
    if (!client)
      return nullptr;
    for (int i = 0; i < 500 && (*client)->stats().pool.sessions_in_use > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return std::move(*client);
  }
  std::unique_ptr<AsioClient> connect() { return connect(config()); }

  bool saw_command_starting_with(const std::string& prefix) const {
    auto cmds = server_.commands();
    return std::any_of(cmds.begin(), cmds.end(),
                       [&](const std::string& c) { return c.rfind(prefix, 0) == 0; });
  }

  FakeFtpServer server_;
};

TEST_F(AsioClientTest, LogsInThroughMultiLineBanner) {
  server_.set_banner(
      "220-Welcome to the fake server\r\n220-230 lines may start with digits\r\n220 Ready\r\n");
  server_.add_file("/hello.txt", "hi");
  auto client = connect();
  ASSERT_TRUE(client);
  auto entries = client->list("/");
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "hello.txt");
  EXPECT_EQ((*entries)[0].size, 2u);
  EXPECT_EQ(client->initial_directory(), "/");
}

TEST_F(AsioClientTest, ASiteChmodTheServerDoesNotImplementIsNotSentAgain) {
  server_.add_file("/a", "1");
  server_.add_file("/b", "2");
  server_.set_handler([](const std::string& line) -> std::string {
    return line.rfind("SITE CHMOD", 0) == 0 ? "502 Command not implemented.\r\n" : "";
  });
  auto client = connect();
  ASSERT_TRUE(client);
  const auto not_supported = ftp::make_error_code(Errc::not_supported);
  EXPECT_EQ(client->set_mode("/a", 0600).code(), not_supported);
  EXPECT_EQ(client->set_mode("/b", 0600).code(), not_supported);
  const auto cmds = server_.commands();
  EXPECT_EQ(
      std::count_if(cmds.begin(), cmds.end(), [](const std::string& c) { return c.rfind("SITE", 0) == 0; }),
      1);
}

TEST_F(AsioClientTest, ASiteChmodRefusedForOneFileIsStillSentForTheNext) {
  server_.add_file("/a", "1");
  server_.add_file("/b", "2");
  server_.set_handler([](const std::string& line) -> std::string {
    return line == "SITE CHMOD 600 /a" ? "550 Permission denied.\r\n" : "";
  });
  auto client = connect();
  ASSERT_TRUE(client);
  EXPECT_FALSE(client->set_mode("/a", 0600));
  EXPECT_TRUE(client->set_mode("/b", 0600));
}

// vsftpd refuses every SITE CHMOD of an anonymous user with a 550: after three refusals in a row
// the client stops spending a round trip per file on it, asks again only every 32nd time, and still
// reports each one as refused.
TEST_F(AsioClientTest, ASiteChmodRefusedForFileAfterFileIsAskedOnlyNowAndThen) {
  server_.set_handler([](const std::string& line) -> std::string {
    return line.rfind("SITE CHMOD", 0) == 0 ? "550 Permission denied.\r\n" : "";
  });
  for (int i = 0; i < 43; ++i)
    server_.add_file("/f" + std::to_string(i), "x");
  auto client = connect();
  ASSERT_TRUE(client);
  for (int i = 0; i < 43; ++i) {
    const auto st = client->set_mode("/f" + std::to_string(i), 0600);
    EXPECT_FALSE(st) << i;
    EXPECT_TRUE(ftp::is_refusal(st.code())) << i << ": " << st.error().message();
  }
  const auto cmds = server_.commands();
  EXPECT_EQ(
      std::count_if(cmds.begin(), cmds.end(), [](const std::string& c) { return c.rfind("SITE", 0) == 0; }),
      4)
      << "three in a row, then the 32nd after them";
}

TEST_F(AsioClientTest, WrongPasswordFailsAtConnect) {
  server_.set_credentials("tester", "right");
  auto c = config();
  c.password = "wrong";
  auto client = AsioClient::connect(c);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.code(), ftp::make_error_code(Errc::login_failed));
  EXPECT_NE(client.error().detail.find("530"), std::string::npos);
}

TEST_F(AsioClientTest, HandlesRepliesSplitIntoSingleBytes) {
  server_.set_banner("220-multi\r\n220 line banner\r\n");
  server_.add_file("/dir/data.bin", pattern(5000));
  server_.add_directory("/dir");
  FakeFtpServer::Faults faults;
  faults.byte_at_a_time = true;
  server_.set_faults(faults);
  auto client = connect();
  ASSERT_TRUE(client);
  auto st = client->stat("/dir/data.bin");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, 5000u);
  EXPECT_EQ(st->name, "data.bin");
  auto d = client->download("/dir/data.bin", 0);
  ASSERT_TRUE(d) << d.error().message();
  auto data = testsupport::read_to_end(**d);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, pattern(5000));
}

TEST_F(AsioClientTest, ServiceUnavailableMidSessionFailsOneOperationThenRecovers) {
  server_.add_file("/a", "x");
  auto client = connect();
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.reply_421_at_command = 1;  // the next command, whatever it is
  server_.set_faults(faults);
  auto removed = client->remove_file("/a");
  EXPECT_EQ(removed.code(), ftp::make_error_code(Errc::service_unavailable));
  auto entries = client->list("/");
  ASSERT_TRUE(entries) << entries.error().message();
  EXPECT_EQ(entries->size(), 1u);
  EXPECT_EQ(server_.connections_accepted(), 2);
  EXPECT_EQ(client->stats().pool.generation, 2u);
}

TEST_F(AsioClientTest, IdleSessionClosedByServerIsRetriedForReads) {
  server_.add_file("/a", "x");
  auto client = connect();
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.reply_421_at_command = 1;
  server_.set_faults(faults);
  auto st = client->stat("/a");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, 1u);
}

TEST_F(AsioClientTest, DroppedDataConnectionIsTransferAbortedNeverEndOfFile) {
  server_.add_file("/big", pattern(100000));
  auto client = connect();
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.drop_data_after_bytes = 40000;
  server_.set_faults(faults);
  auto d = client->download("/big", 0);
  ASSERT_TRUE(d) << d.error().message();
  std::vector<char> buf(8192);
  std::size_t total = 0;
  ftp::Result<std::size_t> n = std::size_t{0};
  for (;;) {
    n = (*d)->read(buf);
    if (!n || *n == 0)
      break;
    total += *n;
  }
  ASSERT_FALSE(n) << "a short file was reported complete after " << total << " bytes";
  EXPECT_EQ(n.code(), ftp::make_error_code(Errc::transfer_aborted));
  EXPECT_EQ(total, 40000u);
  // The failure is sticky and the pool still works.
  EXPECT_FALSE((*d)->read(buf));
  d->reset();
  server_.set_faults({});
  EXPECT_TRUE(client->stat("/big"));
}

TEST_F(AsioClientTest, SilentServerTimesOutWithinDeadline) {
  auto c = config();
  c.command_timeout = 500ms;
  auto client = connect(c);
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.hang_at_verb = "MLSD";
  server_.set_faults(faults);
  const auto start = std::chrono::steady_clock::now();
  auto entries = client->list("/");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.code(), ftp::make_error_code(Errc::timeout));
  EXPECT_GE(elapsed, 450ms);
  EXPECT_LT(elapsed, 2000ms);
  server_.set_faults({});
  EXPECT_TRUE(client->list("/")) << "a new session replaces the timed-out one";
}

TEST_F(AsioClientTest, FullDiskOnStoreIsInsufficientStorageFromFinish) {
  auto client = connect();
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.stor_552 = true;
  server_.set_faults(faults);
  auto up = client->upload("/new.txt", ftp::UploadMode::replace);
  ASSERT_TRUE(up) << up.error().message();
  const std::string payload = "some data";
  ASSERT_TRUE((*up)->write(payload));
  auto done = (*up)->finish();
  EXPECT_EQ(done.code(), ftp::make_error_code(Errc::insufficient_storage));
  EXPECT_FALSE(server_.file("/new.txt"));
}

TEST_F(AsioClientTest, UploadThenResumedDownloadRoundTrips) {
  auto client = connect();
  ASSERT_TRUE(client);
  const std::string payload = pattern(300000);
  auto up = client->upload("/f.bin", ftp::UploadMode::replace);
  ASSERT_TRUE(up) << up.error().message();
  ASSERT_TRUE((*up)->write(std::span<const char>(payload.data(), 100000)));
  ASSERT_TRUE((*up)->write(std::span<const char>(payload.data() + 100000, payload.size() - 100000)));
  ASSERT_TRUE((*up)->finish());
  EXPECT_EQ((*up)->bytes_written(), payload.size());
  EXPECT_EQ(server_.file("/f.bin"), payload);
  auto d = client->download("/f.bin", 123456);
  ASSERT_TRUE(d) << d.error().message();
  auto tail = testsupport::read_to_end(**d);
  ASSERT_TRUE(tail) << tail.error().message();
  EXPECT_EQ(*tail, payload.substr(123456));
  EXPECT_EQ((*d)->offset(), payload.size());
  EXPECT_GE(client->stats().bytes_downloaded, payload.size() - 123456);
}

TEST_F(AsioClientTest, AbortedDownloadLeavesPoolUsable) {
  server_.add_file("/big", pattern(4 << 20));
  server_.add_file("/small", "small");
  auto c = config();
  c.max_sessions = 1;
  auto client = connect(c);
  ASSERT_TRUE(client);
  {
    auto d = client->download("/big", 0);
    ASSERT_TRUE(d) << d.error().message();
    std::vector<char> buf(1000);
    ASSERT_TRUE((*d)->read(buf));
  }
  EXPECT_TRUE(saw_command_starting_with("ABOR"));
  auto d = client->download("/small", 0);
  ASSERT_TRUE(d) << d.error().message();
  auto data = testsupport::read_to_end(**d);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, "small");
  EXPECT_EQ(server_.connections_accepted(), 1) << "the aborted session was reused, not replaced";
}

TEST_F(AsioClientTest, TooManyConnectionsCapsPoolAndParallelOperationsSucceed) {
  server_.add_file("/f", pattern(20000));
  FakeFtpServer::Faults faults;
  faults.max_connections = 2;
  server_.set_faults(faults);
  auto c = config();
  c.max_sessions = 6;
  auto client = connect(c);
  ASSERT_TRUE(client);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (!client->list("/"))
          ++failures;
        auto d = client->download("/f", 0);
        if (!d) {
          ++failures;
          continue;
        }
        auto data = testsupport::read_to_end(**d);
        if (!data || *data != pattern(20000))
          ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(server_.max_concurrent_connections(), 2);
  EXPECT_LE(client->stats().pool.limit, 2u);
  EXPECT_GE(client->stats().pool.limit, 1u);
}

TEST_F(AsioClientTest, PathWithLineBreakIsRefusedBeforeSending) {
  server_.add_file("/b", "x");
  auto client = connect();
  ASSERT_TRUE(client);
  const std::string evil("/a\r\nDELE /b", 11);
  EXPECT_EQ(client->remove_file(evil).code(), ftp::make_error_code(Errc::bad_name));
  EXPECT_EQ(client->list(evil).code(), ftp::make_error_code(Errc::bad_name));
  EXPECT_EQ(client->download(evil, 0).code(), ftp::make_error_code(Errc::bad_name));
  EXPECT_EQ(client->rename("/b", evil).code(), ftp::make_error_code(Errc::bad_name));
  EXPECT_EQ(client->make_directory(std::string("/x\0y", 4)).code(), ftp::make_error_code(Errc::bad_name));
  EXPECT_FALSE(saw_command_starting_with("DELE"));
  EXPECT_FALSE(saw_command_starting_with("RNFR"));
  EXPECT_TRUE(server_.file("/b"));
}

TEST_F(AsioClientTest, MutationsReachTheServer) {
  server_.add_file("/a", "x");
  auto client = connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->make_directory("/d"));
  EXPECT_TRUE(server_.has_directory("/d"));
  auto st = client->stat("/d");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->type, ftp::FileType::directory);
  ASSERT_TRUE(client->rename("/a", "/d/b"));
  EXPECT_EQ(server_.file("/d/b"), "x");
  EXPECT_EQ(client->stat("/a").code(), ftp::make_error_code(Errc::not_found));
  ASSERT_TRUE(client->remove_file("/d/b"));
  ASSERT_TRUE(client->remove_directory("/d"));
  EXPECT_FALSE(server_.has_directory("/d"));
  EXPECT_EQ(client->remove_file("/nope").code(), ftp::make_error_code(Errc::not_found));
}

TEST_F(AsioClientTest, FallsBackToPasvAndListWithoutMlsd) {
  server_.set_features("211-Features:\r\n SIZE\r\n MDTM\r\n211 End\r\n");
  server_.set_handler([](const std::string& line) -> std::string {
    return line == "EPSV" ? "502 EPSV not implemented\r\n" : "";
  });
  server_.add_file("/a file.txt", "12345");
  auto client = connect();
  ASSERT_TRUE(client);
  auto entries = client->list("/");
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "a file.txt");
  EXPECT_EQ((*entries)[0].size, 5u);
  auto st = client->stat("/a file.txt");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, 5u);
  EXPECT_TRUE(st->mtime_exact);
  EXPECT_TRUE(saw_command_starting_with("PASV"));
  EXPECT_TRUE(saw_command_starting_with("LIST -a"));
}

// Checking an upload's size costs one round trip: SIZE alone without MLST, MLST where offered.
TEST_F(AsioClientTest, StatSizeAsksOneQuestion) {
  server_.set_features("211-Features:\r\n SIZE\r\n MDTM\r\n211 End\r\n");
  server_.add_file("/up.bin", std::string(1234, 'x'));
  auto client = connect();
  ASSERT_TRUE(client);
  auto st = client->stat_size("/up.bin");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, 1234u);
  EXPECT_FALSE(st->mtime.has_value());
  EXPECT_TRUE(saw_command_starting_with("SIZE /up.bin"));
  EXPECT_FALSE(saw_command_starting_with("MDTM"));
  EXPECT_EQ(client->stat_size("/missing").code(), ftp::make_error_code(Errc::not_found));
}

TEST_F(AsioClientTest, StatSizeUsesMlstWhereOffered) {
  server_.add_file("/up.bin", std::string(77, 'x'));
  auto client = connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->features().mlst);
  auto st = client->stat_size("/up.bin");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, 77u);
  EXPECT_TRUE(st->mtime.has_value());
  EXPECT_TRUE(saw_command_starting_with("MLST"));
  EXPECT_FALSE(saw_command_starting_with("SIZE"));
}

TEST_F(AsioClientTest, PassiveReplyWithPrivateAddressUsesControlPeer) {
  server_.set_handler([](const std::string& line) -> std::string {
    return line == "EPSV" ? "502 EPSV not implemented\r\n" : "";
  });
  FakeFtpServer::Faults faults;
  faults.pasv_host = "10,255,255,1";  // unreachable from here, as behind NAT
  server_.set_faults(faults);
  server_.add_file("/f", "payload");
  auto c = config();
  c.connect_timeout = 1000ms;
  auto client = connect(c);
  ASSERT_TRUE(client);
  auto d = client->download("/f", 0);
  ASSERT_TRUE(d) << d.error().message();
  auto data = testsupport::read_to_end(**d);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, "payload");
}

TEST_F(AsioClientTest, WireLogMasksPassword) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto wire = std::make_shared<spdlog::logger>("ftp.wire", sink);
  wire->set_level(spdlog::level::trace);
  {
    auto client = AsioClient::connect(config(), ftp::SessionLoggers{nullptr, wire});
    ASSERT_TRUE(client) << client.error().message();
  }
  const std::string log = out.str();
  EXPECT_NE(log.find("USER tester"), std::string::npos) << log;
  EXPECT_NE(log.find("PASS ****"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret"), std::string::npos) << log;
  EXPECT_NE(log.find("230"), std::string::npos) << log;
}

TEST_F(AsioClientTest, IdleSessionIsCheckedWithNoopBeforeReuse) {
  auto c = config();
  c.idle_timeout = 50ms;
  auto client = connect(c);
  ASSERT_TRUE(client);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(client->list("/"));
  EXPECT_TRUE(saw_command_starting_with("NOOP"));
}

// Commands the server received from position `from` on.
std::vector<std::string> commands_since(const FakeFtpServer& server, std::size_t from) {
  auto all = server.commands();
  return {all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end()};
}

TEST_F(AsioClientTest, IdleSessionOpensItsNextDataConnectionAhead) {
  server_.add_file("/a", "first");
  server_.add_file("/b", "second");
  auto client = connect();  // at rest: its session opened a data connection ahead
  ASSERT_TRUE(client);
  ASSERT_FALSE(server_.commands().empty());
  EXPECT_EQ(server_.commands().back(), "EPSV");
  for (const char* path : {"/a", "/b"}) {
    const std::size_t before = server_.commands().size();
    auto d = client->download(path, 0);
    ASSERT_TRUE(d) << d.error().message();
    ASSERT_TRUE(testsupport::read_to_end(**d));
    d->reset();
    // The transfer started with its command alone; the EPSV for the next one follows it.
    const auto sent = commands_since(server_, before);
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.front(), std::string("RETR ") + path);
    for (int i = 0; i < 500 && client->stats().pool.sessions_in_use > 0; ++i)
      std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(server_.commands().back(), "EPSV");
}

TEST_F(AsioClientTest, ConnectionOpenedAheadThatTheServerRefusesIsReplacedOnce) {
  server_.add_file("/a", pattern(5000));
  auto client = connect();
  ASSERT_TRUE(client);
  std::atomic<bool> refused{false};
  server_.set_handler([&](const std::string& line) -> std::string {
    if (line.rfind("RETR", 0) == 0 && !refused.exchange(true))
      return "425 Can't open data connection.\r\n";
    return "";
  });
  const std::size_t before = server_.commands().size();
  auto d = client->download("/a", 0);
  ASSERT_TRUE(d) << d.error().message();
  auto data = testsupport::read_to_end(**d);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, pattern(5000));
  const auto sent = commands_since(server_, before);
  ASSERT_GE(sent.size(), 3u);
  EXPECT_EQ(sent[0], "RETR /a");
  EXPECT_EQ(sent[1], "EPSV");
  EXPECT_EQ(sent[2], "RETR /a");
}

TEST_F(AsioClientTest, RefusedStoreOfAnEarlyUploadIsItsErrorAndTheSessionStaysUsable) {
  // The first bytes of an upload go out before the server's 150 (Session::start_store): a refusal
  // must still be the upload's error, and the session must stay in step.
  auto client = connect();
  ASSERT_TRUE(client);
  server_.set_handler([](const std::string& line) -> std::string {
    if (line.rfind("STOR", 0) == 0)
      return "553 Could not create file.\r\n";
    return "";
  });
  auto up = client->upload("/denied.bin", ftp::UploadMode::replace);
  ASSERT_TRUE(up) << up.error().message();
  const std::string chunk = pattern(300000);
  ftp::Status st = (*up)->write(chunk);
  for (int i = 0; st && i < 4; ++i)
    st = (*up)->write(chunk);  // a later write may be the one that sees the refusal
  const ftp::Status done = st ? (*up)->finish() : st;
  EXPECT_EQ(done.code(), ftp::make_error_code(Errc::permission_denied));
  up->reset();
  server_.set_handler(nullptr);
  EXPECT_FALSE(server_.file("/denied.bin"));
  auto entries = client->list("/");
  EXPECT_TRUE(entries) << entries.error().message();
}

TEST_F(AsioClientTest, PipelinedDownloadFillsQueuedBuffersInOrderAndEndsVerified) {
  const std::string content = pattern(100000);
  server_.add_file("/f", content);
  auto client = connect();
  ASSERT_TRUE(client);
  auto d = client->download("/f", 1000);
  ASSERT_TRUE(d) << d.error().message();
  std::vector<std::vector<char>> bufs(4, std::vector<char>(30000));
  for (auto& b : bufs)
    (*d)->queue(b);
  std::vector<std::size_t> got;
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    auto n = (*d)->next();
    ASSERT_TRUE(n) << n.error().message();
    got.push_back(*n);
  }
  // 99,000 bytes from offset 1000: three full buffers, then the last 9,000 at the verified end.
  EXPECT_EQ(got, (std::vector<std::size_t>{30000, 30000, 30000, 9000}));
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    EXPECT_TRUE(std::equal(bufs[i].begin(), bufs[i].begin() + static_cast<std::ptrdiff_t>(got[i]),
                           content.begin() + 1000 + static_cast<std::ptrdiff_t>(i * 30000)))
        << i;
  }
  std::vector<char> after(10);
  (*d)->queue(after);
  auto end = (*d)->next();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, 0u);
}

TEST_F(AsioClientTest, QuietBuffersArriveInOrderAndTheLastOneQueuedWakesTheWaiter) {
  // The file goes on past the buffers, so no end of data wakes anyone: only the rule that the last
  // queued buffer's fill wakes a waiter, quiet or not. The data comes slowly, so next() waits.
  const std::string content = pattern(400000);
  server_.add_file("/f", content);
  FakeFtpServer::Faults faults;
  faults.slow_retr_bytes_per_second = 500000;
  server_.set_faults(faults);
  auto c = config();
  c.data_timeout = 20000ms;  // a missed wake-up must show as a hang, not end in a timeout
  auto client = connect(c);
  ASSERT_TRUE(client);
  auto d = client->download("/f", 0);
  ASSERT_TRUE(d) << d.error().message();
  std::vector<std::vector<char>> bufs(5, std::vector<char>(30000));
  (*d)->queue_quiet(bufs[0]);
  (*d)->queue(bufs[1]);  // a group's end
  (*d)->queue_quiet(bufs[2]);
  (*d)->queue_quiet(bufs[3]);
  (*d)->queue_quiet(bufs[4]);  // the last one queued: its fill wakes although quiet
  auto collected = std::async(std::launch::async, [&] {
    std::vector<std::size_t> got;
    for (std::size_t i = 0; i < bufs.size(); ++i) {
      auto n = (*d)->next();
      got.push_back(n ? *n : 0);
    }
    return got;
  });
  const bool woke = collected.wait_for(5s) == std::future_status::ready;
  if (!woke)
    (*d)->cancel();  // lets the waiting thread go before failing
  ASSERT_TRUE(woke) << "next() still waits for a quiet buffer that arrived";
  EXPECT_EQ(collected.get(), std::vector<std::size_t>(5, 30000));
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    EXPECT_TRUE(
        std::equal(bufs[i].begin(), bufs[i].end(), content.begin() + static_cast<std::ptrdiff_t>(i * 30000)))
        << i;
  }
}

TEST_F(AsioClientTest, CancelledWaitOnAStalledDownloadReturnsAtOnce) {
  server_.add_file("/f", pattern(200000));
  server_.add_file("/g", "after");
  auto c = config();
  c.data_timeout = 10000ms;  // the cancel, not the deadline, must end the wait
  auto client = connect(c);
  ASSERT_TRUE(client);
  // The server says 150 and then sends nothing: a stalled transfer.
  server_.set_handler([](const std::string& line) -> std::string {
    if (line.rfind("RETR /f", 0) == 0)
      return "150 Here it comes (not).\r\n";
    return "";
  });
  auto d = client->download("/f", 0);
  ASSERT_TRUE(d) << d.error().message();
  std::vector<char> buf(65536);
  (*d)->queue(buf);
  auto waiting = std::async(std::launch::async, [&] { return (*d)->next(); });
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout);
  const auto cancelled_at = std::chrono::steady_clock::now();
  (*d)->cancel();
  ASSERT_EQ(waiting.wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 500ms);
  auto n = waiting.get();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.code(), ftp::make_error_code(Errc::cancelled));
  d->reset();  // aborts; a session left out of step is discarded, not reused
  server_.set_handler(nullptr);
  auto g = client->download("/g", 0);
  ASSERT_TRUE(g) << g.error().message();
  auto data = testsupport::read_to_end(**g);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, "after");
}

TEST_F(AsioClientTest, StalledDownloadTimesOutAndTheNextOneWorks) {
  server_.add_file("/f", pattern(200000));
  server_.add_file("/g", "after");
  auto c = config();
  c.data_timeout = 400ms;
  auto client = connect(c);
  ASSERT_TRUE(client);
  server_.set_handler([](const std::string& line) -> std::string {
    if (line.rfind("RETR /f", 0) == 0)
      return "150 Here it comes (not).\r\n";
    return "";
  });
  auto d = client->download("/f", 0);
  ASSERT_TRUE(d) << d.error().message();
  std::vector<char> buf(65536);
  const auto started = std::chrono::steady_clock::now();
  (*d)->queue(buf);
  auto n = (*d)->next();
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(n);
  EXPECT_EQ(n.code(), ftp::make_error_code(Errc::timeout));
  EXPECT_GE(waited, 350ms);
  EXPECT_LT(waited, 3s);
  d->reset();
  server_.set_handler(nullptr);
  auto g = client->download("/g", 0);
  ASSERT_TRUE(g) << g.error().message();
  auto data = testsupport::read_to_end(**g);
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data, "after");
}

TEST_F(AsioClientTest, SlowUploadThatKeepsMovingIsNotAStall) {
  // A write of one large chunk takes longer than data_timeout on a slow reader, but it moves all the
  // time: the timeout is for no progress, not for the whole write.
  auto c = config();
  c.data_timeout = 300ms;
  auto client = connect(c);
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.slow_stor_bytes_per_second = 4u << 20;  // 8 MiB take about two seconds
  server_.set_faults(faults);
  auto up = client->upload("/slow.bin", ftp::UploadMode::replace);
  ASSERT_TRUE(up) << up.error().message();
  const std::string payload = pattern(8u << 20);
  ASSERT_TRUE((*up)->write(payload));
  auto done = (*up)->finish();
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_EQ(server_.file("/slow.bin"), payload);
}

TEST_F(AsioClientTest, UploadToAServerThatStopsReadingTimesOut) {
  auto c = config();
  c.data_timeout = 400ms;
  c.command_timeout = 400ms;
  auto client = connect(c);
  ASSERT_TRUE(client);
  FakeFtpServer::Faults faults;
  faults.hang_at_verb = "STOR";  // no reply, and the data connection is never read
  server_.set_faults(faults);
  auto up = client->upload("/never.bin", ftp::UploadMode::replace);
  ASSERT_TRUE(up) << up.error().message();
  const auto started = std::chrono::steady_clock::now();
  const std::string payload = pattern(32u << 20);  // more than the sockets buffer
  ftp::Status st = (*up)->write(payload);
  if (st)
    st = (*up)->finish();
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), ftp::make_error_code(Errc::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
