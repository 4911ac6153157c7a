#include "ftp/listing_parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ftp/ftp_time.h"

namespace {

using ftp::DirEntry;
using ftp::FileType;
using ftp::ListingFormat;
using std::chrono::system_clock;

system_clock::time_point utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return ftp::make_utc_time(y, mo, d, h, mi, s).value();
}

// A fixed "now" so year inference does not depend on the day the tests run.
const system_clock::time_point kNow = utc(2024, 6, 15, 12, 0);

struct ListCase {
  const char* line;
  const char* name;
  FileType type;
  std::uint64_t size;
  system_clock::time_point mtime;
  std::uint32_t mode;
  const char* target;
};

class ListingParserUnixTest : public testing::TestWithParam<ListCase> {};

TEST_P(ListingParserUnixTest, ParsesLine) {
  const auto& c = GetParam();
  const auto e = ftp::parse_list_line(c.line, kNow);
  ASSERT_TRUE(e) << c.line;
  EXPECT_EQ(e->name, c.name);
  EXPECT_EQ(e->type, c.type);
  EXPECT_EQ(e->size, c.size);
  EXPECT_EQ(e->mtime, c.mtime);
  EXPECT_FALSE(e->mtime_exact);
  EXPECT_EQ(e->mode, c.mode);
  EXPECT_EQ(e->link_target, c.target);
}

INSTANTIATE_TEST_SUITE_P(
    Dialects, ListingParserUnixTest,
    testing::Values(
        // vsftpd
        ListCase{"-rw-r--r--    1 1000     1000         1234 Mar 05 09:30 notes.txt", "notes.txt",
                 FileType::file, 1234, utc(2024, 3, 5, 9, 30), 0644, ""},
        ListCase{"drwxr-xr-x    2 0        0            4096 Jan 01  2020 pub", "pub", FileType::directory,
                 4096, utc(2020, 1, 1), 0755, ""},
        // ProFTPD
        ListCase{"-rw-r--r--   1 ftp      ftp        524288 Jun 14 23:59 big.bin", "big.bin", FileType::file,
                 524288, utc(2024, 6, 14, 23, 59), 0644, ""},
        ListCase{"drwxrwsr-t   3 alice    staff          96 Dec 31  1999 old dir", "old dir",
                 FileType::directory, 96, utc(1999, 12, 31), 03775, ""},
        // missing group column
        ListCase{"-rw-------   1 owner      77 Feb 29  2024 solo", "solo", FileType::file, 77,
                 utc(2024, 2, 29), 0600, ""},
        // no link count, no group
        ListCase{"-rwSr-Sr-T owner 5 Apr 1 2021 odd", "odd", FileType::file, 5, utc(2021, 4, 1), 07644, ""},
        // names with spaces, a leading space, and "->" in a regular file
        ListCase{"-rw-r--r--    1 u g 1 May 10 10:00 two  spaces ", "two  spaces ", FileType::file, 1,
                 utc(2024, 5, 10, 10, 0), 0644, ""},
        ListCase{"-rw-r--r--    1 u g 1 May 10 10:00  leading", " leading", FileType::file, 1,
                 utc(2024, 5, 10, 10, 0), 0644, ""},
        ListCase{"-rw-r--r--    1 u g 1 May 10  2010 a -> b", "a -> b", FileType::file, 1, utc(2010, 5, 10),
                 0644, ""},
        ListCase{"lrwxrwxrwx    1 0 0 11 May 10 10:00 link name -> target dir/x", "link name",
                 FileType::symlink, 11, utc(2024, 5, 10, 10, 0), 0777, "target dir/x"},
        // device and pipe entries are "other"
        ListCase{"prw-r--r--    1 0 0 0 May 10 10:00 fifo", "fifo", FileType::other, 0,
                 utc(2024, 5, 10, 10, 0), 0644, ""},
        // ls --time-style=long-iso
        ListCase{"-rw-r--r-- 1 u g 42 2023-11-02 08:07 iso.txt", "iso.txt", FileType::file, 42,
                 utc(2023, 11, 2, 8, 7), 0644, ""},
        // ACL marker after the mode string, a name with ';'
        ListCase{"-rw-r--r--+ 1 u g 3 Jan 2 2022 semi;colon", "semi;colon", FileType::file, 3,
                 utc(2022, 1, 2), 0644, ""}));

struct YearCase {
  system_clock::time_point now;
  const char* date;
  system_clock::time_point want;
};

class ListingParserYearTest : public testing::TestWithParam<YearCase> {};

TEST_P(ListingParserYearTest, InfersYear) {
  const std::string line = std::string("-rw-r--r-- 1 u g 1 ") + GetParam().date + " f";
  const auto e = ftp::parse_list_line(line, GetParam().now);
  ASSERT_TRUE(e) << line;
  EXPECT_EQ(e->mtime, GetParam().want) << line;
}

