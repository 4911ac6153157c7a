#include "ftp/refusal_streak.h"

#include <gtest/gtest.h>

namespace {

using ftp::RefusalStreak;

// How many of `n` requests would go out, each refused when sent.
int sent_of(RefusalStreak& streak, int n, bool refused = true) {
  int sent = 0;
  for (int i = 0; i < n; ++i) {
    if (streak.should_ask()) {
      ++sent;
      streak.answered(refused);
    }
  }
  return sent;
}

TEST(RefusalStreakTest, EveryRequestGoesOutUntilTheStreakIsLongEnough) {
  RefusalStreak streak(3, 32);
  EXPECT_EQ(sent_of(streak, 3), 3);
  EXPECT_FALSE(streak.should_ask());
}

TEST(RefusalStreakTest, AfterTheStreakOnlyEveryProbeEveryThRequestGoesOut) {
  RefusalStreak streak(3, 32);
  ASSERT_EQ(sent_of(streak, 3), 3);
  EXPECT_EQ(sent_of(streak, 31), 0);
  EXPECT_EQ(sent_of(streak, 1), 1) << "the 32nd is a probe";
  EXPECT_EQ(sent_of(streak, 64), 2);
}

TEST(RefusalStreakTest, AnAcceptedProbeEndsTheStreak) {
  RefusalStreak streak(3, 4);
  ASSERT_EQ(sent_of(streak, 3), 3);
  EXPECT_EQ(sent_of(streak, 3), 0);
  EXPECT_EQ(sent_of(streak, 1, /*refused=*/false), 1);
  EXPECT_EQ(sent_of(streak, 10, /*refused=*/false), 10) << "accepted again: every request goes out";
}

TEST(RefusalStreakTest, RefusalsThatAreNotInARowNeverStopARequest) {
  RefusalStreak streak(3, 32);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(sent_of(streak, 2), 2);
    EXPECT_EQ(sent_of(streak, 1, /*refused=*/false), 1);
  }
}

}  // namespace
