// Mount tests for writing: a real vsftpd, a real FUSE mount, ordinary tools and syscalls. Every test
// checks what reached the server on the server's own disk (VsftpdServer::root()), not through the mount.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/file_data.h"
#include "tests/support/ftpfs_mount.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_env.h"
#include "tests/support/vsftpd_mount_test.h"
#include "tests/support/vsftpd_server.h"

namespace {

using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

using testsupport::random_bytes;
using testsupport::read_text_file;

void write_local(const stdfs::path& p, const std::string& data) {
  stdfs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

using testsupport::write_through;
using testsupport::WriteOutcome;

// A description of a tree good enough to compare two of them: relative path -> "dir",
// "file <sha256>" or "link <target>".
std::map<std::string, std::string> describe_tree(const stdfs::path& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const auto rel = stdfs::relative(it->path(), root).string();
    const auto status = it->symlink_status();
    if (stdfs::is_symlink(status))
      out[rel] = "link " + stdfs::read_symlink(it->path()).string();
    else if (stdfs::is_directory(status))
      out[rel] = "dir";
    else
      out[rel] = "file " + testsupport::sha256_file(it->path());
  }
  if (ec)
    out["<error>"] = ec.message();
  return out;
}

std::string describe_difference(const std::map<std::string, std::string>& want,
                                const std::map<std::string, std::string>& got) {
  std::string out;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end())
      out += "missing: " + k + "\n";
    else if (it->second != v)
      out += "differs: " + k + " (want " + v + ", got " + it->second + ")\n";
  }
  for (const auto& [k, v] : got)
    if (!want.count(k))
      out += "extra: " + k + " (" + v + ")\n";
  return out;
}

// A tree with nested directories, an empty file, small and medium files and awkward names.
void make_sample_tree(const stdfs::path& root) {
  write_local(root / "empty", "");
  write_local(root / "small.txt", "small file\n");
  write_local(root / "a/medium.bin", random_bytes(3 * 1024 * 1024 + 7, 21));
  write_local(root / "a/b/c/deep.txt", "deep\n");
  write_local(root / "a/b/with space.txt", "space\n");
  write_local(root / "x/one", random_bytes(70000, 22));
  write_local(root / "x/two", random_bytes(1, 23));
  stdfs::create_directories(root / "emptydir");
}

std::size_t first_difference(const std::string& a, const std::string& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i])
      return i;
  return n;
}

bool is_prefix_of(const std::string& part, const std::string& whole) {
  return part.size() <= whole.size() && whole.compare(0, part.size(), part) == 0;
}

std::size_t large_file_mb() {
  const char* env = std::getenv("FTPFS_LARGE_MB");
  return env ? std::strtoul(env, nullptr, 10) : 512;
}

class MountWriteTest : public testsupport::VsftpdMountTest {
 protected:
  testsupport::RunResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout = 120s) {
    return testsupport::run_command(argv, timeout);
  }

  std::string diagnostics() const {
    std::string out = "--- ftpfs output (tail) ---\n";
    const std::string log = mount_ ? mount_->output() : "";
    out += log.size() > 4000 ? log.substr(log.size() - 4000) : log;
    return out;
  }
};

TEST_F(MountWriteTest, CpOfEmptyAndSmallFilesReachesServer) {
  ASSERT_NO_FATAL_FAILURE(mount());
  testsupport::TempDir src("cp-src");
  write_local(src.path() / "empty", "");
  write_local(src.path() / "small.txt", "hello, server\n");
  const std::string medium = random_bytes(5 * 1024 * 1024 + 3, 31);
  write_local(src.path() / "medium.bin", medium);
  for (const char* name : {"empty", "small.txt", "medium.bin"}) {
    auto cp = run({"cp", (src.path() / name).string(), (mnt() / name).string()});
    EXPECT_EQ(cp.exit_code, 0) << name << ": " << cp.err << diagnostics();
  }
  ASSERT_TRUE(stdfs::exists(srv() / "empty"));
  EXPECT_EQ(stdfs::file_size(srv() / "empty"), 0u);
  EXPECT_EQ(read_text_file(srv() / "small.txt"), "hello, server\n");
  EXPECT_EQ(testsupport::sha256_file(srv() / "medium.bin"),
            testsupport::sha256_file(src.path() / "medium.bin"));
  // The mount sees what it wrote.
  EXPECT_EQ(read_text_file(mnt() / "small.txt"), "hello, server\n");
  struct stat st {};
  ASSERT_EQ(::stat((mnt() / "medium.bin").c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), medium.size());
}

TEST_F(MountWriteTest, CpOfANewFileIntoADirectoryListsItOnce) {
  // The directory's listing shows the new name is not there; vsftpd has no MLST, so asking for the
  // name costs SIZE and CWD, and must not list the directory a second time.
  server_->write_file("in/old.txt", "old");
  ASSERT_NO_FATAL_FAILURE(mount());
  testsupport::TempDir src("cp-src");
  write_local(src.path() / "new.txt", "new content\n");
  auto cp = run({"cp", (src.path() / "new.txt").string(), (mnt() / "in").string() + "/"});
  ASSERT_EQ(cp.exit_code, 0) << cp.err << diagnostics();
  EXPECT_EQ(read_text_file(srv() / "in" / "new.txt"), "new content\n");
  const std::string log = server_->log();
  const std::string listing_of_in = "\"LIST -a " + server_->remote_root() + "/in\"";
  std::size_t listings = 0;
  for (std::size_t at = log.find(listing_of_in); at != std::string::npos;
       at = log.find(listing_of_in, at + 1))
    ++listings;
  EXPECT_EQ(listings, 1u) << diagnostics();
}

