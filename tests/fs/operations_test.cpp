#include "fs/operations.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>

#include <cerrno>
#include <random>

#include "fs/errno_map.h"
#include "tests/fakes/fake_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

class ManualClock final : public cache::Clock {
 public:
  time_point now() const override { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  time_point now_{std::chrono::seconds(1000)};
};

class OperationsTest : public ::testing::Test {
 protected:
  OperationsTest()
      : metadata_(clock_, cache::MetadataTtl{std::chrono::seconds(10), std::chrono::seconds(10),
                                             std::chrono::seconds(5)}),
        blocks_(cache::BlockCacheConfig{64 * 1024, 8u << 20, {}, 0}),
        ops_(make_config(), client_, metadata_, blocks_) {}

  static fs::OperationsConfig make_config() {
    fs::OperationsConfig c;
    c.remote_root = "/srv";
    c.owner = {1234, 5678};
    return c;
  }

  int err(const ftp::Error& e) { return fs::to_errno(e.code); }
  std::string read_all(const std::string& path) {
    auto h = ops_.open(path, O_RDONLY);
    EXPECT_TRUE(h) << h.error().message();
    if (!h)
      return {};
    std::string out;
    std::vector<char> buf(100000);
    for (std::uint64_t off = 0;;) {
      auto n = ops_.read(*h, off, buf);
      EXPECT_TRUE(n);
      if (!n || *n == 0)
        break;
      out.append(buf.data(), *n);
      off += *n;
    }
    EXPECT_TRUE(ops_.release(*h));
    return out;
  }

  fakes::FakeClient client_;
  ManualClock clock_;
  cache::MetadataCache metadata_;
  cache::BlockCache blocks_;
  fs::Operations ops_;
};

TEST_F(OperationsTest, GetattrReportsTypeSizeModeAndOwner) {
  client_.add_file("/srv/a.txt", "hello");
  auto st = ops_.getattr("/a.txt");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(S_ISREG(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0644u);
  EXPECT_EQ(st->st_size, 5);
  EXPECT_EQ(st->st_uid, 1234u);
  EXPECT_EQ(st->st_gid, 5678u);
  EXPECT_EQ(st->st_mtim.tv_sec, 1700000000);
}

// Without MLST nothing but "a directory" can be learnt about the root, so it costs no command.
TEST_F(OperationsTest, RootAttributesCostNoCommandOnAServerWithoutMlst) {
  ftp::Features plain;
  plain.size = plain.mdtm = true;
  client_.set_features(plain);
  auto st = ops_.getattr("/");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(st->st_uid, 1234u);
  EXPECT_EQ(client_.calls("stat"), 0);
  EXPECT_EQ(client_.calls("list"), 0);
}

TEST_F(OperationsTest, RootAttributesComeFromMlstWhereTheServerHasIt) {
  client_.add_directory("/srv/sub");
  auto st = ops_.getattr("/");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(client_.calls("stat"), 1);
}

TEST_F(OperationsTest, GetattrOfMissingPathIsEnoentAndCachedNegatively) {
  client_.add_directory("/srv");
  auto st = ops_.getattr("/missing");
  ASSERT_FALSE(st);
  EXPECT_EQ(err(st.error()), ENOENT);
  const int before = client_.calls("stat");
  EXPECT_FALSE(ops_.getattr("/missing"));
  EXPECT_EQ(client_.calls("stat"), before);
}

TEST_F(OperationsTest, ReaddirCostsOneListingAndFeedsGetattr) {
  for (int i = 0; i < 50; ++i)
    client_.add_file("/srv/d/f" + std::to_string(i), std::string(i, 'x'));
  auto entries = ops_.readdir("/d");
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->size(), 50u);
  EXPECT_EQ(client_.calls("list"), 1);
  for (int i = 0; i < 50; ++i) {
    auto st = ops_.getattr("/d/f" + std::to_string(i));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->st_size, i);
  }
  EXPECT_EQ(client_.calls("stat"), 0) << "stat of listed entries must come from the listing";
  EXPECT_FALSE(ops_.getattr("/d/not-there"));
  EXPECT_EQ(client_.calls("stat"), 0) << "a name missing from a fresh listing does not exist";
}

TEST_F(OperationsTest, ServerChangeVisibleAfterCacheTimeout) {
  client_.add_file("/srv/f", "one");
  ASSERT_EQ(ops_.getattr("/f")->st_size, 3);
  client_.add_file("/srv/f", "three");
  EXPECT_EQ(ops_.getattr("/f")->st_size, 3);
  clock_.advance(std::chrono::seconds(11));
  EXPECT_EQ(ops_.getattr("/f")->st_size, 5);
  EXPECT_EQ(read_all("/f"), "three");
}

