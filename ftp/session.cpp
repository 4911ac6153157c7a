#include "ftp/session.h"

#include <algorithm>
#include <cstdio>

#include "ftp/error.h"
#include "ftp/ftp_time.h"
#include "ftp/passive_reply.h"
#include "ftp/pwd_reply.h"

namespace ftp {
namespace {

Error make_error(Errc e, std::string detail) {
  return Error(make_error_code(e), std::move(detail));
}

std::string describe(std::string_view verb, std::string_view arg) {
  std::string out(verb);
  if (!arg.empty()) {
    out += ' ';
    out += verb == "PASS" ? std::string_view("****") : arg;
  }
  return out;
}

// Last path component; "/" for the root.
std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  if (path == "/" || path.empty())
    return "/";
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string parent_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0)
    return "/";
  return std::string(path.substr(0, slash));
}

bool is_root(std::string_view path) {
  return std::all_of(path.begin(), path.end(), [](char c) { return c == '/'; });
}

}  // namespace

Session::Session(asio::any_io_executor ex, const SessionConfig& config, NameCodec codec,
                 SessionLoggers loggers, std::uint64_t generation)
    : ex_(ex),
      config_(config),
      codec_(std::move(codec)),
      log_(std::move(loggers)),
      generation_(generation),
      control_(ex, config.command_timeout, log_.wire),
      epsv_ok_(config.use_epsv) {}

Session::~Session() = default;

Awaitable<Result<std::unique_ptr<Session>>> Session::open(asio::any_io_executor ex,
                                                          const SessionConfig& config, NameCodec codec,
                                                          SessionLoggers loggers, std::uint64_t generation) {
  std::unique_ptr<Session> s(new Session(ex, config, std::move(codec), std::move(loggers), generation));
  auto connected = co_await s->control_.connect(config.host, config.port, config.connect_timeout);
  if (!connected)
    co_return connected.error();
  auto banner = co_await s->control_.read_banner();
  if (!banner)
    co_return banner.error();
  auto logged_in = co_await s->login();
  if (!logged_in)
    co_return logged_in.error();
  if (s->log_.ftp)
    s->log_.ftp->debug("session {} logged in to {}, cwd {}", generation, config.host, s->initial_dir_);
  co_return std::move(s);
}

Awaitable<Status> Session::login() {
  auto reply = co_await control_.command("USER", config_.user);
  if (!reply)
    co_return note(reply.error());
  if (reply->code == 331) {
    reply = co_await control_.command("PASS", config_.password);
    if (!reply)
      co_return note(reply.error());
  }
  if (reply->code == 332) {
    reply = co_await control_.command("ACCT", config_.account);
    if (!reply)
      co_return note(reply.error());
  }
  if (reply->code != 230 && reply->code != 202) {
    Error e = reply_error(*reply, "login as", config_.user);
    // 421 "too many connections" must stay recognisable (the pool caps itself on it).
    if (reply->code != 421)
      e.code = make_error_code(Errc::login_failed);
    broken_ = true;
    co_return e;
  }

  auto feat = co_await control_.command("FEAT");
  if (!feat)
    co_return note(feat.error());
  if (feat->code == 421)
    co_return reply_error(*feat, "FEAT", {});
  features_ = parse_features(*feat);
  if (features_.utf8) {
    auto utf8 = co_await control_.command("OPTS", "UTF8 ON");  // failure is harmless
    if (!utf8)
      co_return note(utf8.error());
  }
  auto type = co_await expect("TYPE", "I", 200);
  if (!type)
    co_return type;
  auto pwd = co_await control_.command("PWD");
  if (!pwd)
    co_return note(pwd.error());
  if (auto dir = parse_pwd_reply(*pwd))
    initial_dir_ = *dir;
  touch();
  co_return Status{};
}

Error Session::note(Error e) {
  if (is_fatal(e.code))
    broken_ = true;
  return e;
}