INSTANTIATE_TEST_SUITE_P(
    AroundNewYear, ListingParserYearTest,
    testing::Values(YearCase{utc(2025, 1, 2, 10, 0), "Dec 31 23:00", utc(2024, 12, 31, 23, 0)},
                    YearCase{utc(2025, 1, 2, 10, 0), "Jan 02 09:00", utc(2025, 1, 2, 9, 0)},
                    // a server clock slightly ahead (or in another zone) stays in this year
                    YearCase{utc(2024, 12, 31, 20, 0), "Jan 01 01:00", utc(2025, 1, 1, 1, 0)},
                    YearCase{utc(2024, 12, 31, 20, 0), "Dec 31 22:00", utc(2024, 12, 31, 22, 0)},
                    // more than a day ahead means last year
                    YearCase{utc(2024, 6, 15, 12, 0), "Jun 20 10:00", utc(2023, 6, 20, 10, 0)},
                    // February 29th goes back to the last leap year
                    YearCase{utc(2025, 3, 1, 0, 0), "Feb 29 12:00", utc(2024, 2, 29, 12, 0)}));

TEST(ListingParserTest, TotalLineIgnored) {
  EXPECT_FALSE(ftp::parse_list_line("total 24", kNow));
}

TEST(ListingParserTest, DosDirectoryAndFile) {
  const auto dir = ftp::parse_list_line("01-16-02  11:14AM       <DIR>          epsgroup", kNow);
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->name, "epsgroup");
  EXPECT_EQ(dir->type, FileType::directory);
  EXPECT_EQ(dir->mtime, utc(2002, 1, 16, 11, 14));
  EXPECT_FALSE(dir->size);

  const auto file = ftp::parse_list_line("06-25-09  02:41PM            144700153 image 34.gif", kNow);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->name, "image 34.gif");
  EXPECT_EQ(file->type, FileType::file);
  EXPECT_EQ(file->size, 144700153u);
  EXPECT_EQ(file->mtime, utc(2009, 6, 25, 14, 41));
  EXPECT_FALSE(file->mtime_exact);
}

TEST(ListingParserTest, DosFourDigitYearMidnightAndNoon) {
  const auto a = ftp::parse_list_line("12-31-1999  12:05AM                 10 a.txt", kNow);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mtime, utc(1999, 12, 31, 0, 5));
  const auto b = ftp::parse_list_line("07-04-2021  12:30PM       <DIR>          b", kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mtime, utc(2021, 7, 4, 12, 30));
}

TEST(ListingParserTest, Dos24HourAndSeparateAmPm) {
  const auto a = ftp::parse_list_line("03-15-24  17:45                 2048 report.doc", kNow);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mtime, utc(2024, 3, 15, 17, 45));
  EXPECT_EQ(a->size, 2048u);
  const auto b = ftp::parse_list_line("03-15-24  05:45 PM              1,024 c.txt", kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mtime, utc(2024, 3, 15, 17, 45));
  EXPECT_EQ(b->size, 1024u);
}

TEST(ListingParserTest, MalformedListLinesRejected) {
  for (const char* bad :
       {"", "hello world", "-rw-r--r-- 1 u g x Jan 1 2020 f", "-rw-r--r-- 1 u g 1 Foo 1 2020 f",
        "-rw-r--r-- 1 u g 1 Jan 1 2020", "-rw-r--r-- 1 u g 1 Feb 30 2020 f",
        "-rw-r--r-- 1 u g 1 Jan 1 25:00 f", "13-01-20  10:00AM  <DIR> x", "01-01-20  13:00PM  <DIR> x",
        "01-01-20  10:00AM  <DIR>", "zrw-r--r-- 1 u g 1 Jan 1 2020 f"}) {
    EXPECT_FALSE(ftp::parse_list_line(bad, kNow)) << bad;
  }
}

TEST(ListingParserTest, MlsdFileWithFacts) {
  const auto e = ftp::parse_mlsx_entry(
      "type=file;size=1024;modify=20240229123456;UNIX.mode=0644;unique=802U1234;perm=adfrw; data file.txt");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "data file.txt");
  EXPECT_EQ(e->type, FileType::file);
  EXPECT_EQ(e->size, 1024u);
  EXPECT_EQ(e->mtime, utc(2024, 2, 29, 12, 34, 56));
  EXPECT_TRUE(e->mtime_exact);
  EXPECT_EQ(e->mode, 0644u);
  EXPECT_EQ(e->unique, "802U1234");
}

TEST(ListingParserTest, MlsdFactsCaseInsensitive) {
  const auto e = ftp::parse_mlsx_entry("Type=DIR;Sizd=4096;Modify=20200101000000;unix.MODE=2755; My Dir");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, FileType::directory);
  EXPECT_EQ(e->size, 4096u);
  EXPECT_EQ(e->mode, 02755u);
  EXPECT_EQ(e->name, "My Dir");
}