TEST_F(OperationsTest, LookupsInOneDirectoryCostOneListing) {
  for (int i = 0; i < 20; ++i)
    client_.add_file("/srv/dir/f" + std::to_string(i), "x");
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(ops_.getattr("/dir/f" + std::to_string(i)));
  EXPECT_FALSE(ops_.getattr("/dir/new"));
  EXPECT_EQ(client_.calls("list"), 1) << "one listing of /dir answers every name in it";
  EXPECT_EQ(client_.calls("stat"), 0);
}

TEST_F(OperationsTest, NewDirectoryNeedsNoLookupRoundTrips) {
  client_.add_directory("/srv");
  ASSERT_TRUE(ops_.mkdir("/fresh", 0755));
  const int lists = client_.calls("list"), stats = client_.calls("stat");
  EXPECT_EQ(err(ops_.getattr("/fresh/a").error()), ENOENT);
  EXPECT_EQ(client_.calls("list"), lists);
  EXPECT_EQ(client_.calls("stat"), stats);
}

TEST_F(OperationsTest, ReadsFileByteExact) {
  std::string data(1000000, '\0');
  std::mt19937 rng(7);
  for (auto& c : data)
    c = static_cast<char>(rng());
  client_.add_file("/srv/big", data);
  EXPECT_EQ(read_all("/big"), data);
}

TEST_F(OperationsTest, ReadlinkReturnsTarget) {
  client_.add_symlink("/srv/link", "target/file");
  client_.add_file("/srv/plain", "x");
  auto st = ops_.getattr("/link");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  EXPECT_EQ(*ops_.readlink("/link"), "target/file");
  EXPECT_EQ(err(ops_.readlink("/plain").error()), EINVAL);
}

TEST_F(OperationsTest, OpenDirectoryIsEisdir) {
  client_.add_directory("/srv/dir");
  auto h = ops_.open("/dir", O_RDONLY);
  ASSERT_FALSE(h);
  EXPECT_EQ(err(h.error()), EISDIR);
}

TEST_F(OperationsTest, RmdirOfNonEmptyDirectoryIsEnotempty) {
  client_.add_file("/srv/full/x", "1");
  auto s = ops_.rmdir("/full");
  ASSERT_FALSE(s);
  EXPECT_EQ(err(s.error()), ENOTEMPTY);
  EXPECT_TRUE(client_.node("/srv/full"));
}

TEST_F(OperationsTest, RmdirOfMissingDirectoryIsEnoent) {
  client_.add_directory("/srv");
  auto s = ops_.rmdir("/nope");
  ASSERT_FALSE(s);
  EXPECT_EQ(err(s.error()), ENOENT);
}

TEST_F(OperationsTest, MkdirShowsImmediatelyAndExistingIsEexist) {
  client_.add_directory("/srv");
  ASSERT_TRUE(ops_.readdir("/"));
  ASSERT_TRUE(ops_.mkdir("/new", 0755));
  auto st = ops_.getattr("/new");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  auto again = ops_.mkdir("/new", 0755);
  ASSERT_FALSE(again);
  EXPECT_EQ(err(again.error()), EEXIST);
}

TEST_F(OperationsTest, UnlinkRemovesAndMissingIsEnoent) {
  client_.add_file("/srv/f", "x");
  ASSERT_TRUE(ops_.getattr("/f"));
  ASSERT_TRUE(ops_.unlink("/f"));
  EXPECT_FALSE(client_.node("/srv/f"));
  EXPECT_EQ(err(ops_.getattr("/f").error()), ENOENT);
  EXPECT_EQ(err(ops_.unlink("/f").error()), ENOENT);
}

TEST_F(OperationsTest, RenameMovesAndUpdatesCaches) {
  client_.add_file("/srv/a", "data");
  ASSERT_TRUE(ops_.readdir("/"));
  ASSERT_TRUE(ops_.rename("/a", "/b", 0));
  EXPECT_EQ(err(ops_.getattr("/a").error()), ENOENT);
  EXPECT_EQ(ops_.getattr("/b")->st_size, 4);
  EXPECT_EQ(read_all("/b"), "data");
}

TEST_F(OperationsTest, RenameNoReplaceOverExistingIsEexist) {
  client_.add_file("/srv/a", "1");
  client_.add_file("/srv/b", "2");
  auto s = ops_.rename("/a", "/b", RENAME_NOREPLACE);
  ASSERT_FALSE(s);
  EXPECT_EQ(err(s.error()), EEXIST);
}

