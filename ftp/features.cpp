#include "ftp/features.h"

#include <cctype>
#include <string_view>

#include "ftp/reply.h"

namespace ftp {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Features parse_features(const Reply& reply) {
  Features f;
  // Feature lines sit between "211-Features:" and "211 End"; a single-line 211 lists nothing.
  if (reply.code != 211 || reply.lines.size() < 3)
    return f;
  for (std::size_t i = 1; i + 1 < reply.lines.size(); ++i) {
    const auto line = trim(reply.lines[i]);
    if (line.empty())
      continue;
    const auto space = line.find(' ');
    const std::string name = upper(line.substr(0, space));
    const auto params = space == std::string_view::npos ? std::string_view{} : trim(line.substr(space + 1));
    const std::string uparams = upper(params);
    f.raw.insert(name);
    if (name == "MLST") {
      f.mlst = f.mlsd = true;
      f.mlst_facts = std::string(params);
    } else if (name == "MLSD") {
      f.mlsd = true;
    } else if (name == "SIZE") {
      f.size = true;
    } else if (name == "MDTM") {
      f.mdtm = true;
    } else if (name == "MFMT") {
      f.mfmt = true;
    } else if (name == "REST") {
      f.rest_stream = f.rest_stream || uparams.find("STREAM") != std::string::npos;
    } else if (name == "UTF8") {
      f.utf8 = true;
    } else if (name == "EPSV") {
      f.epsv = true;
    } else if (name == "TVFS") {
      f.tvfs = true;
    } else if (name == "AUTH") {
      f.auth_tls = f.auth_tls || uparams.find("TLS") != std::string::npos;
    }
  }
  return f;
}

}  // namespace ftp
