#include "cache/staging_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
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
    StagingWriter writer(2 * BlockBytes::kAlignment);  // small: some writes find the queue full
    auto writes = std::make_shared<StagedWrites>();
    for (int i = 0; i < 64; ++i) {
      auto page = page_of(static_cast<char>('a' + i % 26));
      const auto offset = static_cast<off_t>(i * BlockBytes::kAlignment);
      if (!writer.write(writes, fd, -1, offset, page,
                        BlockBytes::kAlignment)) {  // refused: the caller writes
        ASSERT_EQ(::pwrite(fd, page->data(), page->size(), offset), static_cast<ssize_t>(page->size()));
      }
    }
    EXPECT_FALSE(writes->wait());
  }
  ::close(fd);
  std::ifstream in(path, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(got.size(), 64 * BlockBytes::kAlignment);
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(got[i * BlockBytes::kAlignment + 17], 'a' + i % 26) << i;
}

TEST(StagingWriterTest, AWriteLargerThanTheBoundIsTakenWhenNothingIsQueued) {
  testsupport::TempDir dir("ftpfs-staging");
  const int fd = ::open((dir.path() / "f").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  {
    StagingWriter writer(BlockBytes::kAlignment / 2);
    auto writes = std::make_shared<StagedWrites>();
    EXPECT_TRUE(writer.write(writes, fd, -1, 0, page_of('q'), BlockBytes::kAlignment));
    EXPECT_FALSE(writes->wait());
    EXPECT_TRUE(writer.write(writes, fd, -1, BlockBytes::kAlignment, page_of('r'), BlockBytes::kAlignment))
        << "the queue is empty again";
    EXPECT_FALSE(writes->wait());
  }
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(2 * BlockBytes::kAlignment));
  ::close(fd);
}

TEST(StagingWriterTest, AWriterWithoutRoomRefusesEveryWrite) {
  StagingWriter writer(0);
  auto writes = std::make_shared<StagedWrites>();
  EXPECT_FALSE(writer.write(writes, -1, -1, 0, page_of('z'), BlockBytes::kAlignment));
  EXPECT_FALSE(writes->wait()) << "a refused write is not outstanding";
}

TEST(StagingWriterTest, AFailedWriteIsReportedAndStays) {
  StagingWriter writer(1 << 20);
  auto writes = std::make_shared<StagedWrites>();
  ASSERT_TRUE(writer.write(writes, -1, -1, 0, page_of('x'), BlockBytes::kAlignment));  // EBADF
  EXPECT_EQ(writes->wait(), std::errc::bad_file_descriptor);
  EXPECT_EQ(writes->failed(), std::errc::bad_file_descriptor);
}

}  // namespace
