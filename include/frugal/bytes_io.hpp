// frugal/bytes_io.hpp: files, sockets and descriptors for frugal::bytes (POSIX).
//
//   frugal::bytes page = frugal::map_file("static/index.html");     // no read, no copy
//   for (const frugal::bytes& chunk : frugal::file_chunks("big.log", 64 * 1024))
//     frugal::send_all(client, chunk);                               // one recycled buffer
//   frugal::bytes_chain reply{header, body};
//   frugal::send_all(client, reply);                                 // one writev, no concat
//   frugal::send_file(client, "big.iso");                            // sendfile(2)
//
// Errors from the system throw std::system_error carrying errno, with a message naming the
// function, the path or descriptor, and the failing call. Writes to a peer that has closed its
// end throw std::system_error(EPIPE); they never raise SIGPIPE.
//
// A mapped file is not a snapshot: when another process truncates it, reading the lost pages
// raises SIGBUS, and when another process writes it, the views show the new bytes. Map files
// that are replaced by rename (written elsewhere, then moved into place), not rewritten in place;
// for files that may change under you, read them with file_chunks instead.
#pragma once

#include <frugal/bytes.hpp>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

namespace detail {

[[noreturn]] FRUGAL_COLD inline void throw_path_error(const char* what, const char* call,
                                                      std::string_view path, int error) {
  FRUGAL_THROW(std::system_error(error, std::generic_category(),
                                 std::string(what) + ": " + call + " '" + std::string(path) + "'"));
}

[[noreturn]] FRUGAL_COLD inline void throw_path_error(const char* what, const char* call,
                                                      const std::filesystem::path& path,
                                                      int error) {
  throw_path_error(what, call, std::string_view(path.native()), error);
}

[[noreturn]] FRUGAL_COLD inline void throw_fd_error(const char* what, const char* call, int fd,
                                                    int error) {
  FRUGAL_THROW(
      std::system_error(error, std::generic_category(),
                        std::string(what) + ": " + call + " on descriptor " + std::to_string(fd)));
}

// Closes a descriptor it owns.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

inline unique_fd open_read(const char* what, const std::filesystem::path& path, int flags = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_path_error(what, "open", path, errno);
  return unique_fd(fd);
}

// A read-only mapping, unmapped when the last view drops.
class file_mapping {
 public:
  file_mapping(void* p, std::size_t n) noexcept : p_(p), n_(n) {}
  file_mapping(file_mapping&& other) noexcept
      : p_(std::exchange(other.p_, nullptr)), n_(std::exchange(other.n_, 0)) {}
  file_mapping& operator=(file_mapping&&) = delete;
  ~file_mapping() {
    if (p_ != nullptr) ::munmap(p_, n_);
  }

 private:
  void* p_;
  std::size_t n_;
};

// Blocks SIGPIPE on this thread while alive; a SIGPIPE raised meanwhile (by sendfile or write
// to a closed pipe, which take no MSG_NOSIGNAL) is consumed before the mask is restored.
class sigpipe_blocker {
 public:
  sigpipe_blocker() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  sigpipe_blocker(const sigpipe_blocker&) = delete;
  sigpipe_blocker& operator=(const sigpipe_blocker&) = delete;
  ~sigpipe_blocker() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// Waits until `fd` is writable (a non-blocking socket whose buffer is full).
inline void wait_writable(const char* what, int fd) {
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) throw_fd_error(what, "poll", fd, errno);
  }
}

}  // namespace detail

/// Returns the contents of the regular file at `path` as `bytes` backed by a read-only,
/// private memory map: nothing is read or copied up front, pages load on first touch, and the
/// mapping lives until the last view (or slice) of it drops. An empty file gives empty
/// `bytes` with no mapping. One allocation (the owner's control block), none for an empty
/// file. Throws std::system_error naming the path and errno when the file cannot be opened,
/// examined or mapped, or is not a regular file (EINVAL), or is one whose size reads 0 but
/// which holds bytes (EINVAL: the files of /proc and /sys; read them with `file_chunks`). See the file comment for files
/// changed while mapped (SIGBUS on truncation).
inline bytes map_file(const std::filesystem::path& path) {
  // Non-blocking, so that a FIFO without a writer is refused below instead of blocking the
  // open; a socket refuses the open itself (ENXIO), and is not a regular file either.
  struct stat named {};
  if (::stat(path.c_str(), &named) == 0 && !S_ISREG(named.st_mode)) {
    detail::throw_path_error("map_file", "not a regular file:", path, EINVAL);
  }
  detail::unique_fd fd = detail::open_read("map_file", path, O_NONBLOCK);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) detail::throw_path_error("map_file", "fstat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    detail::throw_path_error("map_file", "not a regular file:", path, EINVAL);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    // Files of /proc and /sys are regular files whose size reads 0 whatever they hold: one
    // byte read tells them from an empty file, and they cannot be mapped (use file_chunks).
    char probe;
    ssize_t n;
    while ((n = ::read(fd.get(), &probe, 1)) < 0 && errno == EINTR) {
    }
    if (n < 0) detail::throw_path_error("map_file", "read", path, errno);
    if (n > 0) detail::throw_path_error("map_file", "a file whose size is unknown:", path, EINVAL);
    return bytes();
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) detail::throw_path_error("map_file", "mmap", path, errno);
  detail::file_mapping mapping(p, size);
  return bytes::from_owner(std::span<const std::byte>(static_cast<const std::byte*>(p), size),
                           std::move(mapping));
}

