#include "agent/state/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "agent/busid.h"
#include "nlohmann/json.hpp"

namespace ccwpass::agent {
bool IsMdevUuid(std::string_view u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !(std::isdigit(static_cast<unsigned char>(u[i])) || (u[i] >= 'a' && u[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}

namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::map<std::string, DesiredAttachment>> StateStore::Parse(const std::string& text,
                                                                         const std::string& where) {
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat(where, ": ", why,
                                            "; move the file aside to start with no desired attachments"));
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) return bad("no \"version\"");
  if (j["version"].get<int64_t>() != 1) return bad(absl::StrCat("version ", j["version"].dump(), " is not 1"));
  if (!j.contains("attachments") || !j["attachments"].is_array()) return bad("no \"attachments\" array");
  std::map<std::string, DesiredAttachment> out;
  size_t i = 0;
  for (const nlohmann::json& a : j["attachments"]) {
    const std::string at = absl::StrCat("attachments[", i++, "]");
    if (!a.is_object()) return bad(at + " is not an object");
    DesiredAttachment d;
    if (!a.contains("schid") || !a["schid"].is_string() || !ParseBusId(a["schid"].get<std::string>()).ok()) {
      return bad(at + ".schid is not a schid like \"0.0.0100\"");
    }
    auto id = ParseBusId(a["schid"].get<std::string>());
    d.schid = FormatSchid(id->first, id->second);
    if (!a.contains("mode") || !a["mode"].is_string() ||
        (a["mode"] != "agent" && a["mode"] != "handoff")) {
      return bad(at + ".mode is not \"agent\" or \"handoff\"");
    }
    d.handoff = a["mode"] == "handoff";
    if (!a.contains("mdev_uuid") || !a["mdev_uuid"].is_string() || !IsMdevUuid(a["mdev_uuid"].get<std::string>())) {
      return bad(at + ".mdev_uuid is not a lower-case UUID");
    }
    d.mdev_uuid = a["mdev_uuid"].get<std::string>();
    if (a.contains("owner")) {
      if (!a["owner"].is_string()) return bad(at + ".owner is not a string");
      d.owner = a["owner"].get<std::string>();
    }
    if (a.contains("attached_at")) {
      if (!a["attached_at"].is_number_integer()) return bad(at + ".attached_at is not an integer");
      d.attached_at = a["attached_at"].get<int64_t>();
    }
    if (a.contains("phase")) {
      if (!a["phase"].is_string() || (a["phase"] != "attached" && a["phase"] != "detaching")) {
        return bad(at + ".phase is not \"attached\" or \"detaching\"");
      }
      d.detaching = a["phase"] == "detaching";
    }
    if (out.count(d.schid)) return bad(at + ": " + d.schid + " appears twice");
    out[d.schid] = d;
  }
  return out;
}

std::string StateStore::Serialize(const std::map<std::string, DesiredAttachment>& entries) {
  // The text nlohmann::json's dump(2) gives for {"attachments": [...], "version": 1}
  // (keys sorted, two-space indent), written directly: building a JSON tree of
  // every entry for each write took most of the time of attaching the
  // 10,000th subchannel. Strings other than plain printable ASCII are
  // quoted by nlohmann::json itself.
  auto quote = [](const std::string& s) {
    const bool plain = std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    return plain ? absl::StrCat("\"", s, "\"") : nlohmann::json(s).dump();
  };
  std::string out = "{\n  \"attachments\": [";
  bool first = true;
  for (const auto& [schid, a] : entries) {
    absl::StrAppend(&out, first ? "\n" : ",\n", "    {\n      \"attached_at\": ", a.attached_at,
                    ",\n      \"mdev_uuid\": ", quote(a.mdev_uuid), ",\n      \"mode\": \"",
                    a.handoff ? "handoff" : "agent", "\",\n      \"owner\": ", quote(a.owner),
                    ",\n      \"phase\": \"", a.detaching ? "detaching" : "attached", "\",\n      \"schid\": ",
                    quote(a.schid), "\n    }");
    first = false;
  }
  absl::StrAppend(&out, first ? "],\n" : "\n  ],\n", "  \"version\": 1\n}\n");
  return out;
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  auto s = std::unique_ptr<StateStore>(new StateStore());
  s->dir_ = dir;
  if (dir.empty()) return s;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    if (errno == EACCES || errno == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat("create state directory ", dir, ": ", std::strerror(errno)));
    }
    return Errno("create state directory", dir);
  }
  s->path_ = dir + "/" + kFileName;
  std::ifstream in(s->path_);
  if (!in) {
    if (errno == ENOENT) return s;
    return Errno("open", s->path_);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<std::map<std::string, DesiredAttachment>> e = Parse(ss.str(), s->path_);
  if (!e.ok()) return e.status();
  absl::MutexLock l(&s->mu_);
  s->entries_ = std::move(*e);
  return s;
}

std::map<std::string, DesiredAttachment> StateStore::entries() const {
  absl::MutexLock l(&mu_);
  return entries_;
}

absl::Status StateStore::Persist(const std::map<std::string, DesiredAttachment>& entries) {
  if (dir_.empty()) return absl::OkStatus();
  const std::string tmp = path_ + ".tmp";
  const std::string text = Serialize(entries);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status st = Errno("write", tmp);
      ::close(fd);
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status st = Errno("fsync", tmp);
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return Errno("rename over", path_);
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

std::optional<DesiredAttachment> StateStore::Get(const std::string& schid) const {
  absl::MutexLock l(&mu_);
  auto it = entries_.find(schid);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

absl::Status StateStore::Commit(Change& c) {
  absl::MutexLock l(&mu_);
  queue_.push_back(&c);
  for (;;) {
    auto ready = [this, &c]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return c.done || !writing_; };
    mu_.Await(absl::Condition(&ready));
    if (c.done) return c.status;
    // Nobody writes: this caller writes every change queued so far.
    std::vector<Change*> batch;
    batch.swap(queue_);
    std::map<std::string, DesiredAttachment> next = entries_;
    for (Change* b : batch) b->apply(next);
    writing_ = true;
    mu_.Unlock();
    const absl::Status st = Persist(next);
    mu_.Lock();
    writing_ = false;
    if (st.ok()) entries_ = std::move(next);
    for (Change* b : batch) {
      b->status = st;
      b->done = true;
    }
  }
}

absl::Status StateStore::Put(const DesiredAttachment& a) {
  if (dir_.empty()) {
    absl::MutexLock l(&mu_);
    entries_[a.schid] = a;
    return absl::OkStatus();
  }
  Change c{[&a](std::map<std::string, DesiredAttachment>& m) { m[a.schid] = a; }};
  return Commit(c);
}

absl::Status StateStore::Remove(const std::string& schid) {
  {
    absl::MutexLock l(&mu_);
    if (dir_.empty() || (!entries_.count(schid) && queue_.empty() && !writing_)) {
      entries_.erase(schid);
      return absl::OkStatus();
    }
  }
  Change c{[&schid](std::map<std::string, DesiredAttachment>& m) { m.erase(schid); }};
  return Commit(c);
}

}  // namespace ccwpass::agent