Error Session::reply_error(const Reply& reply, std::string_view verb, std::string_view arg) {
  return note(Error(error_from_reply(reply), reply.summary() + " (" + describe(verb, arg) + ")"));
}

Awaitable<Result<Reply>> Session::exchange(std::string_view verb, std::string_view arg) {
  touch();
  auto reply = co_await control_.command(verb, arg);
  if (!reply)
    co_return note(reply.error());
  if (reply->is_negative())
    co_return reply_error(*reply, verb, arg);
  co_return reply;
}

Awaitable<Status> Session::expect(std::string_view verb, std::string_view arg, int code1, int code2,
                                  int code3) {
  auto reply = co_await exchange(verb, arg);
  if (!reply)
    co_return reply.error();
  if (reply->code != code1 && reply->code != code2 && reply->code != code3) {
    co_return note(make_error(Errc::protocol_error,
                              "unexpected " + reply->summary() + " (" + describe(verb, arg) + ")"));
  }
  co_return Status{};
}

Awaitable<Result<std::unique_ptr<DataConnection>>> Session::open_data() {
  if (config_.data_mode == DataMode::active) {
    const auto local = control_.local_endpoint().address();
    auto data = DataConnection::listen(ex_, local, config_.data_timeout);
    if (!data)
      co_return data.error();
    const auto port = (*data)->listen_port();
    boost::system::error_code ec;
    const auto advertised =
        config_.active_address.empty() ? local : asio::ip::make_address(config_.active_address, ec);
    if (ec)
      co_return make_error(Errc::bad_argument, "active address " + config_.active_address);
    Status sent;
    if (advertised.is_v4()) {
      const auto bytes = advertised.to_v4().to_bytes();
      const std::string arg = format_port_argument(bytes, port);
      sent = co_await expect("PORT", arg, 200);
    } else {
      const std::string arg = format_eprt_argument(advertised.to_string(), true, port);
      sent = co_await expect("EPRT", arg, 200);
    }
    if (!sent)
      co_return sent.error();
    co_return std::move(*data);
  }

  const auto peer = control_.remote_endpoint().address();
  if (epsv_ok_) {
    auto reply = co_await control_.command("EPSV");
    if (!reply)
      co_return note(reply.error());
    if (reply->code == 421)
      co_return reply_error(*reply, "EPSV", {});
    if (reply->code == 229) {
      if (auto port = parse_epsv_reply(*reply)) {
        co_return co_await DataConnection::connect(ex_, tcp::endpoint(peer, *port), config_.connect_timeout,
                                                   config_.data_timeout);
      }
    }
    // Not offered or not understood: PASV from now on for this session.
    if (log_.ftp)
      log_.ftp->debug("EPSV unusable ({}), falling back to PASV", reply->summary());
    epsv_ok_ = false;
  }
  auto reply = co_await exchange("PASV");
  if (!reply)
    co_return reply.error();
  auto hp = parse_pasv_reply(*reply);
  if (!hp)
    co_return note(Error(hp.error().code, hp.error().detail + " (" + reply->summary() + ")"));
  auto address = peer;
  if (config_.trust_pasv_address) {
    boost::system::error_code ec;
    address = asio::ip::make_address(hp->host, ec);
    if (ec)
      co_return make_error(Errc::protocol_error, "PASV address " + hp->host);
  }
  co_return co_await DataConnection::connect(ex_, tcp::endpoint(address, hp->port), config_.connect_timeout,
                                             config_.data_timeout);
}

Awaitable<Status> Session::arm_data() {
  if (armed_ || config_.data_mode != DataMode::passive)
    co_return Status{};
  auto data = co_await open_data();
  if (!data)
    co_return note(data.error());
  armed_ = std::move(*data);
  armed_at_ = std::chrono::steady_clock::now();
  touch();
  co_return Status{};
}

