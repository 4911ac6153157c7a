// A server that stores names in GBK, mounted with -o encoding=GBK: names show as UTF-8, files read,
// and names created through the mount reach the server in GBK.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/fakes/fake_ftp_server.h"
#include "tests/support/ftpfs_mount.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace {

namespace stdfs = std::filesystem;

// "中文目录", "数据.txt", "新建.txt" in GBK.
const std::string kDirGbk = "\xD6\xD0\xCE\xC4\xC4\xBF\xC2\xBC";
const std::string kFileGbk = "\xCA\xFD\xBE\xDD.txt";
const std::string kNewGbk = "\xD0\xC2\xBD\xA8.txt";

TEST(EncodingMountTest, GbkServerNamesShowAsUtf8BothWays) {
  FTPFS_REQUIRE(testsupport::missing_fuse());
  testsupport::FakeFtpServer server;
  // An old server: no UTF8 feature, names are bytes in the server's code page.
  server.set_features(
      "211-Features:\r\n MLST type*;size*;modify*;\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n EPSV\r\n211 "
      "End\r\n");
  server.add_directory("/" + kDirGbk);
  server.add_file("/" + kDirGbk + "/" + kFileGbk, "gbk content\n");
  testsupport::FtpfsMount mount("ftp://127.0.0.1:" + std::to_string(server.port()) + "/",
                                {.options = {"encoding=GBK"}});
  ASSERT_TRUE(mount.mounted()) << mount.error() << "\n" << mount.output();

  std::set<std::string> top;
  for (const auto& e : stdfs::directory_iterator(mount.path()))
    top.insert(e.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"中文目录"}));

  std::set<std::string> inner;
  for (const auto& e : stdfs::directory_iterator(mount.path() / "中文目录"))
    inner.insert(e.path().filename().string());
  EXPECT_EQ(inner, (std::set<std::string>{"数据.txt"}));
  EXPECT_EQ(testsupport::read_text_file(mount.path() / "中文目录" / "数据.txt"), "gbk content\n");

  {
    std::ofstream out(mount.path() / "中文目录" / "新建.txt");
    out << "new\n";
  }
  EXPECT_EQ(server.file("/" + kDirGbk + "/" + kNewGbk), std::optional<std::string>("new\n"));
  EXPECT_EQ(mount.unmount(), std::optional<int>(0));
}

TEST(EncodingMountTest, UndecodableNameIsListedAndReadable) {
  FTPFS_REQUIRE(testsupport::missing_fuse());
  testsupport::FakeFtpServer server;
  server.add_file("/" + kFileGbk, "decodable\n");
  server.add_file("/bad\xFF\xFF.bin", "undecodable\n");  // 0xFF starts no GBK character
  testsupport::FtpfsMount mount("ftp://127.0.0.1:" + std::to_string(server.port()) + "/",
                                {.options = {"encoding=GBK"}});
  ASSERT_TRUE(mount.mounted()) << mount.error() << "\n" << mount.output();

  std::vector<stdfs::path> entries;
  for (const auto& e : stdfs::directory_iterator(mount.path()))
    entries.push_back(e.path());
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& p : entries) {
    const std::string content = testsupport::read_text_file(p);
    if (p.filename() == "数据.txt")
      EXPECT_EQ(content, "decodable\n");
    else
      EXPECT_EQ(content, "undecodable\n") << "shown as " << p.filename();
  }
}

}  // namespace