TEST_F(OperationsTest, ChmodReachesServerAndShowsInStat) {
  client_.add_file("/srv/f", "x");
  ASSERT_TRUE(ops_.chmod("/f", 0600));
  EXPECT_EQ(client_.node("/srv/f")->mode, 0600u);
  EXPECT_EQ(ops_.getattr("/f")->st_mode & 07777, 0600u);
}

TEST_F(OperationsTest, ChmodRefusedByServerLeavesModeAndSucceeds) {
  client_.add_file("/srv/f", "x");
  client_.fail_next("chmod", ftp::Errc::not_supported);
  EXPECT_TRUE(ops_.chmod("/f", 0600));
  EXPECT_EQ(ops_.getattr("/f")->st_mode & 07777, 0644u) << "stat must show the mode the server kept";
}

TEST_F(OperationsTest, ChmodLostConnectionIsReported) {
  client_.add_file("/srv/f", "x");
  client_.fail_next("chmod", ftp::Errc::timeout);
  auto s = ops_.chmod("/f", 0600);
  ASSERT_FALSE(s);
  EXPECT_EQ(err(s.error()), ETIMEDOUT);
}

TEST_F(OperationsTest, ChownOnlyToTheShownOwner) {
  client_.add_file("/srv/f", "x");
  EXPECT_TRUE(ops_.chown("/f", 1234, 5678));
  EXPECT_TRUE(ops_.chown("/f", std::nullopt, std::nullopt));
  auto s = ops_.chown("/f", 0, std::nullopt);
  ASSERT_FALSE(s);
  EXPECT_EQ(err(s.error()), EPERM);
}

TEST_F(OperationsTest, ServerTimeoutBecomesEtimedout) {
  client_.add_directory("/srv");
  client_.fail_next("list", ftp::Errc::timeout);
  client_.fail_next("stat", ftp::Errc::timeout);
  auto st = ops_.getattr("/x");
  ASSERT_FALSE(st);
  EXPECT_EQ(err(st.error()), ETIMEDOUT);
}

}  // namespace

namespace {

class OperationsWriteTest : public OperationsTest {
 protected:
  OperationsWriteTest() : staging_("ops-stage") {}
  void SetUp() override {
    fs::OperationsConfig c = make_config();
    c.staging.staging_dir = staging_.path() / "staging";
    c.staging.pending_dir = staging_.path() / "pending";
    writer_ = std::make_unique<fs::Operations>(c, client_, metadata_, blocks_);
    client_.add_directory("/srv");
  }
  testsupport::TempDir staging_;
  std::unique_ptr<fs::Operations> writer_;
};

TEST_F(OperationsWriteTest, CreateWriteCloseUploadsExactBytes) {
  auto h = writer_->create("/new.txt", 0644, O_WRONLY | O_CREAT);
  ASSERT_TRUE(h) << h.error().message();
  const std::string data = "some data\n";
  ASSERT_TRUE(writer_->write(*h, 0, data));
  EXPECT_EQ(writer_->getattr("/new.txt")->st_size, 10);
  ASSERT_TRUE(writer_->flush(*h));
  ASSERT_TRUE(writer_->release(*h));
  ASSERT_TRUE(client_.node("/srv/new.txt"));
  EXPECT_EQ(client_.node("/srv/new.txt")->data, data);
}

TEST_F(OperationsWriteTest, CreateExclusiveOnExistingIsEexist) {
  client_.add_file("/srv/f", "x");
  auto h = writer_->create("/f", 0644, O_WRONLY | O_CREAT | O_EXCL);
  ASSERT_FALSE(h);
  EXPECT_EQ(err(h.error()), EEXIST);
}

// The adapter lets only new files bypass the page cache; an existing one may have cached pages.
TEST_F(OperationsWriteTest, CreateTellsANewFileFromATruncatedOne) {
  client_.add_file("/srv/old", "old bytes");
  bool made_new = true;
  auto old = writer_->create("/old", 0644, O_WRONLY | O_CREAT, &made_new);
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_FALSE(made_new);
  EXPECT_EQ(writer_->getattr("/old")->st_size, 0);
  auto fresh = writer_->create("/fresh", 0644, O_WRONLY | O_CREAT, &made_new);
  ASSERT_TRUE(fresh) << fresh.error().message();
  EXPECT_TRUE(made_new);
  ASSERT_TRUE(writer_->release(*old));
  ASSERT_TRUE(writer_->release(*fresh));
  EXPECT_EQ(client_.node("/srv/old")->data, "");
}

TEST_F(OperationsWriteTest, AppendKeepsExistingContent) {
  client_.add_file("/srv/log", "line1\n");
  auto h = writer_->open("/log", O_WRONLY | O_APPEND);
  ASSERT_TRUE(h);
  ASSERT_TRUE(writer_->write(*h, 0, std::string_view("line2\n")));
  ASSERT_TRUE(writer_->flush(*h));
  ASSERT_TRUE(writer_->release(*h));
  EXPECT_EQ(client_.node("/srv/log")->data, "line1\nline2\n");
}

TEST_F(OperationsWriteTest, InPlaceChangeKeepsTheRest) {
  client_.add_file("/srv/f", "0123456789");
  auto h = writer_->open("/f", O_RDWR);
  ASSERT_TRUE(h);
  ASSERT_TRUE(writer_->write(*h, 3, std::string_view("abc")));
  std::vector<char> buf(10);
  auto n = writer_->read(*h, 0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf.data(), *n), "012abc6789");
  ASSERT_TRUE(writer_->flush(*h));
  ASSERT_TRUE(writer_->release(*h));
  EXPECT_EQ(client_.node("/srv/f")->data, "012abc6789");
}

