#include "fs/session_loop.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

// Only a worker of the session loop, inside a request, has a received block to hand out: anywhere
// else the caller must copy.
TEST(SessionLoopTest, NoReceivedBlockOutsideTheLoopsWorkers) {
  std::vector<char> bytes(1 << 20, 'x');
  EXPECT_EQ(fs::take_received_block(bytes.data(), bytes.size()), nullptr);
}

// The loop depends on libfuse's receive buffer size, known for 3.14 only; this build's libfuse is
// the one CI runs on, so the mount tests exercise the loop.
TEST(SessionLoopTest, UsedWithTheLibfuseItWasCheckedFor) {
  EXPECT_TRUE(fs::session_loop_fits(314));
  EXPECT_FALSE(fs::session_loop_fits(317));
  EXPECT_TRUE(fs::session_loop_fits(fuse_version())) << "libfuse " << fuse_version();
}

}  // namespace
