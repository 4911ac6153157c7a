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

}  // namespace