/// Reads once from `fd` into the spare capacity of `buf`, without zero-filling it first,
/// after making room for at least `min_room` bytes (`buf.reserve`, which reuses the buffer
/// when every piece split from it has dropped). Returns the number of bytes read, 0 at end of
/// file, or an empty optional when `fd` is non-blocking and has nothing to read. Retries on
/// EINTR. Allocates only when `reserve` must grow. Throws std::system_error naming the
/// descriptor and errno on other errors; then `buf` keeps its bytes.
inline std::optional<std::size_t> read_from(int fd, bytes_mut& buf, std::size_t min_room = 4096) {
  buf.reserve(min_room == 0 ? 1 : min_room);
  const std::span<std::byte> room = buf.spare_capacity();
  for (;;) {
    const ssize_t n = ::read(fd, room.data(), room.size());
    if (n >= 0) {
      buf.commit(static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    detail::throw_fd_error("read_from", "read", fd, errno);
  }
}

/// Streams a file as a range of `bytes` chunks of `chunk_size` bytes (the last may be
/// shorter), each read into one recycled buffer: when the previous chunk has been dropped
/// before the next is read, the same allocation is reused, so a loop that sends each chunk
/// and lets it go allocates once for the whole file. A chunk kept longer stays valid; the
/// next one then gets a fresh buffer. An input range: iterate it once.
class file_chunks {
 public:
  /// Opens `path` for reading. Keeps a copy of the path's text (`path.native()`, a
  /// `std::string`) for error messages: no allocation when it fits in the string's own
  /// short buffer (up to 15 bytes with libstdc++, 22 with libc++; `std::string().capacity()`
  /// tells), else one. Then nothing until the first chunk (then once, the buffer). Throws
  /// std::invalid_argument when `chunk_size` is 0, and std::system_error naming the path and
  /// errno when the file cannot be opened.
  explicit file_chunks(const std::filesystem::path& path, std::size_t chunk_size = 64 * 1024)
      : chunk_size_(chunk_size) {
    if (chunk_size == 0) FRUGAL_THROW(std::invalid_argument("file_chunks: chunk_size is 0"));
    fd_ = detail::open_read("file_chunks", path);
    path_ = path.native();
  }

  /// Returns the next chunk, or an empty optional at end of file. Retries on EINTR and after
  /// short reads until the chunk is full or the file ends. Allocates only when the previous
  /// chunk (or a slice of it) is still alive. Throws std::system_error naming the path and
  /// errno on a read error; the bytes read before the error are kept, and begin the chunk
  /// that a later call returns (still at most `chunk_size` bytes).
  std::optional<bytes> next() {
    if (done_) return std::nullopt;
    std::size_t filled = buf_.size();  // kept from a read that failed part-way
    buf_.reserve(chunk_size_ - filled);
    while (filled < chunk_size_) {
      const std::span<std::byte> room = buf_.spare_capacity();
      const ssize_t n = ::read(fd_.get(), room.data(), chunk_size_ - filled);
      if (n < 0) {
        if (errno == EINTR) continue;
        detail::throw_path_error("file_chunks", "read", std::string_view(path_), errno);
      }
      if (n == 0) {
        done_ = true;
        break;
      }
      buf_.commit(static_cast<std::size_t>(n));
      filled += static_cast<std::size_t>(n);
    }
    if (filled == 0) return std::nullopt;
    return buf_.split().freeze();
  }

  /// The input iterator of `file_chunks`: holds the current chunk, dropping it before
  /// reading the next so that the buffer can be recycled.
  class iterator {
   public:
    using value_type = bytes;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    /// Constructs the end iterator. Never throws.
    iterator() = default;
    /// Returns the current chunk.
    const bytes& operator*() const noexcept { return current_; }
    /// Returns a pointer to the current chunk.
    const bytes* operator->() const noexcept { return &current_; }
    /// Drops the current chunk and reads the next (see `file_chunks::next`).
    iterator& operator++() {
      current_.clear();
      load();
      return *this;
    }
    /// As prefix `++`.
    void operator++(int) { ++*this; }
    /// Returns true at end of file.
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.source_ == nullptr;
    }

   private:
    friend class file_chunks;
    explicit iterator(file_chunks* source) : source_(source) { load(); }
    void load() {
      std::optional<bytes> chunk = source_->next();
      if (chunk) {
        current_ = std::move(*chunk);
      } else {
        source_ = nullptr;
      }
    }
    file_chunks* source_ = nullptr;
    bytes current_;
  };

  /// Reads the first chunk and returns an iterator to it. Throws as `next`.
  iterator begin() { return iterator(this); }
  /// Returns the end-of-file sentinel.
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  detail::unique_fd fd_;
  std::string path_;  // the native text alone: a path would also allocate its component list
  bytes_mut buf_;
  std::size_t chunk_size_;
  bool done_ = false;
};

/// Writes every byte of `chain` to `fd` with `sendmsg` (MSG_NOSIGNAL) on sockets and `writev`
/// on other descriptors, `IOV_MAX` pieces per call, looping over partial writes and
/// consuming `chain` as it goes (after a throw it holds what was not written). Retries on
/// EINTR; on a non-blocking descriptor waits with `poll` when it would block. Returns the
/// number of bytes written. Never allocates. Throws std::system_error naming the descriptor
/// and errno; a closed peer is EPIPE (or ECONNRESET), never SIGPIPE.
inline std::size_t send_all(int fd, bytes_chain& chain) {
  std::size_t total = 0;
  bool socket = true;
  while (!chain.empty()) {
    iovec iov[IOV_MAX < 1024 ? IOV_MAX : 1024];
    std::size_t count = 0;
    for (const bytes& piece : chain.pieces()) {
      if (count == std::size(iov)) break;
      iov[count].iov_base = const_cast<std::byte*>(piece.data());
      iov[count].iov_len = piece.size();
      ++count;
    }
    ssize_t n;
    if (socket) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = count;
      n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (n < 0 && errno == ENOTSOCK) {
        socket = false;
        continue;
      }
    } else {
      detail::sigpipe_blocker no_sigpipe;
      n = ::writev(fd, iov, static_cast<int>(count));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        detail::wait_writable("send_all", fd);
        continue;
      }
      detail::throw_fd_error("send_all", socket ? "sendmsg" : "writev", fd, errno);
    }
    chain.advance(static_cast<std::size_t>(n));
    total += static_cast<std::size_t>(n);
  }
  return total;
}

