#pragma once
// Error codes of the FTP client. Protocol meaning lives here; fs::to_errno is the only place that
// turns these into errno values.

#include <system_error>

namespace ftp {

struct Reply;

enum class Errc {
  ok = 0,
  not_found = 1,         // 550 naming a missing file, or a path that does not exist
  permission_denied,     // 550/553 permission answers, 532
  file_unavailable,      // 550 that says neither (ambiguous; fs refines from context)
  not_logged_in,         // 530 outside login
  login_failed,          // 530 or 5xx answering USER/PASS/ACCT
  service_unavailable,   // 421: server closing the control connection
  too_many_connections,  // 421/530 at connect that says the server allows no more sessions
  transfer_aborted,      // 425/426, or a data connection that ended early
  server_error,          // 451 and other transient local errors on the server
  insufficient_storage,  // 452/552
  bad_name,              // an argument with CR, LF or NUL; refused before sending
  bad_argument,          // 501
  not_supported,         // 500/502/504: command or parameter not implemented
  already_exists,        // the target exists (MKD of an existing directory, O_EXCL)
  not_empty,             // RMD of a directory that still has entries
  protocol_error,        // a reply we cannot understand, an over-long line, garbage
  timeout,               // a deadline fired
  connection_failed,     // could not connect / resolve
  connection_lost,       // the control connection closed or reset
  cancelled,             // the client is shutting down
};

const std::error_category& category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

// True when the session that produced this error must not be reused: its control connection is in
// an unknown state (timeout, lost connection, protocol error, 421).
bool is_fatal(std::error_code ec) noexcept;

// True when the server refused a change it was asked for (permission or availability answers, a
// command or argument it does not implement): the change is not made, and nothing else is wrong.
bool is_refusal(std::error_code ec) noexcept;

// Maps a negative (4xx/5xx) reply to an error code, looking at the text where the code alone is
// ambiguous (550 means "not found" on some servers and "permission denied" on others).
std::error_code error_from_reply(const Reply& reply) noexcept;

}  // namespace ftp

template <>
struct std::is_error_code_enum<ftp::Errc> : std::true_type {};