Awaitable<Status> Session::confirm_transfer() {
  if (!preliminary_pending_)
    co_return Status{};
  preliminary_pending_ = false;
  auto reply = co_await control_.read_reply();
  if (!reply)
    co_return note(reply.error());
  if (reply->code == 150 || reply->code == 125)
    co_return Status{};
  if (reply->is_negative())
    co_return reply_error(*reply, "STOR", {});
  co_return note(make_error(Errc::protocol_error, "unexpected " + reply->summary() + " (STOR)"));
}

Awaitable<Status> Session::restart_at(std::uint64_t offset) {
  if (offset == 0)
    co_return Status{};
  auto r = co_await exchange("REST", std::to_string(offset));
  if (!r)
    co_return r.error();
  if (r->code != 350)
    co_return note(make_error(Errc::protocol_error, "unexpected " + r->summary() + " (REST)"));
  co_return Status{};
}

Awaitable<Result<std::unique_ptr<DataConnection>>> Session::start_transfer(std::string_view verb,
                                                                           std::string_view arg,
                                                                           std::uint64_t rest, bool early) {
  // A connection opened ahead (arm_data) is used when it is still there.
  std::unique_ptr<DataConnection> armed = std::move(armed_);
  if (armed && armed->unusable())
    armed.reset();
  const bool ahead = armed != nullptr;
  // Sending before the 150 is only for a connection the server accepted moments ago: an old one may
  // have been given up (425), and the bytes sent would be lost for a retry.
  constexpr auto kFresh = std::chrono::seconds(5);
  if (early && ahead && rest == 0 && std::chrono::steady_clock::now() - armed_at_ < kFresh) {
    auto sent = co_await control_.send(verb, arg);
    if (!sent)
      co_return note(sent.error());
    touch();
    preliminary_pending_ = true;
    co_return std::move(armed);
  }
  Result<std::unique_ptr<DataConnection>> data = Error(make_error_code(Errc::cancelled));
  if (armed) {
    data = std::move(armed);
  } else {
    data = co_await open_data();
  }
  if (!data)
    co_return note(data.error());
  if (auto st = co_await restart_at(rest); !st)
    co_return st.error();
  auto reply = co_await exchange(verb, arg);
  if (!reply && ahead && !broken_ && reply.code() == make_error_code(Errc::transfer_aborted)) {
    // The server no longer waited on the connection opened ahead: once more with a new one.
    if (log_.ftp)
      log_.ftp->debug("data connection opened ahead was refused ({}); opening a new one",
                      reply.error().detail);
    data = co_await open_data();
    if (!data)
      co_return note(data.error());
    if (auto st = co_await restart_at(rest); !st)
      co_return st.error();
    reply = co_await exchange(verb, arg);
  }
  if (!reply)
    co_return reply.error();
  if (reply->code != 150 && reply->code != 125) {
    // A final reply without a preliminary one leaves us unsure what happened to the data.
    co_return note(make_error(Errc::protocol_error,
                              "unexpected " + reply->summary() + " (" + describe(verb, arg) + ")"));
  }
  auto accepted = co_await (*data)->accept(config_.connect_timeout);
  if (!accepted) {
    broken_ = true;  // the server is mid-transfer with nobody to talk to
    co_return accepted.error();
  }
  co_return std::move(*data);
}

Awaitable<Result<std::string>> Session::read_all(DataConnection& data) {
  std::string out;
  std::array<char, 16384> buf{};
  for (;;) {
    auto n = co_await data.read_some(buf);
    if (!n)
      co_return n.error();
    if (*n == 0)
      co_return out;
    out.append(buf.data(), *n);
  }
}

