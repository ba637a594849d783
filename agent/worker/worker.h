// The agent's I/O worker: one thread, one epoll set, every open device's
// eventfds (I/O, CRW, REQ) and the device-event monitor's fd. Handlers run on
// the worker thread, one at a time.
//
// Source: epoll(7), eventfd(2); the vfio-ccw IRQ model in
// Documentation/s390/vfio-ccw.rst.
#ifndef CCWPASS_AGENT_WORKER_WORKER_H_
#define CCWPASS_AGENT_WORKER_WORKER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ccwpass::agent {

class IoWorker {
 public:
  using Handler = std::function<void()>;

  // Creates the epoll set and starts the thread. Errors: kInternal with errno.
  static absl::StatusOr<std::unique_ptr<IoWorker>> Start();
  ~IoWorker();  // stops the thread; handlers are not called any more

  // Calls `h` on the worker thread whenever `fd` is readable (level-triggered:
  // the handler must consume what made it readable). Errors: kInternal
  // (epoll_ctl errno, e.g. EEXIST when fd is already watched).
  absl::Status Add(int fd, Handler h);
  // Stops watching `fd`. When it returns, the fd's handler is not running
  // (unless called from that handler itself) and will not run again.
  void Remove(int fd);
  // Runs `fn` on the worker thread soon.
  void Post(std::function<void()> fn);
  bool OnWorkerThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  IoWorker() = default;
  void Run();

  int ep_ = -1;
  int wake_ = -1;  // eventfd: Post() and Stop()
  std::thread thread_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  absl::flat_hash_map<int, std::shared_ptr<Handler>> handlers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  int running_fd_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace ccwpass::agent

#endif  // CCWPASS_AGENT_WORKER_WORKER_H_