TEST_F(OperationsWriteTest, TruncateByPathShrinksAndGrows) {
  client_.add_file("/srv/f", "0123456789");
  ASSERT_TRUE(writer_->truncate("/f", 4, 0));
  EXPECT_EQ(client_.node("/srv/f")->data, "0123");
  ASSERT_TRUE(writer_->truncate("/f", 6, 0));
  EXPECT_EQ(client_.node("/srv/f")->data, std::string("0123\0\0", 6));
  EXPECT_EQ(writer_->getattr("/f")->st_size, 6);
}

TEST_F(OperationsWriteTest, FailedUploadIsReportedAndDataKept) {
  auto h = writer_->create("/full", 0644, O_WRONLY | O_CREAT);
  ASSERT_TRUE(h);
  const std::string data(100000, 'q');
  ASSERT_TRUE(writer_->write(*h, 0, data));
  client_.fail_next("finish", ftp::Errc::insufficient_storage, 10);
  client_.fail_next("upload", ftp::Errc::insufficient_storage, 10);
  auto s = writer_->flush(*h);
  ASSERT_FALSE(s);
  EXPECT_EQ(err(s.error()), ENOSPC);
  EXPECT_NE(s.error().detail.find("kept"), std::string::npos) << s.error().detail;
  std::vector<cache::PendingUpload> pending;
  ASSERT_FALSE(cache::WriteStage::list_pending(staging_.path() / "pending", pending));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].remote_path, "/srv/full");
  EXPECT_EQ(testsupport::read_text_file(pending[0].local_file), data);
  EXPECT_TRUE(writer_->release(*h));
}

TEST_F(OperationsWriteTest, TimeSetBeforeCloseSurvivesTheUpload) {
  auto h = writer_->create("/copy", 0644, O_WRONLY | O_CREAT);
  ASSERT_TRUE(h);
  ASSERT_TRUE(writer_->write(*h, 0, std::string_view("abc")));
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1577934245));
  ASSERT_TRUE(writer_->set_mtime("/copy", when));
  EXPECT_EQ(writer_->getattr("/copy")->st_mtim.tv_sec, 1577934245);
  ASSERT_TRUE(writer_->flush(*h));
  ASSERT_TRUE(writer_->release(*h));
  EXPECT_EQ(client_.node("/srv/copy")->data, "abc");
  EXPECT_EQ(client_.node("/srv/copy")->mtime, when);
}

TEST_F(OperationsWriteTest, ReadersSeeDataBeingWrittenThroughTheMount) {
  client_.add_file("/srv/f", "old content");
  auto reader = writer_->open("/f", O_RDONLY);
  ASSERT_TRUE(reader);
  auto w = writer_->open("/f", O_WRONLY | O_TRUNC);
  ASSERT_TRUE(w);
  ASSERT_TRUE(writer_->write(*w, 0, std::string_view("new")));
  std::vector<char> buf(64);
  auto n = writer_->read(*reader, 0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf.data(), *n), "new");
  ASSERT_TRUE(writer_->flush(*w));
  ASSERT_TRUE(writer_->release(*w));
  ASSERT_TRUE(writer_->release(*reader));
}

TEST_F(OperationsWriteTest, RenameOfFileStillBeingWrittenUploadsFirst) {
  auto h = writer_->create("/tmp.part", 0644, O_WRONLY | O_CREAT);
  ASSERT_TRUE(h);
  ASSERT_TRUE(writer_->write(*h, 0, std::string_view("payload")));
  ASSERT_TRUE(writer_->rename("/tmp.part", "/final", 0));
  ASSERT_TRUE(writer_->release(*h));
  EXPECT_FALSE(client_.node("/srv/tmp.part"));
  ASSERT_TRUE(client_.node("/srv/final"));
  EXPECT_EQ(client_.node("/srv/final")->data, "payload");
}

}  // namespace
