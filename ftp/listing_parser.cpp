#include "ftp/listing_parser.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "ftp/ftp_time.h"

namespace ftp {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s) {
    if (!is_digit(c))
      return false;
  }
  return true;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  if (!all_digits(s) || s.size() > 19)
    return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s)
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s)
    v = v * 10 + (c - '0');
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

// ---- MLSx ----------------------------------------------------------------------------------

// "type=file;size=3;" looks like a facts token: every non-empty part holds '='.
bool looks_like_facts(std::string_view token) {
  if (token.empty() || token.back() != ';')
    return false;
  return token.find('=') != std::string_view::npos;
}

void apply_type(DirEntry& e, std::string_view value, bool& drop) {
  const std::string v = lower(value);
  if (v == "file") {
    e.type = FileType::file;
  } else if (v == "dir") {
    e.type = FileType::directory;
  } else if (v == "cdir" || v == "pdir") {
    drop = true;
  } else if (v == "os.unix=symlink" || v == "os.unix=link" || v == "symlink" || v == "link") {
    e.type = FileType::symlink;
  } else if (v.rfind("os.unix=slink", 0) == 0) {
    e.type = FileType::symlink;
    const auto colon = value.find(':');
    if (colon != std::string_view::npos)
      e.link_target = std::string(value.substr(colon + 1));
  } else {
    e.type = FileType::other;
  }
}

// ---- LIST, Unix ----------------------------------------------------------------------------

struct Token {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view text;
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    if (i >= line.size())
      break;
    const std::size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    out.push_back(Token{b, i, line.substr(b, i - b)});
  }
  return out;
}

int month_of(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() != 3)
    return 0;
  const std::string l = lower(s);
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (l == kMonths[i])
      return static_cast<int>(i) + 1;
  }
  return 0;
}

bool is_hhmm(std::string_view s) {
  return (s.size() == 5 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' && is_digit(s[3]) &&
          is_digit(s[4])) ||
         (s.size() == 4 && is_digit(s[0]) && s[1] == ':' && is_digit(s[2]) && is_digit(s[3]));
}

std::pair<int, int> hhmm(std::string_view s) {
  const auto colon = s.find(':');
  return {to_int(s.substr(0, colon)), to_int(s.substr(colon + 1))};
}

bool is_iso_date(std::string_view s) {
  return s.size() == 10 && all_digits(s.substr(0, 4)) && s[4] == '-' && all_digits(s.substr(5, 2)) &&
         s[7] == '-' && all_digits(s.substr(8, 2));
}

// The latest year that does not put month/day/time more than a day after `now` (ls shows the
// year instead of the time for anything older than about six months).
std::optional<TimePoint> infer_year(int month, int day, int hour, int minute, TimePoint now) {
  const auto today = std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)};
  const int this_year = static_cast<int>(today.year());
  const auto limit = now + std::chrono::hours(24);
  // Going back up to eight years finds a February 29th in a leap year.
  for (int year = this_year + 1; year >= this_year - 8; --year) {
    const auto t = make_utc_time(year, month, day, hour, minute, 0);
    if (t && *t <= limit)
      return t;
  }
  return std::nullopt;
}

void apply_mode_string(DirEntry& e, std::string_view m) {
  switch (m[0]) {
    case '-':
      e.type = FileType::file;
      break;
    case 'd':
      e.type = FileType::directory;
      break;
    case 'l':
      e.type = FileType::symlink;
      break;
    default:
      e.type = FileType::other;
      break;
  }
  std::uint32_t mode = 0;
  static constexpr std::array<std::uint32_t, 9> kBits = {0400, 0200, 0100, 040, 020, 010, 04, 02, 01};
  for (std::size_t i = 0; i < 9; ++i) {
    const char c = m[i + 1];
    if (c == 'r' || c == 'w' || c == 'x')
      mode |= kBits[i];
    if (i == 2 && (c == 's' || c == 'S'))
      mode |= 04000 | (c == 's' ? 0100 : 0);
    if (i == 5 && (c == 's' || c == 'S'))
      mode |= 02000 | (c == 's' ? 010 : 0);
    if (i == 8 && (c == 't' || c == 'T'))
      mode |= 01000 | (c == 't' ? 01 : 0);
  }
  e.mode = mode;
}