TEST(ListingParserTest, MlstLineWithLeadingSpace) {
  const auto e = ftp::parse_mlsx_entry(" type=file;size=3; /pub/a;b c");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "/pub/a;b c");
  EXPECT_EQ(e->size, 3u);
}

TEST(ListingParserTest, MlsdNameWithLeadingSpaceKept) {
  const auto e = ftp::parse_mlsx_entry("type=file;size=3;  spaced");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, " spaced");
}

TEST(ListingParserTest, MlsdSymlinks) {
  const auto a = ftp::parse_mlsx_entry("type=OS.unix=symlink;size=5; ln");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, FileType::symlink);
  const auto b = ftp::parse_mlsx_entry("type=OS.unix=slink:/etc/target;modify=20200101000000; ln2");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, FileType::symlink);
  EXPECT_EQ(b->link_target, "/etc/target");
}

TEST(ListingParserTest, MlsdCdirAndPdirDropped) {
  EXPECT_FALSE(ftp::parse_mlsx_entry("type=cdir;modify=20200101000000; /pub"));
  EXPECT_FALSE(ftp::parse_mlsx_entry("type=pdir;modify=20200101000000; .."));
}

TEST(ListingParserTest, MlsdBadModifyLeavesTimeUnknown) {
  const auto e = ftp::parse_mlsx_entry("type=file;modify=garbage; f");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->mtime);
}

TEST(ListingParserTest, MalformedMlsdLinesRejected) {
  for (const char* bad : {"", "noFactsHere", "type=file;size=1;", "justtext name", "type=file;bogus; x"}) {
    EXPECT_FALSE(ftp::parse_mlsx_entry(bad)) << bad;
  }
}

TEST(ListingParserTest, ListingSkipsBadLinesAndDropsUnusableNames) {
  const std::string data =
      "total 12\r\n"
      "drwxr-xr-x 2 u g 4096 Jan 01 2020 .\r\n"
      "drwxr-xr-x 2 u g 4096 Jan 01 2020 ..\r\n"
      "-rw-r--r-- 1 u g 10 Jan 01 2020 good one\r\n"
      "complete garbage line\r\n"
      "-rw-r--r-- 1 u g 10 Jan 01 2020 a/b\n"
      "-rw-r--r-- 1 u g 10 Jan 01 2020 \r\n"
      "\r\n"
      "lrwxrwxrwx 1 u g 3 Jan 01 2020 l -> good one\n"
      "-rw-r--r-- 1 u g 7 Jan 01 2020 last";
  const auto entries = ftp::parse_listing(data, ListingFormat::list, kNow);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "good one");
  EXPECT_EQ(entries[1].name, "l");
  EXPECT_EQ(entries[1].link_target, "good one");
  EXPECT_EQ(entries[2].name, "last");
}

TEST(ListingParserTest, MlsdListingDropsUnusableNames) {
  const std::string data =
      "type=cdir;modify=20200101000000; .\r\n"
      "type=pdir;modify=20200101000000; ..\r\n"
      "type=dir;modify=20200101000000; .\r\n"
      "type=file;size=1; a/b\r\n"
      "type=file;size=1; \r\n"
      "type=file;size=2; ok\r\n"
      "nonsense\r\n"
      "type=dir;modify=20200101000000; sub\r\n";
  const auto entries = ftp::parse_listing(data, ListingFormat::mlsd, kNow);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "ok");
  EXPECT_EQ(entries[0].size, 2u);
  EXPECT_EQ(entries[1].name, "sub");
  EXPECT_EQ(entries[1].type, FileType::directory);
}

TEST(ListingParserTest, NulInNameDropped) {
  const std::string data = std::string("type=file;size=1; a\0b\r\ntype=file;size=1; c\r\n", 42);
  const auto entries = ftp::parse_listing(data, ListingFormat::mlsd, kNow);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "c");
}

TEST(ListingParserTest, ArbitraryBytesNeverCrash) {
  std::string data;
  unsigned state = 12345;
  for (int i = 0; i < 20000; ++i) {
    state = state * 1103515245u + 12345u;
    const char alphabet[] = "-drwxl 0123456789:JanFebDec<DIR>AMPM;=type\r\n";
    data += alphabet[(state >> 16) % (sizeof alphabet - 1)];
  }
  const auto a = ftp::parse_listing(data, ListingFormat::list, kNow);
  const auto b = ftp::parse_listing(data, ListingFormat::mlsd, kNow);
  for (const auto& e : a)
    EXPECT_FALSE(e.name.empty());
  for (const auto& e : b)
    EXPECT_FALSE(e.name.empty());
}

}  // namespace
