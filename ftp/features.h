#pragma once
// What a server said it supports in its FEAT reply (RFC 2389).

#include <set>
#include <string>

namespace ftp {

struct Reply;

struct Features {
  bool mlsd = false;  // "MLST" in FEAT implies MLSD too (RFC 3659)
  bool mlst = false;
  bool size = false;
  bool mdtm = false;
  bool mfmt = false;
  bool rest_stream = false;
  bool utf8 = false;
  bool epsv = false;  // only when listed; many servers support it anyway
  bool tvfs = false;
  bool auth_tls = false;
  std::string mlst_facts;     // e.g. "type*;size*;modify*;UNIX.mode*;"
  std::set<std::string> raw;  // upper-cased feature names, first word of each line
};

// Parses a 211 FEAT reply. A 500/502 reply (FEAT unknown) yields an empty feature set.
Features parse_features(const Reply& reply);

}  // namespace ftp
