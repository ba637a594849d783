#include "agent/worker/worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ccwpass::agent {

absl::StatusOr<std::unique_ptr<IoWorker>> IoWorker::Start() {
  std::unique_ptr<IoWorker> w(new IoWorker());
  w->ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (w->ep_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", std::strerror(errno)));
  w->wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->wake_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = w->wake_;
  if (epoll_ctl(w->ep_, EPOLL_CTL_ADD, w->wake_, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

IoWorker::~IoWorker() {
  if (thread_.joinable()) {
    stop_.store(true);
    const uint64_t one = 1;
    ssize_t n = ::write(wake_, &one, sizeof one);
    (void)n;
    thread_.join();
  }
  if (wake_ >= 0) ::close(wake_);
  if (ep_ >= 0) ::close(ep_);
}

absl::Status IoWorker::Add(int fd, Handler h) {
  {
    absl::MutexLock l(&mu_);
    handlers_[fd] = std::make_shared<Handler>(std::move(h));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    absl::MutexLock l(&mu_);
    handlers_.erase(fd);
    return absl::InternalError(absl::StrCat("epoll_ctl add fd ", fd, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

void IoWorker::Remove(int fd) {
  epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
  absl::MutexLock l(&mu_);
  handlers_.erase(fd);
  if (OnWorkerThread()) return;
  auto idle = [this, fd]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_fd_ != fd; };
  mu_.Await(absl::Condition(&idle));
}

void IoWorker::Post(std::function<void()> fn) {
  {
    absl::MutexLock l(&mu_);
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  ssize_t n = ::write(wake_, &one, sizeof one);
  (void)n;
}

void IoWorker::Run() {
  epoll_event evs[64];
  while (!stop_.load()) {
    const int n = epoll_wait(ep_, evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n && !stop_.load(); ++i) {
      const int fd = evs[i].data.fd;
      if (fd == wake_) {
        uint64_t v;
        ssize_t r = ::read(wake_, &v, sizeof v);
        (void)r;
        std::vector<std::function<void()>> todo;
        {
          absl::MutexLock l(&mu_);
          todo.swap(posted_);
        }
        for (auto& f : todo) f();
        continue;
      }
      std::shared_ptr<Handler> h;
      {
        absl::MutexLock l(&mu_);
        auto it = handlers_.find(fd);
        if (it == handlers_.end()) continue;  // removed meanwhile
        h = it->second;
        running_fd_ = fd;
      }
      (*h)();
      absl::MutexLock l(&mu_);
      running_fd_ = -1;
    }
  }
}

}  // namespace ccwpass::agent