Awaitable<Status> Session::finish_transfer(std::unique_ptr<DataConnection> data, bool upload) {
  preliminary_pending_ = false;  // the loop below skips a 150 that is still to come
  if (upload) {
    data->finish_send();
  } else {
    data->close();
  }
  data.reset();
  for (;;) {
    auto reply = co_await control_.read_reply();
    if (!reply)
      co_return note(reply.error());
    if (reply->is_preliminary())
      continue;
    if (reply->code == 226 || reply->code == 250) {
      touch();
      co_return Status{};
    }
    if (reply->is_negative())
      co_return reply_error(*reply, upload ? "STOR" : "RETR", {});
    co_return note(make_error(Errc::protocol_error, "unexpected " + reply->summary() + " after a transfer"));
  }
}

Awaitable<Error> Session::fail_transfer(std::unique_ptr<DataConnection> data, Error failure) {
  data->close();
  data.reset();
  preliminary_pending_ = false;
  auto reply = co_await control_.read_reply();
  while (reply && reply->is_preliminary())
    reply = co_await control_.read_reply();  // the 150 of an early start
  if (!reply) {
    broken_ = true;
    co_return failure;
  }
  if (reply->is_negative()) {
    // 426/451/552...: the server's own account of the failure, and the session is in step again.
    co_return reply_error(*reply, "transfer", {});
  }
  // 226 although our side of the data connection failed: still not a complete transfer.
  co_return failure;
}

Awaitable<Status> Session::abort_transfer(std::unique_ptr<DataConnection> data) {
  data->reset();
  data.reset();
  preliminary_pending_ = false;  // the loop below skips a 150 that is still to come
  auto sent = co_await control_.send("ABOR");
  if (!sent) {
    broken_ = true;
    co_return note(sent.error());
  }
  // Two replies follow: the transfer's own final reply (426 when it was cut, 226 when it had
  // already ended) and ABOR's (226/225). Reading both keeps the session in step.
  for (int replies = 0; replies < 2;) {
    auto reply = co_await control_.read_reply();
    if (!reply) {
      broken_ = true;
      co_return reply.error();
    }
    if (reply->is_preliminary())
      continue;
    if (reply->code == 421) {
      broken_ = true;
      co_return reply_error(*reply, "ABOR", {});
    }
    ++replies;
  }
  touch();
  co_return Status{};
}

Awaitable<Result<std::vector<DirEntry>>> Session::list_once(std::string_view verb, std::string_view arg,
                                                            ListingFormat format) {
  auto data = co_await start_transfer(verb, arg, 0);
  if (!data)
    co_return data.error();
  auto text = co_await read_all(**data);
  if (!text)
    co_return co_await fail_transfer(std::move(*data), text.error());
  auto done = co_await finish_transfer(std::move(*data), false);
  if (!done)
    co_return done.error();
  auto entries = parse_listing(*text, format, std::chrono::system_clock::now());
  if (!codec_.identity()) {
    for (auto& e : entries)
      e.name = codec_.to_local(e.name);
  }
  co_return entries;
}

Awaitable<Result<std::vector<DirEntry>>> Session::list(std::string_view dir) {
  auto server_dir = codec_.to_server(dir);
  if (!server_dir)
    co_return server_dir.error();
  if (features_.mlsd)
    co_return co_await list_once("MLSD", *server_dir, ListingFormat::mlsd);
  std::string arg = "-a";
  if (!server_dir->empty())
    arg += " " + *server_dir;
  auto entries = co_await list_once("LIST", arg, ListingFormat::list);
  if (entries || broken_)
    co_return entries;
  const auto code = entries.code();
  if (code == make_error_code(Errc::not_supported) || code == make_error_code(Errc::bad_argument)) {
    co_return co_await list_once("LIST", *server_dir, ListingFormat::list);
  }
  co_return entries;
}

Awaitable<Result<DirEntry>> Session::stat(std::string_view path) {
  co_return co_await stat_entry(path, true);
}

Awaitable<Result<DirEntry>> Session::stat_unlisted(std::string_view path) {
  co_return co_await stat_entry(path, false);
}

