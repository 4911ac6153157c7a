#pragma once
// A small expected-like result: the value, or an error code with human-readable context
// (the server's reply and the command that got it). Boost 1.74 has no boost::system::result and
// std::expected is C++23, so ftp/ carries its own.

#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace ftp {

// An error plus the context a log line needs ("550 No such file (RETR /a/b)"). Lower layers attach
// context here instead of logging; the layer that answers the user logs it once.
struct Error {
  std::error_code code;
  std::string detail;

  Error() = default;
  Error(std::error_code c) : code(c) {}  // NOLINT(google-explicit-constructor): errors flow freely
  Error(std::error_code c, std::string d) : code(c), detail(std::move(d)) {}

  std::string message() const { return detail.empty() ? code.message() : code.message() + ": " + detail; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}          // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}      // NOLINT
  Result(std::error_code code) : v_(std::in_place_index<1>, Error{code}) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  std::error_code code() const { return has_value() ? std::error_code{} : error().code; }

 private:
  std::variant<T, Error> v_;
};

// Success or an error, for operations with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT
  Status(std::error_code code) : error_{code} {}     // NOLINT

  bool ok() const { return !error_.code; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }
  std::error_code code() const { return error_.code; }

 private:
  Error error_;
};

}  // namespace ftp