TEST_F(MountWriteTest, CpOfLargeFileIsByteExactOnServer) {
  // 512 MiB by default, as the issue asks; FTPFS_LARGE_MB shrinks it on small machines.
  const std::size_t mb = large_file_mb();
  testsupport::TempDir src("cp-large");
  {
    std::ofstream f(src.path() / "large.bin", std::ios::binary);
    std::string chunk = random_bytes(1 << 20, 32);
    for (std::size_t i = 0; i < mb; ++i) {
      std::memcpy(chunk.data(), &i, sizeof i);  // no two MiB alike
      f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
  }
  ASSERT_NO_FATAL_FAILURE(mount());
  auto cp = run({"cp", (src.path() / "large.bin").string(), (mnt() / "large.bin").string()}, 500s);
  ASSERT_EQ(cp.exit_code, 0) << cp.err << diagnostics();
  ASSERT_TRUE(stdfs::exists(srv() / "large.bin"));
  EXPECT_EQ(stdfs::file_size(srv() / "large.bin"), mb << 20);
  EXPECT_EQ(testsupport::sha256_file(srv() / "large.bin"),
            testsupport::sha256_file(src.path() / "large.bin"));
}

TEST_F(MountWriteTest, OverwriteWithShorterContentLeavesOnlyNewContent) {
  server_->write_file("doc.txt", std::string(100000, 'L') + " the old, long version\n");  // 100023 bytes
  server_->write_file("viacp.txt", std::string(5000, 'O'));
  ASSERT_NO_FATAL_FAILURE(mount());
  EXPECT_EQ(read_text_file(mnt() / "doc.txt").size(), 100023u);  // read first, so caches hold the old one

  const auto outcome = write_through(mnt() / "doc.txt", "short\n", O_WRONLY | O_TRUNC);
  EXPECT_EQ(outcome.open_errno, 0) << std::strerror(outcome.open_errno);
  EXPECT_EQ(outcome.write_errno, 0) << std::strerror(outcome.write_errno);
  EXPECT_EQ(outcome.close_errno, 0) << std::strerror(outcome.close_errno);
  EXPECT_EQ(read_text_file(srv() / "doc.txt"), "short\n");
  EXPECT_EQ(read_text_file(mnt() / "doc.txt"), "short\n");

  testsupport::TempDir src("overwrite");
  write_local(src.path() / "new", "new");
  auto cp = run({"cp", (src.path() / "new").string(), (mnt() / "viacp.txt").string()});
  EXPECT_EQ(cp.exit_code, 0) << cp.err << diagnostics();
  EXPECT_EQ(read_text_file(srv() / "viacp.txt"), "new");
}

TEST_F(MountWriteTest, ShellAppendAddsToTheEnd) {
  server_->write_file("log.txt", "line one\n");
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string file = (mnt() / "log.txt").string();
  auto first = run({"sh", "-c", "echo 'line two' >> '" + file + "'"});
  EXPECT_EQ(first.exit_code, 0) << first.err << diagnostics();
  auto second = run({"sh", "-c", "echo x >> '" + file + "'"});
  EXPECT_EQ(second.exit_code, 0) << second.err << diagnostics();
  EXPECT_EQ(read_text_file(srv() / "log.txt"), "line one\nline two\nx\n");
  EXPECT_EQ(read_text_file(mnt() / "log.txt"), "line one\nline two\nx\n");
  // Appending to a file that does not exist yet creates it.
  auto fresh = run({"sh", "-c", "echo new >> '" + (mnt() / "fresh.txt").string() + "'"});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(read_text_file(srv() / "fresh.txt"), "new\n");
}

TEST_F(MountWriteTest, TruncateSmallerAndLargerZeroFills) {
  const std::string original = random_bytes(100000, 41);
  server_->write_file("t.bin", original);
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string path = (mnt() / "t.bin").string();

  auto shrink = run({"truncate", "-s", "30000", path});
  EXPECT_EQ(shrink.exit_code, 0) << shrink.err << diagnostics();
  EXPECT_TRUE(read_text_file(srv() / "t.bin") == original.substr(0, 30000))
      << "server has " << stdfs::file_size(srv() / "t.bin") << " bytes";

  auto grow = run({"truncate", "-s", "250000", path});
  EXPECT_EQ(grow.exit_code, 0) << grow.err << diagnostics();
  const std::string want = original.substr(0, 30000) + std::string(220000, '\0');
  const std::string got = read_text_file(srv() / "t.bin");
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "first difference at " << first_difference(got, want);
  EXPECT_TRUE(read_text_file(mnt() / "t.bin") == want);

  auto zero = run({"truncate", "-s", "0", path});
  EXPECT_EQ(zero.exit_code, 0) << zero.err;
  EXPECT_EQ(read_text_file(srv() / "t.bin"), "");
}

TEST_F(MountWriteTest, DdNotruncIntoTheMiddleOfALargeFile) {
  std::string reference = random_bytes(8 * 1024 * 1024, 51);
  server_->write_file("big.bin", reference);
  ASSERT_NO_FATAL_FAILURE(mount());
  testsupport::TempDir src("dd");
  const std::string patch = random_bytes(3000, 52);
  write_local(src.path() / "patch", patch);
  auto dd = run({"dd", "if=" + (src.path() / "patch").string(), "of=" + (mnt() / "big.bin").string(), "bs=1",
                 "seek=1234567", "conv=notrunc", "status=none"},
                300s);
  EXPECT_EQ(dd.exit_code, 0) << dd.err << diagnostics();
  reference.replace(1234567, patch.size(), patch);
  write_local(src.path() / "reference", reference);
  ASSERT_EQ(stdfs::file_size(srv() / "big.bin"), reference.size());
  const std::string got = read_text_file(srv() / "big.bin");
  EXPECT_TRUE(got == reference) << "first difference at " << first_difference(got, reference);
  EXPECT_EQ(testsupport::sha256_file(mnt() / "big.bin"), testsupport::sha256_file(src.path() / "reference"));
}

TEST_F(MountWriteTest, TouchCreatesEmptyFileOnServer) {
  ASSERT_NO_FATAL_FAILURE(mount());
  auto touch = run({"touch", (mnt() / "touched").string()});
  EXPECT_EQ(touch.exit_code, 0) << touch.err << diagnostics();
  ASSERT_TRUE(stdfs::exists(srv() / "touched"));
  EXPECT_EQ(stdfs::file_size(srv() / "touched"), 0u);
  struct stat st {};
  ASSERT_EQ(::stat((mnt() / "touched").c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
}

TEST_F(MountWriteTest, TouchWithDateSetsServerMtime) {
  server_->write_file("existing", "content");
  ASSERT_NO_FATAL_FAILURE(mount());
  // The local reference turns the date into seconds in the same time zone touch uses.
  testsupport::TempDir ref_dir("touch-ref");
  const std::string date = "2020-01-02 03:04:05";
  ASSERT_EQ(run({"touch", "-d", date, (ref_dir.path() / "ref").string()}).exit_code, 0);
  struct stat ref {};
  ASSERT_EQ(::stat((ref_dir.path() / "ref").c_str(), &ref), 0);

  for (const char* name : {"existing", "created"}) {
    auto touch = run({"touch", "-d", date, (mnt() / name).string()});
    EXPECT_EQ(touch.exit_code, 0) << name << ": " << touch.err << diagnostics();
    struct stat server_side {
    }, mounted{};
    ASSERT_EQ(::stat((srv() / name).c_str(), &server_side), 0) << name;
    EXPECT_EQ(server_side.st_mtim.tv_sec, ref.st_mtim.tv_sec) << name << " on the server\n" << diagnostics();
    ASSERT_EQ(::stat((mnt() / name).c_str(), &mounted), 0) << name;
    EXPECT_EQ(mounted.st_mtim.tv_sec, ref.st_mtim.tv_sec) << name << " through the mount";
  }
  EXPECT_EQ(read_text_file(srv() / "existing"), "content");
}

// vsftpd refuses SITE CHMOD to anonymous users ("550 Permission denied"). chmod through the mount
// then succeeds without changing the mode (as documented), and after three refusals in a row it
// stops costing a round trip per file: cp -a, rsync -a and tar -x chmod every file they make.
TEST_F(MountWriteTest, ChmodTheServerRefusesChangesNothingAndIsAskedOnlyNowAndThen) {
  for (int i = 0; i < 40; ++i)
    server_->write_file("m" + std::to_string(100 + i), "x");
  ASSERT_NO_FATAL_FAILURE(mount());
  std::vector<std::string> args = {"chmod", "600"};
  for (int i = 0; i < 40; ++i)
    args.push_back((mnt() / ("m" + std::to_string(100 + i))).string());
  const std::size_t log_before = server_->log().size();
  auto chmod = run(args);
  EXPECT_EQ(chmod.exit_code, 0) << chmod.err << diagnostics();
  const std::string during = server_->log().substr(log_before);
  int asked = 0;
  for (std::size_t at = during.find("\"SITE CHMOD 600 "); at != std::string::npos;
       at = during.find("\"SITE CHMOD 600 ", at + 1))
    ++asked;
  EXPECT_EQ(asked, 4) << "three refusals in a row, then every 32nd\n" << during;
  struct stat server_side {
  }, mounted{};
  ASSERT_EQ(::stat((srv() / "m139").c_str(), &server_side), 0);
  EXPECT_EQ(server_side.st_mode & 07777, 0644u);
  ASSERT_EQ(::stat((mnt() / "m139").c_str(), &mounted), 0);
  EXPECT_EQ(mounted.st_mode & 07777, 0644u) << "the mount shows the mode the server kept";
}

TEST_F(MountWriteTest, MkdirParentsCreatesNestedDirectories) {
  ASSERT_NO_FATAL_FAILURE(mount());
  auto mkdir = run({"mkdir", "-p", (mnt() / "a/b/c").string()});
  EXPECT_EQ(mkdir.exit_code, 0) << mkdir.err << diagnostics();
  EXPECT_TRUE(stdfs::is_directory(srv() / "a/b/c"));
  EXPECT_TRUE(stdfs::is_directory(mnt() / "a/b/c"));
  // A second mkdir -p of the same path succeeds and changes nothing.
  auto again = run({"mkdir", "-p", (mnt() / "a/b/c").string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(::mkdir((mnt() / "a/b").c_str(), 0755), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(MountWriteTest, MkdirPMvAndRmRCostNoListingOfWhatTheyMade) {
  // Directories made through the mount are known to the last name: moving a file into them and
  // removing them again needs neither a listing nor a probe of a name, only the changes themselves.
  server_->write_file("f.txt", "moved\n");
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string log_before = server_->log();
  ASSERT_EQ(run({"mkdir", "-p", (mnt() / "a/b/c").string()}).exit_code, 0) << diagnostics();
  ASSERT_EQ(run({"mv", (mnt() / "f.txt").string(), (mnt() / "a/b").string() + "/"}).exit_code, 0)
      << diagnostics();
  EXPECT_EQ(read_text_file(srv() / "a/b/f.txt"), "moved\n");
  ASSERT_EQ(run({"rm", "-r", (mnt() / "a").string()}).exit_code, 0) << diagnostics();
  EXPECT_FALSE(stdfs::exists(srv() / "a"));
  const std::string log = server_->log().substr(log_before.size());
  // (Looking up "a" itself, before mkdir made it, is the one probe of a name /pub's listing lacked.)
  const std::string a = server_->remote_root() + "/a";
  EXPECT_EQ(log.find("\"LIST -a " + a), std::string::npos) << log;
  for (const char* verb : {"\"SIZE ", "\"CWD ", "\"MLST "})
    EXPECT_EQ(log.find(verb + a + "/"), std::string::npos) << verb << "\n" << log;
}

TEST_F(MountWriteTest, RmdirOfNonEmptyDirectoryIsEnotempty) {
  server_->write_file("full/file", "x");
  ASSERT_NO_FATAL_FAILURE(mount());
  EXPECT_EQ(::rmdir((mnt() / "full").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY) << std::strerror(errno);
  EXPECT_EQ(read_text_file(srv() / "full/file"), "x");
}

TEST_F(MountWriteTest, RmRecursiveRemovesTreeFromServer) {
  server_->write_file("tree/a/1", "1");
  server_->write_file("tree/a/b/2", "22");
  server_->write_file("tree/c/3", random_bytes(100000, 61));
  server_->make_dir("tree/empty");
  server_->write_file("keep", "keep");
  ASSERT_NO_FATAL_FAILURE(mount());
  auto rm = run({"rm", "-r", (mnt() / "tree").string()});
  EXPECT_EQ(rm.exit_code, 0) << rm.err << diagnostics();
  EXPECT_FALSE(stdfs::exists(srv() / "tree"));
  EXPECT_FALSE(stdfs::exists(mnt() / "tree"));
  EXPECT_EQ(read_text_file(srv() / "keep"), "keep");
}

TEST_F(MountWriteTest, MvOfFileAndOfDirectory) {
  server_->write_file("f.txt", "file content");
  server_->write_file("d/x", "x");
  server_->write_file("d/sub/y", "y");
  ASSERT_NO_FATAL_FAILURE(mount());
  // Look first, so stale cache entries would show.
  EXPECT_EQ(read_text_file(mnt() / "f.txt"), "file content");
  EXPECT_EQ(read_text_file(mnt() / "d/sub/y"), "y");

  auto mv_file = run({"mv", (mnt() / "f.txt").string(), (mnt() / "g.txt").string()});
  EXPECT_EQ(mv_file.exit_code, 0) << mv_file.err << diagnostics();
  EXPECT_FALSE(stdfs::exists(srv() / "f.txt"));
  EXPECT_EQ(read_text_file(srv() / "g.txt"), "file content");
  EXPECT_FALSE(stdfs::exists(mnt() / "f.txt"));
  EXPECT_EQ(read_text_file(mnt() / "g.txt"), "file content");

  auto mv_dir = run({"mv", (mnt() / "d").string(), (mnt() / "e").string()});
  EXPECT_EQ(mv_dir.exit_code, 0) << mv_dir.err << diagnostics();
  EXPECT_FALSE(stdfs::exists(srv() / "d"));
  EXPECT_EQ(read_text_file(srv() / "e/x"), "x");
  EXPECT_EQ(read_text_file(srv() / "e/sub/y"), "y");
  EXPECT_FALSE(stdfs::exists(mnt() / "d"));
  EXPECT_EQ(read_text_file(mnt() / "e/sub/y"), "y");

  // Into another directory.
  auto mv_into = run({"mv", (mnt() / "g.txt").string(), (mnt() / "e/sub/").string()});
  EXPECT_EQ(mv_into.exit_code, 0) << mv_into.err;
  EXPECT_EQ(read_text_file(srv() / "e/sub/g.txt"), "file content");
}

TEST_F(MountWriteTest, MvOverExistingFileReplacesIt) {
  server_->write_file("src", "the new content");
  server_->write_file("dst", std::string(50000, 'o'));
  ASSERT_NO_FATAL_FAILURE(mount());
  EXPECT_EQ(read_text_file(mnt() / "dst").size(), 50000u);
  auto mv = run({"mv", "-f", (mnt() / "src").string(), (mnt() / "dst").string()});
  EXPECT_EQ(mv.exit_code, 0) << mv.err << diagnostics();
  EXPECT_FALSE(stdfs::exists(srv() / "src"));
  EXPECT_EQ(read_text_file(srv() / "dst"), "the new content");
  EXPECT_EQ(read_text_file(mnt() / "dst"), "the new content");
}

TEST_F(MountWriteTest, TarExtractIntoMountReproducesTree) {
  testsupport::TempDir src("tar-src");
  make_sample_tree(src.path() / "tree");
  const auto archive = src.path() / "tree.tar";
  auto create = run({"tar", "-cf", archive.string(), "-C", src.path().string(), "tree"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::size_t log_before = server_->log().size();
  auto extract = run({"tar", "-xf", archive.string(), "-C", mnt().string()}, 300s);
  EXPECT_EQ(extract.exit_code, 0) << extract.err << diagnostics();
  // Every directory of the tree was made through the mount: extracting needs no listing of any.
  const std::string during = server_->log().substr(log_before);
  EXPECT_EQ(during.find("\"LIST -a " + server_->remote_root() + "/tree"), std::string::npos) << during;
  const auto want = describe_tree(src.path() / "tree");
  EXPECT_EQ(describe_difference(want, describe_tree(srv() / "tree")), "") << "on the server";
  EXPECT_EQ(describe_difference(want, describe_tree(mnt() / "tree")), "") << "through the mount";
  // tar restores file times; the server honours MDTM with a time.
  struct stat local {
  }, server_side{};
  ASSERT_EQ(::stat((src.path() / "tree/a/medium.bin").c_str(), &local), 0);
  ASSERT_EQ(::stat((srv() / "tree/a/medium.bin").c_str(), &server_side), 0);
  EXPECT_EQ(server_side.st_mtim.tv_sec, local.st_mtim.tv_sec);
  struct stat mounted {};
  ASSERT_EQ(::stat((mnt() / "tree/a/medium.bin").c_str(), &mounted), 0);
  EXPECT_EQ(mounted.st_mtim.tv_sec, local.st_mtim.tv_sec) << "the mount shows the time it set";
}

class MountRsyncTest : public MountWriteTest {
 protected:
  // Changes three files of the sample tree (in the middle, at the end, shorter) and moves their
  // mtimes well away, so rsync's size+mtime check cannot skip them.
  void change_sample_tree(const stdfs::path& root) {
    std::string medium = read_text_file(root / "a/medium.bin");
    medium.replace(1000000, 5000, random_bytes(5000, 71));
    write_local(root / "a/medium.bin", medium);
    write_local(root / "small.txt", "small file\nand a second line\n");
    write_local(root / "x/one", read_text_file(root / "x/one").substr(0, 1000));
    write_local(root / "new file", "added later\n");
    for (const char* name : {"a/medium.bin", "small.txt", "x/one", "new file"})
      stdfs::last_write_time(root / name, stdfs::last_write_time(root / name) + 3600s);
  }

  void rsync_and_compare(const stdfs::path& src, const std::vector<std::string>& extra_flags) {
    std::vector<std::string> argv = {"rsync", "-a"};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    argv.push_back(src.string() + "/");
    argv.push_back((mnt() / "dst").string() + "/");
    auto rsync = run(argv, 300s);
    EXPECT_EQ(rsync.exit_code, 0) << rsync.err << diagnostics();
    const auto want = describe_tree(src);
    EXPECT_EQ(describe_difference(want, describe_tree(srv() / "dst")), "") << "on the server";
    EXPECT_EQ(describe_difference(want, describe_tree(mnt() / "dst")), "") << "through the mount";
    struct stat local {
    }, server_side{};
    ASSERT_EQ(::stat((src / "a/medium.bin").c_str(), &local), 0);
    ASSERT_EQ(::stat((srv() / "dst/a/medium.bin").c_str(), &server_side), 0);
    EXPECT_EQ(server_side.st_mtim.tv_sec, local.st_mtim.tv_sec) << "rsync -a sets mtimes";
  }
};

TEST_F(MountRsyncTest, RsyncArchiveWithTempFilesAndRename) {
  testsupport::TempDir src("rsync-src");
  make_sample_tree(src.path());
  ASSERT_NO_FATAL_FAILURE(mount());
  ASSERT_NO_FATAL_FAILURE(rsync_and_compare(src.path(), {}));
  change_sample_tree(src.path());
  ASSERT_NO_FATAL_FAILURE(rsync_and_compare(src.path(), {}));
  // No temporary files left behind on the server.
  for (const auto& e : stdfs::recursive_directory_iterator(srv() / "dst"))
    EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
}

TEST_F(MountRsyncTest, RsyncIntoANewDirectoryNeverListsIt) {
  // rsync writes each file under a temporary name and renames it into place. The directory it made
  // is known to hold exactly what went in through the mount: no rename may cost a new listing of
  // it, nor a probe of the next temporary name.
  testsupport::TempDir src("rsync-flat");
  std::map<std::string, std::string> files;
  for (int i = 0; i < 20; ++i) {
    const std::string name = "f" + std::to_string(i);
    files[name] = random_bytes(1000 + static_cast<std::size_t>(i), 800 + static_cast<unsigned>(i));
    write_local(src.path() / name, files[name]);
  }
  ASSERT_NO_FATAL_FAILURE(mount());
  auto rsync = run({"rsync", "-a", src.path().string() + "/", (mnt() / "flat").string() + "/"}, 120s);
  ASSERT_EQ(rsync.exit_code, 0) << rsync.err << diagnostics();
  for (const auto& [name, content] : files)
    EXPECT_TRUE(read_text_file(srv() / "flat" / name) == content) << name;
  const std::string log = server_->log();
  const auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
      ++n;
    return n;
  };
  const std::string dir = server_->remote_root() + "/flat";
  EXPECT_EQ(count("\"LIST -a " + dir + "\""), 0u) << diagnostics();
  EXPECT_EQ(count("\"CWD " + dir + "/"), 0u) << diagnostics();
  EXPECT_EQ(count("\"RNTO " + dir + "/"), files.size());
}

TEST_F(MountRsyncTest, RsyncInplaceUpdatesFilesInPlace) {
  testsupport::TempDir src("rsync-inplace");
  make_sample_tree(src.path());
  ASSERT_NO_FATAL_FAILURE(mount());
  ASSERT_NO_FATAL_FAILURE(rsync_and_compare(src.path(), {"--inplace"}));
  change_sample_tree(src.path());
  ASSERT_NO_FATAL_FAILURE(rsync_and_compare(src.path(), {"--inplace", "--no-whole-file"}));
}

TEST_F(MountWriteTest, ConcurrentWritersOfDifferentFiles) {
  ASSERT_NO_FATAL_FAILURE(mount({"connections=4"}));
  constexpr int kWriters = 8;
  std::vector<std::string> contents;
  for (int i = 0; i < kWriters; ++i)
    contents.push_back(random_bytes(3 * 1024 * 1024 + static_cast<std::size_t>(i) * 1001, 80 + i));
  std::vector<WriteOutcome> outcomes(kWriters);
  std::vector<std::function<void()>> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      outcomes[i] = write_through(mnt() / ("w" + std::to_string(i)), contents[i],
                                  O_WRONLY | O_CREAT | O_TRUNC, 64 * 1024);
    });
  }
  run_concurrently(writers);
  for (int i = 0; i < kWriters; ++i) {
    const auto name = "w" + std::to_string(i);
    EXPECT_EQ(outcomes[i].open_errno, 0) << name << ": " << std::strerror(outcomes[i].open_errno);
    EXPECT_EQ(outcomes[i].write_errno, 0) << name << ": " << std::strerror(outcomes[i].write_errno);
    EXPECT_EQ(outcomes[i].close_errno, 0) << name << ": " << std::strerror(outcomes[i].close_errno);
    EXPECT_TRUE(read_text_file(srv() / name) == contents[i]) << name << " on the server\n" << diagnostics();
  }
}

// Writes all of data to fd; 0 or the errno of the failed write.
int write_all(int fd, const std::string& data, std::size_t chunk = 128 * 1024) {
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd, data.data() + off, std::min(chunk, data.size() - off));
    if (n < 0)
      return errno;
    off += static_cast<std::size_t>(n);
  }
  return 0;
}

// A file open for writing whose writer is idle must not hold the only session: with one connection,
// reading another file and listing still work while it stays open.
TEST_F(MountWriteTest, IdleWriterLeavesTheOnlySessionToOthers) {
  const std::string other = random_bytes(2 * 1024 * 1024 + 5, 101);
  server_->write_file("B", other);
  const std::string first = random_bytes(1024 * 1024, 102), second = random_bytes(700000, 103);
  ASSERT_NO_FATAL_FAILURE(mount({"connections=1"}));

  WriteOutcome a;
  std::string b;
  std::vector<std::string> names;
  auto others_took = std::chrono::steady_clock::duration::zero();
  auto body = [&] {
    const int fd = ::open((mnt() / "A").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      a.open_errno = errno;
      return;
    }
    a.write_errno = write_all(fd, first);
    const auto start = std::chrono::steady_clock::now();  // A stays open, its writer idle
    b = read_text_file(mnt() / "B");
    std::error_code ec;
    for (stdfs::directory_iterator it(mnt(), ec); !ec && it != stdfs::directory_iterator(); it.increment(ec))
      names.push_back(it->path().filename().string());
    others_took = std::chrono::steady_clock::now() - start;
    if (a.write_errno == 0)
      a.write_errno = write_all(fd, second);
    if (::close(fd) != 0)
      a.close_errno = errno;
  };
  run_concurrently({body}, 30s);
  EXPECT_TRUE(b == other) << "B read through the mount differs\n" << diagnostics();
  EXPECT_NE(std::find(names.begin(), names.end(), "B"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "A"), names.end());
  EXPECT_LT(others_took, 10s) << "reading B and listing waited for A's session";
  EXPECT_EQ(a.open_errno, 0) << std::strerror(a.open_errno);
  EXPECT_EQ(a.write_errno, 0) << std::strerror(a.write_errno);
  EXPECT_EQ(a.close_errno, 0) << std::strerror(a.close_errno);
  EXPECT_TRUE(read_text_file(srv() / "A") == first + second) << "A on the server\n" << diagnostics();
}

// dd and shell redirections (`cmd > file`) open the file, dup the descriptor and close the first
// one, which flushes the empty file before any write. What they write afterwards must still go out
// while it is written, not all at the last close.
TEST_F(MountWriteTest, WritesAfterDupAndCloseReachServerBeforeTheLastClose) {
  const std::string content = random_bytes(16 * 1024 * 1024 + 3, 105);
  ASSERT_NO_FATAL_FAILURE(mount());
  const int first = ::open((mnt() / "dd.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(first, 0) << std::strerror(errno);
  const int fd = ::dup(first);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::close(first), 0) << std::strerror(errno);
  ASSERT_EQ(write_all(fd, content, 1024 * 1024), 0);
  std::error_code ec;
  std::uintmax_t on_server = 0;
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
    on_server = stdfs::file_size(srv() / "dd.bin", ec);
    if (!ec && on_server > 0)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(on_server, 0u) << "nothing reached the server while the file was open\n" << diagnostics();
  ASSERT_EQ(::close(fd), 0) << std::strerror(errno);
  EXPECT_TRUE(read_text_file(srv() / "dd.bin") == content) << "dd.bin on the server\n" << diagnostics();
}

// cp within the mount alternates reading the source and writing the destination; with one
// connection the destination's upload must not keep it while cp waits for the next source chunk.
TEST_F(MountWriteTest, CpWithinTheMountWithOneConnection) {
  const std::string content = random_bytes(6 * 1024 * 1024 + 77, 104);
  server_->write_file("src.bin", content);
  ASSERT_NO_FATAL_FAILURE(mount({"connections=1"}));
  auto cp = run({"cp", (mnt() / "src.bin").string(), (mnt() / "copy.bin").string()}, 60s);
  ASSERT_FALSE(cp.timed_out) << "cp hung\n" << diagnostics();
  ASSERT_EQ(cp.exit_code, 0) << cp.err << diagnostics();
  EXPECT_TRUE(read_text_file(srv() / "copy.bin") == content) << "copy.bin on the server\n" << diagnostics();
}

TEST_F(MountWriteTest, ReaderOfAPathBeingRewrittenNeverSeesGarbage) {
  const std::string old_content = random_bytes(4 * 1024 * 1024, 91);
  const std::string new_content = random_bytes(4 * 1024 * 1024 + 4096, 92);
  server_->write_file("shared.bin", old_content);
  ASSERT_NO_FATAL_FAILURE(mount({"connections=4"}));
  ASSERT_TRUE(read_text_file(mnt() / "shared.bin") == old_content);

  std::atomic<bool> writer_done{false}, writer_opened{false};
  WriteOutcome outcome;
  auto writer = [&] {
    const int fd = ::open((mnt() / "shared.bin").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    writer_opened = true;
    if (fd < 0) {
      outcome.open_errno = errno;
      writer_done = true;
      return;
    }
    constexpr std::size_t kChunk = 64 * 1024;
    for (std::size_t off = 0; off < new_content.size(); off += kChunk) {
      if (::write(fd, new_content.data() + off, std::min(kChunk, new_content.size() - off)) < 0) {
        outcome.write_errno = errno;
        break;
      }
      std::this_thread::sleep_for(2ms);
    }
    if (::close(fd) != 0)
      outcome.close_errno = errno;
    writer_done = true;
  };

  // A reader that opens the file after the truncating open sees a prefix of the new version. One
  // that opened it before may also read old bytes up to the truncation and new ones after it, at
  // their own offsets, as on a local filesystem. Never bytes from neither version, and never old
  // bytes after new ones (a stale page cache).
  std::vector<std::string> garbage;
  std::atomic<int> reads{0};
  std::mutex garbage_mutex;
  auto reader = [&] {
    while (!writer_done) {
      const bool began_before_truncation = !writer_opened;
      const std::string seen = read_text_file(mnt() / "shared.bin");
      ++reads;
      if (is_prefix_of(seen, new_content))
        continue;
      if (began_before_truncation) {
        const std::size_t switched = first_difference(seen, old_content);  // old bytes up to here
        if (seen.size() <= new_content.size() &&
            seen.compare(switched, std::string::npos, new_content, switched, seen.size() - switched) == 0)
          continue;
      }
      std::lock_guard lock(garbage_mutex);
      // Where the bytes came from, to tell a stale page cache from a staging copy read too early.
      std::size_t like_old = 0, like_new = 0, zero = 0;
      for (std::size_t i = 0; i < seen.size(); ++i) {
        like_old += i < old_content.size() && seen[i] == old_content[i];
        like_new += i < new_content.size() && seen[i] == new_content[i];
        zero += seen[i] == '\0';
      }
      garbage.push_back(std::string(began_before_truncation ? "(began before the truncation) " : "") +
                        "size " + std::to_string(seen.size()) + ", differs from old at " +
                        std::to_string(first_difference(seen, old_content)) + ", from new at " +
                        std::to_string(first_difference(seen, new_content)) + "; bytes equal to old " +
                        std::to_string(like_old) + ", to new " + std::to_string(like_new) + ", zero " +
                        std::to_string(zero));
    }
  };
  run_concurrently({writer, reader, reader});
  EXPECT_EQ(outcome.open_errno, 0) << std::strerror(outcome.open_errno);
  EXPECT_EQ(outcome.write_errno, 0) << std::strerror(outcome.write_errno);
  EXPECT_EQ(outcome.close_errno, 0) << std::strerror(outcome.close_errno);
  for (const auto& g : garbage)
    ADD_FAILURE() << "reader saw neither version: " << g;
  EXPECT_GT(reads.load(), 0);
  // After the writer's close, an open sees the new version in full (close-to-open).
  const std::string after = read_text_file(mnt() / "shared.bin");
  EXPECT_EQ(after.size(), new_content.size());
  EXPECT_TRUE(after == new_content) << "first difference at " << first_difference(after, new_content);
  EXPECT_TRUE(read_text_file(srv() / "shared.bin") == new_content);
}

TEST_F(MountWriteTest, WritesAfterATruncatingOpenBypassThePageCache) {
  // cp over an existing file: as for a new file, its bytes go to the server without first being
  // copied into (and filling) the kernel's page cache. A mapping of the file taken before the
  // truncating open shows which of its pages the cache holds (mincore), without reading any.
  constexpr std::size_t kSize = 8 << 20;
  const std::string old_content = random_bytes(kSize, 93);
  const std::string new_content = random_bytes(kSize, 94);
  server_->write_file("over.bin", old_content);
  ASSERT_NO_FATAL_FAILURE(mount());
  const int rfd = ::open((mnt() / "over.bin").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(rfd, 0) << std::strerror(errno);
  void* map = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, rfd, 0);
  ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);

  const int wfd = ::open((mnt() / "over.bin").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(wfd, 0) << std::strerror(errno);
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t off = 0; off < kSize; off += kChunk)
    ASSERT_EQ(::write(wfd, new_content.data() + off, kChunk), static_cast<ssize_t>(kChunk))
        << std::strerror(errno);
  std::vector<unsigned char> resident(kSize / static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  ASSERT_EQ(::mincore(map, kSize, resident.data()), 0) << std::strerror(errno);
  const auto cached = std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; });
  EXPECT_EQ(cached, 0) << "pages of the file in the page cache while it is written";
  EXPECT_EQ(::close(wfd), 0) << std::strerror(errno);
  ::munmap(map, kSize);
  ::close(rfd);
  EXPECT_TRUE(read_text_file(srv() / "over.bin") == new_content) << diagnostics();
}

TEST_F(MountWriteTest, AFileUnlinkedWhileOpenIsGoneAndItsWritesGoNowhere) {
  // As on a local filesystem: the name goes at once, the open descriptor keeps working, and closing
  // it uploads nothing (before, the upload at close brought the file back, or the unlink failed).
  // Both a file already streaming to the server and a small one that has not reached it yet.
  ASSERT_NO_FATAL_FAILURE(mount());
  for (const auto& [name, size] :
       {std::pair<std::string, std::size_t>{"big.tmp", 3u << 20}, {"small.tmp", 10}}) {
    SCOPED_TRACE(name);
    const std::string first = random_bytes(size, 95);
    const int fd = ::open((mnt() / name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(::write(fd, first.data(), first.size()), static_cast<ssize_t>(first.size()))
        << std::strerror(errno);
    ASSERT_EQ(::unlink((mnt() / name).c_str()), 0) << std::strerror(errno) << diagnostics();
    struct stat st {};
    EXPECT_EQ(::stat((mnt() / name).c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
    const std::string more = "written after the unlink\n";
    EXPECT_EQ(::write(fd, more.data(), more.size()), static_cast<ssize_t>(more.size()))
        << std::strerror(errno);
    std::string back(first.size() + more.size(), '\0');
    EXPECT_EQ(::pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()))
        << std::strerror(errno);
    EXPECT_TRUE(back == first + more) << "the open file still reads what was written";
    EXPECT_EQ(::close(fd), 0) << std::strerror(errno);
    EXPECT_FALSE(stdfs::exists(srv() / name)) << diagnostics();
    EXPECT_FALSE(stdfs::exists(mnt() / name));
  }
}

TEST_F(MountWriteTest, ExclusiveCreateOfExistingFileIsEexist) {
  server_->write_file("there", "keep me");
  ASSERT_NO_FATAL_FAILURE(mount());
  EXPECT_EQ(::open((mnt() / "there").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), -1);
  EXPECT_EQ(errno, EEXIST) << std::strerror(errno);
  EXPECT_EQ(read_text_file(srv() / "there"), "keep me");

  const auto fresh = write_through(mnt() / "fresh", "exclusive", O_WRONLY | O_CREAT | O_EXCL);
  EXPECT_EQ(fresh.open_errno, 0) << std::strerror(fresh.open_errno);
  EXPECT_EQ(fresh.close_errno, 0) << std::strerror(fresh.close_errno);
  EXPECT_EQ(read_text_file(srv() / "fresh"), "exclusive");
  EXPECT_EQ(::open((mnt() / "fresh").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), -1);
  EXPECT_EQ(errno, EEXIST) << std::strerror(errno);
}

TEST_F(MountWriteTest, LinksAndForeignOwnersArePermissionErrors) {
  server_->write_file("file", "data");
  ASSERT_NO_FATAL_FAILURE(mount());
  EXPECT_EQ(::link((mnt() / "file").c_str(), (mnt() / "hard").c_str()), -1);
  EXPECT_EQ(errno, EPERM) << std::strerror(errno);
  EXPECT_EQ(::symlink("file", (mnt() / "soft").c_str()), -1);
  EXPECT_EQ(errno, EPERM) << std::strerror(errno);
  EXPECT_EQ(::chown((mnt() / "file").c_str(), getuid() + 1000, static_cast<gid_t>(-1)), -1);
  EXPECT_EQ(errno, EPERM) << std::strerror(errno);
  EXPECT_FALSE(stdfs::exists(srv() / "hard"));
  EXPECT_FALSE(stdfs::exists(srv() / "soft"));
  EXPECT_EQ(read_text_file(srv() / "file"), "data");
  auto ln = run({"ln", (mnt() / "file").string(), (mnt() / "hard2").string()});
  EXPECT_NE(ln.exit_code, 0);
  auto ln_s = run({"ln", "-s", "file", (mnt() / "soft2").string()});
  EXPECT_NE(ln_s.exit_code, 0);
}

TEST_F(MountWriteTest, ExtendedAttributesAreNotSupported) {
  server_->write_file("file", "data");
  ASSERT_NO_FATAL_FAILURE(mount());
  const auto path = (mnt() / "file").string();
  char value[64];
  for (int round = 0; round < 2; ++round) {  // the kernel answers itself after the first time
    EXPECT_EQ(::getxattr(path.c_str(), "user.test", value, sizeof value), -1);
    EXPECT_EQ(errno, ENOTSUP) << std::strerror(errno);
    EXPECT_EQ(::setxattr(path.c_str(), "user.test", "v", 1, 0), -1);
    EXPECT_EQ(errno, ENOTSUP) << std::strerror(errno);
  }
  EXPECT_EQ(::listxattr(path.c_str(), value, sizeof value), 0);  // none, not an error
  // Writing still works with no xattr support (the kernel checks security.capability on writes).
  const auto w = write_through(mnt() / "file", "new data", O_WRONLY | O_TRUNC);
  EXPECT_EQ(w.close_errno, 0) << std::strerror(w.close_errno);
  EXPECT_EQ(read_text_file(srv() / "file"), "new data");
}

TEST_F(MountWriteTest, RandomizedOperationsMatchReference) {
  std::string reference = random_bytes(256 * 1024, 101);
  server_->write_file("rand.bin", reference);
  ASSERT_NO_FATAL_FAILURE(mount());
  const auto path = mnt() / "rand.bin";
  std::mt19937 rng(102);
  constexpr std::size_t kMaxSize = 1024 * 1024;
  constexpr std::size_t kMaxLen = 64 * 1024;
  std::vector<char> buf(kMaxSize + kMaxLen + 1);

  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno) << diagnostics();
  // A failed assertion must not leave the file open, or the mount could not be unmounted cleanly.
  struct CloseAtExit {
    int& fd;
    ~CloseAtExit() {
      if (fd >= 0)
        ::close(fd);
    }
  } close_at_exit{fd};
  for (int step = 0; step < 200; ++step) {
    const unsigned kind = rng() % 10;
    std::string what;
    if (kind < 5) {
      const std::size_t len = 1 + rng() % kMaxLen;
      const std::size_t off = rng() % (std::min(reference.size() + kMaxLen, kMaxSize - len) + 1);
      const std::string data = random_bytes(len, 1000 + static_cast<unsigned>(step));
      what = "pwrite " + std::to_string(len) + " at " + std::to_string(off);
      ASSERT_EQ(::pwrite(fd, data.data(), len, static_cast<off_t>(off)), static_cast<ssize_t>(len))
          << what << ": " << std::strerror(errno);
      if (reference.size() < off + len)
        reference.resize(off + len, '\0');
      reference.replace(off, len, data);
    } else if (kind < 7) {
      const std::size_t size = rng() % (kMaxSize + 1);
      what = "ftruncate to " + std::to_string(size);
      ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0) << what << ": " << std::strerror(errno);
      reference.resize(size, '\0');
    } else {
      const std::size_t len = 1 + rng() % kMaxLen;
      const std::size_t off = rng() % (reference.size() + 1000);
      what = "pread " + std::to_string(len) + " at " + std::to_string(off);
      const ssize_t n = ::pread(fd, buf.data(), len, static_cast<off_t>(off));
      ASSERT_GE(n, 0) << what << ": " << std::strerror(errno);
      const std::size_t expect = off >= reference.size() ? 0 : std::min(len, reference.size() - off);
      ASSERT_EQ(static_cast<std::size_t>(n), expect) << "step " << step << ": " << what;
      ASSERT_EQ(0, std::memcmp(buf.data(), reference.data() + std::min(off, reference.size()), expect))
          << "step " << step << ": " << what;
    }
    // After every step the whole file, as the writer sees it, equals the reference.
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
    ASSERT_EQ(static_cast<std::size_t>(st.st_size), reference.size()) << "step " << step << ": " << what;
    const ssize_t n = ::pread(fd, buf.data(), reference.size() + 1, 0);
    ASSERT_EQ(n, static_cast<ssize_t>(reference.size())) << "step " << step << ": " << what;
    ASSERT_EQ(0, std::memcmp(buf.data(), reference.data(), reference.size()))
        << "step " << step << ": " << what << ", first difference at "
        << first_difference(std::string(buf.data(), reference.size()), reference);

    if (step % 20 == 19 || step == 199) {
      ASSERT_EQ(::close(fd), 0) << "step " << step << ": " << std::strerror(errno) << diagnostics();
      fd = -1;
      const std::string server_side = read_text_file(srv() / "rand.bin");
      ASSERT_EQ(server_side.size(), reference.size()) << "server after step " << step;
      ASSERT_TRUE(server_side == reference)
          << "server after step " << step << " differs at " << first_difference(server_side, reference);
      if (step != 199) {
        fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0) << std::strerror(errno);
      }
    }
  }
}

}  // namespace
