// Reading the trace of tests/support/sync_trace.cpp (every fsync and rename of a process, in call
// order) and checking it against the rule of io::write_file_atomically and io::write_dir_atomically:
// each file and folder of an artifact's temporary sibling synced before the rename that publishes
// it, and the folder holding the new name synced after. rename(2) alone makes the change of name
// atomic, not the data durable: after a power loss a file renamed before its data reached the disk
// can be empty (ext4 with delayed allocation when no file is replaced, xfs always). A SIGKILL test
// cannot see this; only the order of the calls can.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace advkfp::test {

struct SyncEvent {
  std::string kind, path, to;  ///< kind "fsync" (path) or "rename" (path -> to)
};

/// The events of a trace file, in call order (none when the file is absent).
std::vector<SyncEvent> read_sync_trace(const std::filesystem::path& file);

/// What the trace lacks for the artifact at `artifact` (an absolute path, file or folder, as it is
/// on disk now) to have been published durably; empty when nothing.
std::vector<std::string> durability_problems(const std::vector<SyncEvent>& events,
                                             const std::filesystem::path& artifact);

/// The environment that makes a process (and its children) log to `trace`.
std::vector<std::string> sync_trace_env(const std::filesystem::path& trace);

}  // namespace advkfp::test
