// Durability checks on a sync trace (see durability.h).
#include "support/durability.h"

#include <fstream>
#include <sstream>

namespace advkfp::test {
namespace fs = std::filesystem;

std::vector<SyncEvent> read_sync_trace(const fs::path& file) {
  std::vector<SyncEvent> events;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    SyncEvent e;
    std::getline(fields, e.kind, '\t');
    std::getline(fields, e.path, '\t');
    std::getline(fields, e.to, '\t');
    events.push_back(e);
  }
  return events;
}

std::vector<std::string> durability_problems(const std::vector<SyncEvent>& events,
                                             const fs::path& artifact) {
  std::vector<std::string> problems;
  // The last rename onto the artifact is its publication (a folder that already existed is first
  // renamed aside, then the temporary folder onto its name).
  size_t publish = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind == "rename" && events[i].to == artifact.string()) publish = i;
  }
  if (publish == events.size()) return {"no rename published " + artifact.string()};
  const fs::path temp = events[publish].path;

  auto synced = [&](const fs::path& p, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      if (events[i].kind == "fsync" && events[i].path == p.string()) return true;
    }
    return false;
  };
  std::vector<fs::path> entries = {""};
  if (fs::is_directory(artifact)) {
    for (const auto& e : fs::recursive_directory_iterator(artifact)) {
      entries.push_back(fs::relative(e.path(), artifact));
    }
  }
  for (const auto& rel : entries) {
    const fs::path before = rel.empty() ? temp : temp / rel;
    if (!synced(before, 0, publish)) {
      problems.push_back(before.string() + " was not synced before it was renamed to " +
                         artifact.string());
    }
  }
  if (!synced(artifact.parent_path(), publish + 1, events.size())) {
    problems.push_back(artifact.parent_path().string() + " was not synced after " +
                       artifact.string() + " was renamed into it");
  }
  return problems;
}

std::vector<std::string> sync_trace_env(const fs::path& trace) {
  return {"LD_PRELOAD=" ADVKFP_SYNC_TRACE_SO, "ADVKFP_SYNC_TRACE=" + trace.string()};
}

}  // namespace advkfp::test
