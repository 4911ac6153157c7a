#pragma once
// Directory listings: MLSD/MLST lines (RFC 3659) and the LIST output of Unix `ls -l` style and
// DOS/IIS style servers. Pure functions over text; a line nobody understands is skipped, never an
// error, because one odd entry must not hide a whole directory.

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "ftp/dir_entry.h"

namespace ftp {

enum class ListingFormat { mlsd, list };

// One MLSD line "fact=value;...; name", or an MLST line (which starts with one space). Facts are
// case-insensitive. type=cdir/pdir entries and lines without facts yield nullopt. The name is all
// that follows the first space after the facts, so it may contain spaces and ';'.
std::optional<DirEntry> parse_mlsx_entry(std::string_view line);

// One LIST line, Unix or DOS/IIS style. "total N" lines and anything unrecognised yield nullopt.
// Unix "Mon DD HH:MM" dates get the latest year that does not put them more than a day after
// `now`. Times are taken as UTC and marked approximate (mtime_exact = false).
std::optional<DirEntry> parse_list_line(std::string_view line, std::chrono::system_clock::time_point now);

// Splits on LF (a CR before it is dropped), parses each line, and keeps only entries whose name is
// a usable path component (not empty, ".", "..", and without '/' or NUL).
std::vector<DirEntry> parse_listing(std::string_view data, ListingFormat format,
                                    std::chrono::system_clock::time_point now);

}  // namespace ftp
