#include "chakong/connectors/socket_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chakong::connectors {
namespace {

bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool read_exact(int fd, char* out, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::recv(fd, out + done, size - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Reads one frame: its 12-byte (request) or 9-byte (reply) head and body.
bool read_frame(int fd, size_t head_size, std::string& head, std::string& body) {
  char size_bytes[4];
  if (!read_exact(fd, size_bytes, 4)) return false;
  const uint64_t size = get_le(size_bytes, 4);
  if (size < head_size || size > (256u << 20)) return false;
  head.resize(head_size);
  body.resize(size - head_size);
  return read_exact(fd, head.data(), head_size) && read_exact(fd, body.data(), body.size());
}

sockaddr_un address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  return a;
}

}  // namespace

// ---- Client ------------------------------------------------------------------------------

class SocketClient::Channel final : public Transport {
 public:
  Channel(std::shared_ptr<SocketClient> client, uint32_t channel)
      : client_(std::move(client)), channel_(channel) {}
  void async_call(std::string request, TransportDone done) override {
    client_->call(channel_, std::move(request), std::move(done));
  }

 private:
  std::shared_ptr<SocketClient> client_;
  uint32_t channel_;
};

StatusOr<std::shared_ptr<SocketClient>> SocketClient::connect(const std::string& path,
                                                              ReconnectOptions reconnect) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return invalid_argument_error("socket path '" + path + "' is too long");
  }
  return start(
      [path](const TlsClientOptions*) -> StatusOr<Link> {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return unavailable_error("socket: " + std::string(std::strerror(errno)));
        const sockaddr_un a = address(path);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
          const std::string why = std::strerror(errno);
          ::close(fd);
          return unavailable_error("cannot connect to institutions at " + path + ": " + why);
        }
        return Link{fd, nullptr};
      },
      reconnect, nullptr);
}

StatusOr<std::shared_ptr<SocketClient>> SocketClient::start(
    Dialer dialer, ReconnectOptions reconnect, std::shared_ptr<const TlsClientOptions> tls) {
  StatusOr<Link> link = dialer(tls.get());
  if (!link.ok()) return link.status();
  std::shared_ptr<SocketClient> c(new SocketClient(std::move(dialer), reconnect));
  c->tls_ = std::move(tls);
  c->link_ = std::move(*link);
  c->generation_ = c->last_generation_ = 1;
  c->write_fd_ = c->link_.fd;
  c->write_generation_ = 1;
  c->connections_ = 1;
  c->reader_ = std::thread([raw = c.get()] { raw->run(); });
  return c;
}

SocketClient::~SocketClient() {
  close();
  if (reader_.joinable()) {
    if (reader_.get_id() == std::this_thread::get_id()) {
      reader_.detach();
    } else {
      reader_.join();
    }
  }
}

std::unique_ptr<Transport> SocketClient::channel(uint32_t channel) {
  return std::make_unique<Channel>(shared_from_this(), channel);
}

void SocketClient::close() {
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    if (closed_) return;
    closed_ = true;
  }
  wake_.notify_all();
  std::lock_guard<std::mutex> lock(write_mu_);
  if (write_fd_ >= 0) ::shutdown(write_fd_, SHUT_RDWR);  // The thread fails the calls.
}

Status SocketClient::set_tls(TlsClientOptions tls) {
  std::lock_guard<std::mutex> lock(tls_mu_);
  if (tls_ == nullptr) return failed_precondition_error("not a TLS connection");
  tls_ = std::make_shared<const TlsClientOptions>(std::move(tls));
  return Status();
}

void SocketClient::call(uint32_t channel, std::string bytes, TransportDone done) {
  uint64_t id = 0, generation = 0;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    if (!closed_ && generation_ == 0) {
      // No connection: the client's thread dials and sends it (or fails it).
      parked_.push_back({channel, std::move(bytes), std::move(done)});
      wake_.notify_all();
      return;
    }
    if (!closed_) {
      id = next_call_++;
      generation = generation_;
      calls_.emplace(id, std::move(done));
    }
  }
  if (id == 0) {
    // Never inside async_call(): complete from another thread.
    std::thread([done = std::move(done)] {
      done(unavailable_error("institution connection closed"));
    }).detach();
    return;
  }
  send(id, generation, channel, bytes);
}

void SocketClient::send(uint64_t id, uint64_t generation, uint32_t channel,
                        const std::string& bytes) {
  std::string frame;
  put_le(frame, 12 + bytes.size(), 4);
  put_le(frame, id, 8);
  put_le(frame, channel, 4);
  frame += bytes;
  std::lock_guard<std::mutex> lock(write_mu_);
  // Another generation: the call's connection was lost and the call failed with it.
  if (write_generation_ != generation) return;
  if (!write_all(write_fd_, frame)) ::shutdown(write_fd_, SHUT_RDWR);  // The reader fails.
}