bool is_mode_string(std::string_view m) {
  if (m.size() < 10 || std::string_view("-dlbcpsDn").find(m[0]) == std::string_view::npos)
    return false;
  for (std::size_t i = 1; i < 10; ++i) {
    if (std::string_view("rwxsStTl-").find(m[i]) == std::string_view::npos)
      return false;
  }
  return true;
}

std::optional<DirEntry> parse_unix_line(std::string_view line, TimePoint now) {
  const auto tokens = tokenize(line);
  if (tokens.size() < 6 || !is_mode_string(tokens[0].text))
    return std::nullopt;
  DirEntry e;
  apply_mode_string(e, tokens[0].text);
  // Find "<size> Mon DD HH:MM|YYYY" (or "<size> YYYY-MM-DD HH:MM"): the columns before the size
  // (link count, owner, group) vary between servers and are not needed.
  for (std::size_t i = 2; i + 2 < tokens.size(); ++i) {
    const auto size = to_u64(tokens[i - 1].text);
    if (!size)
      continue;
    std::optional<TimePoint> mtime;
    std::size_t last = 0;  // index of the token the name follows
    if (const int month = month_of(tokens[i].text); month != 0) {
      const auto day_text = tokens[i + 1].text;
      const auto when = tokens[i + 2].text;
      if (day_text.size() > 2 || !all_digits(day_text))
        continue;
      const int day = to_int(day_text);
      if (is_hhmm(when)) {
        const auto [h, m] = hhmm(when);
        mtime = infer_year(month, day, h, m, now);
      } else if (when.size() == 4 && all_digits(when)) {
        mtime = make_utc_time(to_int(when), month, day, 0, 0, 0);
      } else {
        continue;
      }
      last = i + 2;
    } else if (is_iso_date(tokens[i].text) && is_hhmm(tokens[i + 1].text)) {
      const auto d = tokens[i].text;
      const auto [h, m] = hhmm(tokens[i + 1].text);
      mtime = make_utc_time(to_int(d.substr(0, 4)), to_int(d.substr(5, 2)), to_int(d.substr(8, 2)), h, m, 0);
      last = i + 1;
    } else {
      continue;
    }
    if (!mtime)
      return std::nullopt;
    // The name is everything after the single separator, so leading spaces survive.
    const std::size_t name_begin = tokens[last].end + 1;
    if (name_begin >= line.size())
      return std::nullopt;
    std::string_view name = line.substr(name_begin);
    if (e.type == FileType::symlink) {
      const auto arrow = name.find(" -> ");
      if (arrow != std::string_view::npos) {
        e.link_target = std::string(name.substr(arrow + 4));
        name = name.substr(0, arrow);
      }
    }
    e.name = std::string(name);
    e.size = *size;
    e.mtime = mtime;
    e.mtime_exact = false;
    return e;
  }
  return std::nullopt;
}

// ---- LIST, DOS/IIS -------------------------------------------------------------------------

