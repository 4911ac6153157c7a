#include "cache/staging_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/temp_dir.h"

namespace {

using cache::BlockBytes;
using cache::StagedWrites;
using cache::StagingWriter;

std::shared_ptr<BlockBytes> page_of(char fill) {
  auto b = std::make_shared<BlockBytes>(BlockBytes::kAlignment);
  std::fill(b->begin(), b->end(), fill);
  return b;
}

TEST(StagingWriterTest, WritesLandWhereAskedOnceWaitReturns) {
  testsupport::TempDir dir("ftpfs-staging");
  const auto path = dir.path() / "f";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  {
    StagingWriter writer(2 * BlockBytes::kAlignment);  // small: the third write waits for room
    auto writes = std::make_shared<StagedWrites>();
    for (int i = 0; i < 8; ++i)
      writer.write(writes, fd, -1, i * BlockBytes::kAlignment, page_of(static_cast<char>('a' + i)),
                   BlockBytes::kAlignment);
    EXPECT_FALSE(writes->wait());
  }
  ::close(fd);
  std::ifstream in(path, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(got.size(), 8 * BlockBytes::kAlignment);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(got[i * BlockBytes::kAlignment + 17], 'a' + i) << i;
}

TEST(StagingWriterTest, AFailedWriteIsReportedAndStays) {
  StagingWriter writer(1 << 20);
  auto writes = std::make_shared<StagedWrites>();
  writer.write(writes, -1, -1, 0, page_of('x'), BlockBytes::kAlignment);  // EBADF
  EXPECT_EQ(writes->wait(), std::errc::bad_file_descriptor);
  EXPECT_EQ(writes->failed(), std::errc::bad_file_descriptor);
}

}  // namespace