Awaitable<Result<DirEntry>> Session::stat_entry(std::string_view path, bool look_in_listing) {
  if (is_root(path)) {
    DirEntry root;
    root.name = "/";
    root.type = FileType::directory;
    co_return root;
  }
  auto server_path = codec_.to_server(path);
  if (!server_path)
    co_return server_path.error();
  if (features_.mlst) {
    auto reply = co_await exchange("MLST", *server_path);
    if (!reply)
      co_return reply.error();
    for (const auto& line : reply->lines) {
      if (line.empty() || line.front() != ' ')
        continue;
      if (auto entry = parse_mlsx_entry(line)) {
        entry->name = base_name(path);
        co_return std::move(*entry);
      }
    }
    co_return note(make_error(Errc::protocol_error, "MLST reply without facts: " + reply->summary()));
  }
  co_return co_await stat_without_mlst(path, *server_path, look_in_listing);
}

Awaitable<Result<DirEntry>> Session::stat_size(std::string_view path) {
  if (features_.mlst || !features_.size || is_root(path))
    co_return co_await stat(path);
  auto server_path = codec_.to_server(path);
  if (!server_path)
    co_return server_path.error();
  auto size = co_await exchange("SIZE", *server_path);
  if (!size) {
    // Missing, a directory, or SIZE refused here: stat() tells which (more round trips, only
    // when something is wrong anyway).
    if (!broken_ && (size.code() == make_error_code(Errc::file_unavailable) ||
                     size.code() == make_error_code(Errc::not_supported)))
      co_return co_await stat(path);
    co_return size.error();
  }
  unsigned long long value = 0;
  if (size->code != 213 || size->lines.empty() ||
      std::sscanf(size->lines.front().c_str(), "%llu", &value) != 1)
    co_return note(make_error(Errc::protocol_error, "SIZE reply without a size: " + size->summary()));
  DirEntry entry;
  entry.name = base_name(path);
  entry.type = FileType::file;
  entry.size = value;
  co_return entry;
}

Awaitable<Result<DirEntry>> Session::stat_without_mlst(std::string_view path, const std::string& server_path,
                                                       bool look_in_listing) {
  DirEntry entry;
  entry.name = base_name(path);
  auto size = co_await exchange("SIZE", server_path);
  if (size && size->code == 213 && !size->lines.empty()) {
    entry.type = FileType::file;
    unsigned long long value = 0;
    if (std::sscanf(size->lines.front().c_str(), "%llu", &value) == 1)
      entry.size = value;
    auto mdtm = co_await exchange("MDTM", server_path);
    if (mdtm && mdtm->code == 213 && !mdtm->lines.empty()) {
      entry.mtime = parse_ftp_time(mdtm->lines.front());
      entry.mtime_exact = entry.mtime.has_value();
    } else if (broken_) {
      co_return mdtm.error();
    }
    co_return entry;
  }
  if (broken_)
    co_return size.error();
  // Not a plain file (or SIZE unsupported): a directory answers CWD. Go back at once, so every
  // session always sits in its initial directory.
  auto cwd = co_await exchange("CWD", server_path);
  if (cwd) {
    auto back = co_await expect("CWD", initial_dir_, 250, 200);
    if (!back) {
      broken_ = true;  // lost our working directory: relative state unknown
      co_return back.error();
    }
    entry.type = FileType::directory;
    co_return entry;
  }
  if (broken_)
    co_return cwd.error();
  if (size.code() != make_error_code(Errc::not_supported) &&
      size.code() != make_error_code(Errc::file_unavailable))
    co_return size.error();
  if (!look_in_listing)
    co_return make_error(Errc::not_found, std::string(path));
  // Neither SIZE nor a directory: look the name up in the parent's listing.
  auto listing = co_await list(parent_of(path));
  if (!listing)
    co_return listing.error();
  for (auto& e : *listing) {
    if (e.name == entry.name)
      co_return std::move(e);
  }
  co_return make_error(Errc::not_found, std::string(path));
}

