// File-system helpers: atomic writes of files and artifact folders, whole-file reads, SHA-256.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace advkfp::io {

namespace fs = std::filesystem;

/// Writes `content` to `path` through a temporary sibling file that is renamed into place, so a
/// reader never sees a partial file, and syncs the data (fsync) before the rename and the folder
/// holding the name after it, so a power loss leaves the old file or the complete new one. Creates
/// missing parent folders. Throws advkfp::Error naming
/// `what` (the input or output's name) when the path cannot be written.
void write_atomically(const fs::path& path, const std::string& content, const std::string& what);

/// Runs `fill(tmp)` to write a file at a temporary sibling path, then renames it to `path`.
/// On any exception the temporary file is removed and the exception propagates. A process killed
/// mid-write leaves its temporary sibling behind; the next write of the same path removes it (and
/// any other whose writing process is gone). The same holds for write_dir_atomically.
void write_file_atomically(const fs::path& path, const std::string& what,
                           const std::function<void(const fs::path& tmp)>& fill);

/// Same for a folder artifact: `fill(tmp_dir)` populates a fresh temporary sibling folder, which then
/// replaces `dir` (an existing folder at `dir` is removed only after `fill` succeeded).
void write_dir_atomically(const fs::path& dir, const std::string& what,
                          const std::function<void(const fs::path& tmp_dir)>& fill);

/// Reads a whole file. Throws advkfp::Error "<what>: cannot read '<path>': <reason>".
std::string read_file(const fs::path& path, const std::string& what);

/// Lowercase hex SHA-256 of a file's bytes.
std::string sha256_file(const fs::path& path, const std::string& what);
/// Lowercase hex SHA-256 of a byte string.
std::string sha256_hex(const std::string& bytes);
/// Lowercase hex of a byte string, and back (throws advkfp::Error naming `what` on bad hex).
std::string to_hex(const std::string& bytes);
std::string from_hex(const std::string& hex, const std::string& what);

/// Content digest of a file or a folder artifact. A regular file: sha256_file(). A folder: the
/// SHA-256 of its listing in `sha256sum` format, one "<sha256 of file>  <relative path>\n" line per
/// regular file below it, sorted by path bytewise, so a shell reproduces it with
/// `(cd DIR && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum) | sha256sum`.
/// As `find -type f` does, symbolic links and special files inside a folder are not part of it.
/// Throws advkfp::Error naming `what` for a path that does not exist or a file it cannot read.
std::string sha256_tree(const fs::path& path, const std::string& what);

/// Where the file or folder a URI names is on this machine: a plain path or file:// URI is taken as
/// is; gs://, s3:// and minio:// map to /gcs/, /s3/ and /minio/, where the KFP launcher mounts
/// them. Throws advkfp::UsageError naming `what` for other schemes.
fs::path resolve_uri(const std::string& uri, const std::string& what);

/// Writes a KFP output parameter: only the value, no trailing newline (KFP reads STRING verbatim).
void write_output_parameter(const fs::path& path, const std::string& value, const std::string& what);

}  // namespace advkfp::io
