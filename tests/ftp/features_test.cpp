#include "ftp/features.h"

#include <gtest/gtest.h>

#include "ftp/reply.h"

namespace {

TEST(FeaturesTest, VsftpdStyle) {
  const ftp::Reply r{
      211,
      {"Features:", " EPRT", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE", " TVFS", " UTF8", "End"}};
  const auto f = ftp::parse_features(r);
  EXPECT_TRUE(f.epsv);
  EXPECT_TRUE(f.mdtm);
  EXPECT_TRUE(f.rest_stream);
  EXPECT_TRUE(f.size);
  EXPECT_TRUE(f.tvfs);
  EXPECT_TRUE(f.utf8);
  EXPECT_FALSE(f.mlsd);
  EXPECT_FALSE(f.mlst);
  EXPECT_FALSE(f.mfmt);
  EXPECT_FALSE(f.auth_tls);
  EXPECT_TRUE(f.raw.count("EPRT"));
  EXPECT_TRUE(f.raw.count("PASV"));
}

TEST(FeaturesTest, ProftpdStyle) {
  const ftp::Reply r{
      211, {"Features:",    " AUTH TLS",
            " CCC",         " CLNT",
            " EPRT",        " EPSV",
            " HOST",        " LANG en-US*",
            " MDTM",        " MFF modify;UNIX.group;UNIX.mode;",
            " MFMT",        " MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.mode*;UNIX.owner*;",
            " PBSZ",        " PROT",
            " RANG STREAM", " REST STREAM",
            " SIZE",        " SSCN",
            " TVFS",        "End"}};
  const auto f = ftp::parse_features(r);
  EXPECT_TRUE(f.auth_tls);
  EXPECT_TRUE(f.mlst);
  EXPECT_TRUE(f.mlsd);
  EXPECT_EQ(f.mlst_facts, "modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.mode*;UNIX.owner*;");
  EXPECT_TRUE(f.mfmt);
  EXPECT_TRUE(f.mdtm);
  EXPECT_TRUE(f.rest_stream);
  EXPECT_TRUE(f.size);
  EXPECT_TRUE(f.epsv);
  EXPECT_FALSE(f.utf8);
  EXPECT_TRUE(f.raw.count("MFF"));
}

TEST(FeaturesTest, CaseInsensitiveNames) {
  const ftp::Reply r{211, {"Extensions supported:", " mlst type*;size*;", " utf8", " auth tls;ssl", "END"}};
  const auto f = ftp::parse_features(r);
  EXPECT_TRUE(f.mlst);
  EXPECT_TRUE(f.utf8);
  EXPECT_TRUE(f.auth_tls);
  EXPECT_EQ(f.mlst_facts, "type*;size*;");
}

TEST(FeaturesTest, RestWithoutStreamIsNotRestStream) {
  const ftp::Reply r{211, {"Features:", " REST", "End"}};
  EXPECT_FALSE(ftp::parse_features(r).rest_stream);
}

TEST(FeaturesTest, UnknownCommandGivesEmptySet) {
  for (int code : {500, 502}) {
    const auto f = ftp::parse_features(ftp::Reply{code, {"FEAT not understood"}});
    EXPECT_TRUE(f.raw.empty());
    EXPECT_FALSE(f.size);
    EXPECT_FALSE(f.mlsd);
  }
}

TEST(FeaturesTest, SingleLine211GivesEmptySet) {
  EXPECT_TRUE(ftp::parse_features(ftp::Reply{211, {"No features"}}).raw.empty());
}

}  // namespace
