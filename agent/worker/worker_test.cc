#include "agent/worker/worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace ccwpass::agent {
namespace {

TEST(IoWorker, RunsHandlersOnItsThreadAndStopsOnRemove) {
  auto w = IoWorker::Start();
  ASSERT_TRUE(w.ok()) << w.status();
  const int fd = eventfd(0, EFD_NONBLOCK);
  std::atomic<int> calls{0};
  absl::Notification fired;
  bool on_worker = false;
  ASSERT_TRUE((*w)->Add(fd, [&] {
                  uint64_t v;
                  ASSERT_EQ(::read(fd, &v, sizeof v), 8);
                  on_worker = (*w)->OnWorkerThread();
                  if (++calls == 1) fired.Notify();
                }).ok());
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), 8);
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(on_worker);
  EXPECT_FALSE((*w)->Add(fd, [] {}).ok());  // already watched
  (*w)->Remove(fd);
  ASSERT_EQ(::write(fd, &one, sizeof one), 8);
  absl::Notification posted;
  (*w)->Post([&] { posted.Notify(); });
  ASSERT_TRUE(posted.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(calls.load(), 1);  // not called after Remove
  ::close(fd);
}

}  // namespace
}  // namespace ccwpass::agent
