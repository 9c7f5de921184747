// LD_PRELOAD library for the durability test: logs every fsync/fdatasync (with the path of the
// file descriptor) and every rename (with both paths made absolute), in call order, to the file
// named by $ADVKFP_SYNC_TRACE, then calls the real function. One write(2) per line on an O_APPEND
// descriptor, so lines from several threads do not interleave. Only libc is used: the library is
// loaded before anything else in the process.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace {

int log_fd() {
  static int fd = [] {
    const char* path = getenv("ADVKFP_SYNC_TRACE");
    return path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
  }();
  return fd;
}

// The absolute form of `path`, relative to `dirfd` (AT_FDCWD: the working directory).
void absolute(int dirfd, const char* path, char* out, size_t size) {
  if (path[0] == '/') {
    snprintf(out, size, "%s", path);
    return;
  }
  char base[PATH_MAX] = "";
  if (dirfd == AT_FDCWD) {
    if (!getcwd(base, sizeof base)) base[0] = '\0';
  } else {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    const ssize_t n = readlink(link, base, sizeof base - 1);
    base[n > 0 ? n : 0] = '\0';
  }
  snprintf(out, size, "%s/%s", base, path);
}

void record(const char* event, const char* a, const char* b) {
  const int fd = log_fd();
  if (fd < 0) return;
  char line[3 * PATH_MAX];
  const int n = b ? snprintf(line, sizeof line, "%s\t%s\t%s\n", event, a, b)
                  : snprintf(line, sizeof line, "%s\t%s\n", event, a);
  if (n > 0 && static_cast<size_t>(n) < sizeof line) (void)!write(fd, line, n);
}

void record_sync(const char* event, int fd) {
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  path[n > 0 ? n : 0] = '\0';
  record(event, path, nullptr);
}

void record_rename(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) {
  char from[PATH_MAX], to[PATH_MAX];
  absolute(olddirfd, oldpath, from, sizeof from);
  absolute(newdirfd, newpath, to, sizeof to);
  record("rename", from, to);
}

template <typename F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int fsync(int fd) {
  static auto next = real<int (*)(int)>("fsync");
  const int rc = next(fd);
  if (rc == 0) record_sync("fsync", fd);
  return rc;
}

int fdatasync(int fd) {
  static auto next = real<int (*)(int)>("fdatasync");
  const int rc = next(fd);
  if (rc == 0) record_sync("fsync", fd);
  return rc;
}

int rename(const char* oldpath, const char* newpath) {
  static auto next = real<int (*)(const char*, const char*)>("rename");
  // Recorded after a successful call only: a failed rename published nothing.
  const int rc = next(oldpath, newpath);
  if (rc == 0) record_rename(AT_FDCWD, oldpath, AT_FDCWD, newpath);
  return rc;
}

int renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) {
  static auto next = real<int (*)(int, const char*, int, const char*)>("renameat");
  const int rc = next(olddirfd, oldpath, newdirfd, newpath);
  if (rc == 0) record_rename(olddirfd, oldpath, newdirfd, newpath);
  return rc;
}

int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
              unsigned int flags) {
  static auto next = real<int (*)(int, const char*, int, const char*, unsigned int)>("renameat2");
  const int rc = next(olddirfd, oldpath, newdirfd, newpath, flags);
  if (rc == 0) record_rename(olddirfd, oldpath, newdirfd, newpath);
  return rc;
}

}  // extern "C"