/// Writes every byte of `data` to `fd`, as the `bytes_chain` overload (a chain of one piece).
/// Returns the number of bytes written. Never allocates.
inline std::size_t send_all(int fd, const bytes& data) {
  bytes_chain chain;
  chain.push_back(data);
  return send_all(fd, chain);
}

/// Sends up to `count` bytes of the open file `file_fd`, from `offset`, to `fd` with
/// `sendfile` (the kernel copies; nothing passes through user memory), looping over partial
/// transfers until `count` bytes are sent or the file ends. Returns the number of bytes sent.
/// Blocks SIGPIPE on the calling thread during the call (sendfile has no MSG_NOSIGNAL), so a
/// closed peer throws std::system_error(EPIPE) instead of killing the process. Never
/// allocates except for the error message. Throws std::system_error naming the descriptor.
inline std::size_t send_file(int fd, int file_fd, std::size_t offset = 0,
                             std::size_t count = static_cast<std::size_t>(-1)) {
  detail::sigpipe_blocker no_sigpipe;
  std::size_t sent = 0;
  auto pos = static_cast<off_t>(offset);
  while (sent < count) {
    const std::size_t want =
        count - sent < (std::size_t{1} << 30) ? count - sent : (std::size_t{1} << 30);
    const ssize_t n = ::sendfile(fd, file_fd, &pos, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        detail::wait_writable("send_file", fd);
        continue;
      }
      detail::throw_fd_error("send_file", "sendfile", fd, errno);
    }
    if (n == 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

/// Sends the whole file at `path` to `fd` with `sendfile`, as the descriptor overload.
/// Returns the number of bytes sent. Throws std::system_error naming the path when the file
/// cannot be opened, and naming the descriptor when sending fails.
inline std::size_t send_file(int fd, const std::filesystem::path& path) {
  detail::unique_fd file = detail::open_read("send_file", path);
  return send_file(fd, file.get());
}

FRUGAL_END_NAMESPACE
