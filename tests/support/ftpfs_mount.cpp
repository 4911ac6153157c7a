#include "tests/support/ftpfs_mount.h"

#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace testsupport {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string oct = field.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(oct, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

bool has_cache_dir_option(const std::vector<std::string>& options) {
  for (const auto& option : options)
    if (option.rfind("cache_dir=", 0) == 0)
      return true;
  return false;
}

std::string join(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out.push_back(separator);
    out += item;
  }
  return out;
}

}  // namespace

bool is_fuse_mount(const std::filesystem::path& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (unescape_mountinfo(point) != mountpoint.string())
      continue;
    std::string word;
    while (fields >> word && word != "-") {
    }
    std::string fstype;
    fields >> fstype;
    if (fstype == "fuse" || fstype.rfind("fuse.", 0) == 0)
      return true;
  }
  return false;
}

FtpfsMount::FtpfsMount(std::string url, MountOptions options) {
  mountpoint_ = dir_.path() / "mnt";
  cache_dir_ = dir_.path() / "cache";
  output_file_ = dir_.path() / "ftpfs.log";
  std::filesystem::create_directories(mountpoint_);
  std::filesystem::create_directories(cache_dir_);
  if (!has_cache_dir_option(options.options))
    options.options.push_back("cache_dir=" + cache_dir_.string());

  argv_ = {FTPFS_BINARY, std::move(url), mountpoint_.string(), "-f", "-o", join(options.options, ',')};
  argv_.insert(argv_.end(), options.extra_args.begin(), options.extra_args.end());

  pid_ = spawn_process(argv_, output_file_, output_file_);
  if (pid_ < 0) {
    error_ = "cannot start " + argv_.front();
    return;
  }
  const auto deadline = Clock::now() + options.timeout;
  while (Clock::now() < deadline) {
    if (is_fuse_mount(mountpoint_)) {
      mounted_ = true;
      return;
    }
    if (auto code = wait_for_exit(pid_, milliseconds(0))) {
      exit_code_ = code;
      pid_ = -1;
      error_ = "ftpfs exited with " + std::to_string(*code) + " before mounting (" + join(argv_, ' ') +
               "):\n" + output();
      return;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  error_ = "no FUSE mount at " + mountpoint_.string() + " within " + std::to_string(options.timeout.count()) +
           " s (" + join(argv_, ' ') + "):\n" + output();
  unmount();
}

FtpfsMount::~FtpfsMount() {
  unmount();
}

std::string FtpfsMount::output() const {
  return read_text_file(output_file_);
}

std::optional<int> FtpfsMount::unmount() {
  if (is_fuse_mount(mountpoint_)) {
    auto r = run_command({"fusermount3", "-u", mountpoint_.string()}, std::chrono::seconds(10));
    if (r.exit_code != 0 && is_fuse_mount(mountpoint_))
      run_command({"fusermount3", "-uz", mountpoint_.string()}, std::chrono::seconds(10));
  }
  mounted_ = false;
  if (pid_ > 0) {
    exit_code_ = wait_for_exit(pid_, std::chrono::seconds(10));
    if (!exit_code_) {
      stop_process(pid_, std::chrono::seconds(3));
      exit_code_.reset();
    }
    pid_ = -1;
  }
  return exit_code_;
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return {};
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = in.gcount();
    if (got > 0 && EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(got)) != 1)
      return {};
  }
  if (in.bad())
    return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1)
    return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace testsupport
