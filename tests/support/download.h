#pragma once
// Reads an ftp::Download to its verified end, for client tests.

#include <string>

#include "ftp/client.h"

namespace testsupport {

// The whole content, or the error of the first failing read (never a silently short result).
ftp::Result<std::string> read_to_end(ftp::Download& download);

}  // namespace testsupport