std::optional<DirEntry> parse_dos_line(std::string_view line) {
  const auto tokens = tokenize(line);
  if (tokens.size() < 4)
    return std::nullopt;
  // Date: MM-DD-YY or MM-DD-YYYY.
  const auto date = tokens[0].text;
  if ((date.size() != 8 && date.size() != 10) || date[2] != date[5] || (date[2] != '-' && date[2] != '/') ||
      !all_digits(date.substr(0, 2)) || !all_digits(date.substr(3, 2)) || !all_digits(date.substr(6))) {
    return std::nullopt;
  }
  int year = to_int(date.substr(6));
  if (date.size() == 8)
    year += year < 70 ? 2000 : 1900;
  // Time: HH:MM, HH:MMAM/PM, or HH:MM followed by a separate AM/PM.
  std::size_t next = 2;
  std::string_view time = tokens[1].text;
  std::string ampm;
  if (time.size() >= 2) {
    const std::string suffix = lower(time.substr(time.size() - 2));
    if (suffix == "am" || suffix == "pm") {
      ampm = suffix;
      time.remove_suffix(2);
    }
  }
  if (ampm.empty()) {
    const std::string t2 = lower(tokens[2].text);
    if (t2 == "am" || t2 == "pm") {
      ampm = t2;
      next = 3;
    }
  }
  if (!is_hhmm(time) || next + 1 >= tokens.size())
    return std::nullopt;
  auto [hour, minute] = hhmm(time);
  if (!ampm.empty()) {
    if (hour < 1 || hour > 12)
      return std::nullopt;
    hour %= 12;
    if (ampm == "pm")
      hour += 12;
  }
  DirEntry e;
  const auto kind = tokens[next].text;
  if (iequals(kind, "<DIR>")) {
    e.type = FileType::directory;
  } else {
    std::string digits;
    for (char c : kind) {
      if (c != ',' && c != '.')
        digits += c;
    }
    const auto size = to_u64(digits);
    if (!size)
      return std::nullopt;
    e.type = FileType::file;
    e.size = *size;
  }
  e.mtime = make_utc_time(year, to_int(date.substr(0, 2)), to_int(date.substr(3, 2)), hour, minute, 0);
  if (!e.mtime)
    return std::nullopt;
  e.mtime_exact = false;
  // IIS pads the <DIR> column, so the name starts at the next non-blank character.
  e.name = std::string(line.substr(tokens[next + 1].begin));
  return e;
}

bool usable_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

std::optional<DirEntry> parse_mlsx_entry(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  // MLST lines start with one space before the facts.
  if (!line.empty() && line.front() == ' ')
    line.remove_prefix(1);
  const auto space = line.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  const auto facts = line.substr(0, space);
  if (!looks_like_facts(facts))
    return std::nullopt;
  DirEntry e;
  bool drop = false;
  std::size_t pos = 0;
  while (pos < facts.size()) {
    auto semi = facts.find(';', pos);
    if (semi == std::string_view::npos)
      semi = facts.size();
    const auto fact = facts.substr(pos, semi - pos);
    pos = semi + 1;
    if (fact.empty())
      continue;
    const auto eq = fact.find('=');
    if (eq == std::string_view::npos)
      return std::nullopt;
    const std::string key = lower(fact.substr(0, eq));
    const auto value = fact.substr(eq + 1);
    if (key == "type") {
      apply_type(e, value, drop);
    } else if (key == "size" || key == "sizd") {
      if (const auto n = to_u64(value))
        e.size = *n;
    } else if (key == "modify") {
      if (const auto t = parse_ftp_time(value)) {
        e.mtime = *t;
        e.mtime_exact = true;
      }
    } else if (key == "unix.mode") {
      std::uint32_t mode = 0;
      bool ok = !value.empty() && value.size() <= 6;
      for (char c : value) {
        if (c < '0' || c > '7')
          ok = false;
        mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
      }
      if (ok)
        e.mode = mode & 07777;
    } else if (key == "unique") {
      e.unique = std::string(value);
    }
  }
  if (drop)
    return std::nullopt;
  e.name = std::string(line.substr(space + 1));
  return e;
}

std::optional<DirEntry> parse_list_line(std::string_view line, TimePoint now) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  if (line.empty())
    return std::nullopt;
  if (line.rfind("total ", 0) == 0 && all_digits(line.substr(6)))
    return std::nullopt;
  if (auto e = parse_unix_line(line, now))
    return e;
  return parse_dos_line(line);
}

std::vector<DirEntry> parse_listing(std::string_view data, ListingFormat format, TimePoint now) {
  std::vector<DirEntry> out;
  while (!data.empty()) {
    const auto lf = data.find('\n');
    std::string_view line = data.substr(0, lf);
    data.remove_prefix(lf == std::string_view::npos ? data.size() : lf + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      continue;
    auto e = format == ListingFormat::mlsd ? parse_mlsx_entry(line) : parse_list_line(line, now);
    if (e && usable_name(e->name))
      out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace ftp