Awaitable<Error> Session::refine_missing(std::string_view path, Error e) {
  if (e.code != make_error_code(Errc::file_unavailable) || broken_)
    co_return e;
  auto st = co_await stat(path);
  if (st.code() == make_error_code(Errc::not_found))
    co_return Error(st.code(), e.detail);
  co_return e;
}

Awaitable<Result<std::unique_ptr<DataConnection>>> Session::start_retrieve(std::string_view path,
                                                                           std::uint64_t offset) {
  auto server_path = codec_.to_server(path);
  if (!server_path)
    co_return server_path.error();
  auto data = co_await start_transfer("RETR", *server_path, offset);
  if (!data)
    co_return co_await refine_missing(path, data.error());
  co_return data;
}

Awaitable<Result<std::unique_ptr<DataConnection>>> Session::start_store(std::string_view path,
                                                                        UploadMode mode, bool early) {
  auto server_path = codec_.to_server(path);
  if (!server_path)
    co_return server_path.error();
  co_return co_await start_transfer(mode == UploadMode::append ? "APPE" : "STOR", *server_path, 0, early);
}

Awaitable<Status> Session::make_directory(std::string_view path) {
  auto p = codec_.to_server(path);
  if (!p)
    co_return p.error();
  co_return co_await expect("MKD", *p, 257, 250);
}

Awaitable<Status> Session::remove_directory(std::string_view path) {
  auto p = codec_.to_server(path);
  if (!p)
    co_return p.error();
  auto r = co_await expect("RMD", *p, 250, 200);
  if (!r)
    co_return co_await refine_missing(path, r.error());
  co_return r;
}

Awaitable<Status> Session::remove_file(std::string_view path) {
  auto p = codec_.to_server(path);
  if (!p)
    co_return p.error();
  auto r = co_await expect("DELE", *p, 250, 200);
  if (!r)
    co_return co_await refine_missing(path, r.error());
  co_return r;
}

Awaitable<Status> Session::rename(std::string_view from, std::string_view to) {
  auto f = codec_.to_server(from);
  if (!f)
    co_return f.error();
  auto t = codec_.to_server(to);
  if (!t)
    co_return t.error();
  auto r = co_await expect("RNFR", *f, 350);
  if (!r)
    co_return co_await refine_missing(from, r.error());
  co_return co_await expect("RNTO", *t, 250, 200);
}

Awaitable<Status> Session::set_mode(std::string_view path, std::uint32_t mode) {
  auto p = codec_.to_server(path);
  if (!p)
    co_return p.error();
  char octal[16];
  std::snprintf(octal, sizeof octal, "%o", static_cast<unsigned>(mode & 07777));
  co_return co_await expect("SITE", std::string("CHMOD ") + octal + " " + *p, 200, 250);
}

Awaitable<Status> Session::set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) {
  auto p = codec_.to_server(path);
  if (!p)
    co_return p.error();
  const std::string arg = format_ftp_time(mtime) + " " + *p;
  if (features_.mfmt)
    co_return co_await expect("MFMT", arg, 213, 250, 200);
  auto r = co_await exchange("MDTM", arg);
  if (r && (r->code == 213 || r->code == 250 || r->code == 200))
    co_return Status{};
  if (broken_)
    co_return r.error();
  // A server without the setting form reads the whole argument as a file name and fails.
  co_return make_error(Errc::not_supported,
                       "setting the modification time (" + (r ? r->summary() : r.error().message()) + ")");
}

Awaitable<Status> Session::noop() {
  co_return co_await expect("NOOP", {}, 200, 250);
}

Awaitable<void> Session::quit() {
  if (control_.is_open()) {
    auto sent = co_await control_.send("QUIT");
    if (sent)
      (void)co_await control_.read_reply(std::chrono::milliseconds(500));
  }
  control_.close();
  broken_ = true;
}

}  // namespace ftp
