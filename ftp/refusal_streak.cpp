#include "ftp/refusal_streak.h"

namespace ftp {

bool RefusalStreak::should_ask() {
  if (refused_in_a_row_.load() < rest_after_)
    return true;
  if (skipped_.fetch_add(1) + 1 < probe_every_)
    return false;
  skipped_ = 0;
  return true;
}

void RefusalStreak::answered(bool refused) {
  if (refused) {
    ++refused_in_a_row_;
    return;
  }
  refused_in_a_row_ = 0;
  skipped_ = 0;
}

}  // namespace ftp
