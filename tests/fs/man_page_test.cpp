// The man page is checked like code: a roff linter finds no warnings, and every option that
// `ftpfs --help` prints is documented in it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "fs/options.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace {

using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

const stdfs::path kPage = stdfs::path(FTPFS_SOURCE_DIR) / "man" / "ftpfs.1";

bool in_path(const std::string& tool) {
  return testsupport::run_command({"sh", "-c", "command -v " + tool}, 10s).exit_code == 0;
}

// The page's text with roff escapes for dashes and fonts removed, so "\-\-help" reads "--help".
std::string page_words() {
  std::string text = testsupport::read_text_file(kPage);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      if (text[i + 1] == '-') {
        out += '-';
        ++i;
        continue;
      }
      if (text[i + 1] == 'f' && i + 2 < text.size()) {
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// Option names from the --help text: the first word of each indented line ("cache_dir=DIR" gives
// "cache_dir=", "active[=ADDRESS]" gives "active"), plus the other spellings on that line
// ("-d, -o debug" gives "-d" and "debug").
std::set<std::string> help_option_names() {
  std::set<std::string> names;
  std::istringstream lines(fs::usage_text("ftpfs"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("    ", 0) != 0 || line.size() < 5 || line[4] == ' ')
      continue;
    const std::string spec = line.substr(4, line.find("  ", 4) - 4);
    std::istringstream words(spec);
    std::string word;
    while (words >> word) {
      if (!word.empty() && word.back() == ',')
        word.pop_back();
      if (word == "-o")
        continue;
      const auto cut = word.find_first_of("[=");
      if (cut != std::string::npos)
        word = word.substr(0, word[cut] == '=' ? cut + 1 : cut);
      names.insert(word);
    }
  }
  return names;
}

TEST(ManPageTest, GroffFindsNoWarnings) {
  FTPFS_REQUIRE(in_path("groff") ? "" : "groff is not installed (package groff-base)");
  const auto r = testsupport::run_command({"groff", "-man", "-ww", "-z", kPage.string()}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(ManPageTest, MandocLintFindsNothing) {
  FTPFS_REQUIRE(in_path("mandoc") ? "" : "mandoc is not installed (package mandoc)");
  const auto r = testsupport::run_command({"mandoc", "-T", "lint", "-W", "warning", kPage.string()}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "");
}

TEST(ManPageTest, DocumentsEveryOptionFromHelp) {
  const std::string page = page_words();
  ASSERT_FALSE(page.empty()) << "cannot read " << kPage;
  const auto names = help_option_names();
  // The parse above must have found the options; a change to the --help layout must not make this
  // test pass vacuously.
  ASSERT_GE(names.size(), 20u);
  for (const char* expected : {"connections=", "active", "-f", "--help", "debug"})
    EXPECT_EQ(names.count(expected), 1u) << expected;
  for (const auto& name : names)
    EXPECT_NE(page.find(name), std::string::npos) << "option '" << name << "' is missing from " << kPage;
}

TEST(ManPageTest, HasTheSectionsUsersLookFor) {
  const std::string page = page_words();
  for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH URL", ".SH OPTIONS",
                              ".SH CREDENTIALS", ".SH FSTAB", ".SH CACHING", ".SH WRITING", ".SH EXIT STATUS",
                              ".SH FILES", ".SH SECURITY", ".SH SEE ALSO"})
    EXPECT_NE(page.find(section), std::string::npos) << section;
  EXPECT_NE(page.find("fuse.ftpfs noauto,x-systemd.automount,_netdev,credentials="), std::string::npos);
}

}  // namespace
