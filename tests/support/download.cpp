#include "tests/support/download.h"

#include <vector>

namespace testsupport {

ftp::Result<std::string> read_to_end(ftp::Download& download) {
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    auto n = download.read(buf);
    if (!n)
      return n.error();
    if (*n == 0)
      return out;
    out.append(buf.data(), *n);
  }
}

}  // namespace testsupport