void SocketClient::run() {
  for (;;) {
    read_loop(link_.fd);
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      write_fd_ = -1;
      write_generation_ = 0;
    }
    // Every call sent on the lost connection: the institution may have acted, in doubt.
    fail_all("institution connection lost");
    ::close(link_.fd);
    link_ = Link{};

    // Reconnect when a call asks for it, not closer than the backoff after a failure.
    std::chrono::milliseconds backoff = reconnect_.initial;
    auto next_attempt = std::chrono::steady_clock::now();
    for (;;) {
      std::unique_lock<std::mutex> lock(calls_mu_);
      wake_.wait(lock, [&] { return closed_ || !parked_.empty(); });
      wake_.wait_until(lock, next_attempt, [&] { return closed_; });
      std::vector<Parked> parked;
      if (closed_) {
        parked.swap(parked_);
        lock.unlock();
        for (Parked& p : parked) p.done(unavailable_error("institution connection closed"));
        return;
      }
      lock.unlock();
      std::shared_ptr<const TlsClientOptions> tls;
      {
        std::lock_guard<std::mutex> tls_lock(tls_mu_);
        tls = tls_;
      }
      StatusOr<Link> link = dialer_(tls.get());
      lock.lock();
      if (link.ok() && closed_) {
        ::close(link->fd);
        continue;  // Fails the parked calls above.
      }
      if (!link.ok()) {
        parked.swap(parked_);
        lock.unlock();
        for (Parked& p : parked) {
          p.done(unavailable_error("cannot reconnect: " + std::string(link.status().message())));
        }
        next_attempt = std::chrono::steady_clock::now() + backoff;
        backoff = std::min(backoff * 2, reconnect_.max);
        continue;
      }
      link_ = std::move(*link);
      ++connections_;
      generation_ = ++last_generation_;
      {
        std::lock_guard<std::mutex> write_lock(write_mu_);
        write_fd_ = link_.fd;
        write_generation_ = generation_;
      }
      parked.swap(parked_);
      std::vector<uint64_t> ids;
      for (Parked& p : parked) {
        ids.push_back(next_call_++);
        calls_.emplace(ids.back(), std::move(p.done));
      }
      const uint64_t generation = generation_;
      lock.unlock();
      for (size_t i = 0; i < parked.size(); ++i) {
        send(ids[i], generation, parked[i].channel, parked[i].bytes);
      }
      break;
    }
  }
}

void SocketClient::read_loop(int fd) {
  std::string head, body;
  while (read_frame(fd, 9, head, body)) {
    const uint64_t id = get_le(head.data(), 8);
    const bool ok = head[8] != 0;
    TransportDone done;
    {
      std::lock_guard<std::mutex> lock(calls_mu_);
      auto it = calls_.find(id);
      if (it == calls_.end()) continue;
      done = std::move(it->second);
      calls_.erase(it);
    }
    if (ok) {
      done(std::move(body));
    } else {
      done(unavailable_error("institution: " + body));
    }
  }
}

void SocketClient::fail_all(const std::string& why) {
  std::map<uint64_t, TransportDone> calls;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    generation_ = 0;
    calls.swap(calls_);
  }
  for (auto& [id, done] : calls) done(unavailable_error(why));
}

// ---- Server ------------------------------------------------------------------------------

struct SocketServer::Connection {
  explicit Connection(SocketClient::Link l) : fd(l.fd), relay(std::move(l.relay)) {}
  ~Connection() { ::close(fd); }
  int fd;
  std::shared_ptr<void> relay;  // A TLS connection's relay (after fd: closed after it).
  std::mutex write_mu;
  std::atomic<bool> closed{false};
};

StatusOr<std::unique_ptr<SocketServer>> SocketServer::listen(const std::string& path,
                                                             std::vector<Transport*> endpoints) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return invalid_argument_error("socket path '" + path + "' is too long");
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unavailable_error("socket: " + std::string(std::strerror(errno)));
  ::unlink(path.c_str());
  const sockaddr_un a = address(path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return unavailable_error("cannot listen at " + path + ": " + why);
  }
  std::unique_ptr<SocketServer> s(new SocketServer(fd, path, std::move(endpoints)));
  s->start_accepting();
  return s;
}

void SocketServer::start_accepting() {
  acceptor_ = std::thread([this] { accept_loop(); });
}

SocketServer::~SocketServer() {
  stop_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : live_) {
      c->closed = true;
      ::shutdown(c->fd, SHUT_RDWR);
    }
  }
  for (std::thread& t : servers_) t.join();
  ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

void SocketServer::accept_loop() {
  while (!stop_) {
    const int cfd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (port_ != 0) {
      const int one = 1;
      (void)::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    SocketClient::Link link{cfd, nullptr};
    if (wrap_) link = wrap_(cfd);  // TLS: the framing's end of the connection's relay.
    if (link.fd < 0) continue;
    auto c = std::make_shared<Connection>(std::move(link));
    ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    live_.push_back(c);
    servers_.emplace_back([this, c] { serve(c); });
  }
}

void SocketServer::serve(std::shared_ptr<Connection> c) {
  std::string head, body;
  while (read_frame(c->fd, 12, head, body)) {
    const uint64_t id = get_le(head.data(), 8);
    const uint32_t channel = static_cast<uint32_t>(get_le(head.data() + 8, 4));
    auto reply = [c, id](bool ok, const std::string& bytes) {
      if (c->closed) return;  // The client has gone: nobody to answer.
      std::string frame;
      put_le(frame, 9 + bytes.size(), 4);
      put_le(frame, id, 8);
      frame.push_back(ok ? 1 : 0);
      frame += bytes;
      std::lock_guard<std::mutex> lock(c->write_mu);
      if (!write_all(c->fd, frame)) c->closed = true;
    };
    if (channel >= endpoints_.size()) {
      reply(false, "no channel " + std::to_string(channel));
      continue;
    }
    endpoints_[channel]->async_call(std::move(body), [reply](StatusOr<std::string> r) {
      if (r.ok()) {
        reply(true, *r);
      } else {
        reply(false, r.status().to_string());
      }
    });
  }
  c->closed = true;
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(std::remove(live_.begin(), live_.end(), c), live_.end());
}

}  // namespace chakong::connectors
