#pragma once
// Remembers that a server keeps refusing a request that only carries over metadata (SITE CHMOD,
// setting a file's time), so that copying a tree into the mount (cp -a, rsync -a, tar -x) does not
// spend a round trip per file on the same refusal: vsftpd answers every SITE CHMOD of an anonymous
// user with "550 Permission denied". Such a 550 may also depend on the file (one owned by someone
// else), so the memory is a streak, not a verdict: after `rest_after` refusals in a row the request
// is only sent every `probe_every`-th time, and any success ends the streak.
//
// Thread-safe; concurrent callers may make the counts approximate, which only moves a probe.

#include <atomic>

namespace ftp {

class RefusalStreak {
 public:
  RefusalStreak(unsigned rest_after, unsigned probe_every)
      : rest_after_(rest_after), probe_every_(probe_every < 1 ? 1 : probe_every) {}

  // Whether to send the request now; false means: take it as refused again.
  bool should_ask();
  // The answer to a request that was sent.
  void answered(bool refused);

 private:
  const unsigned rest_after_;
  const unsigned probe_every_;
  std::atomic<unsigned> refused_in_a_row_{0};
  std::atomic<unsigned> skipped_{0};  // requests not sent since the last one that was
};

}  // namespace ftp
