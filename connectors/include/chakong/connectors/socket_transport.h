// Socket transport: an adapter's bytes to institutions served by another process, over a
// Unix socket (same machine) or TCP (Boost.Asio sets the connection up; tcp_transport.cc).
//
// SocketClient holds one connection to a SocketServer and gives out one Transport per
// channel (a channel is one institution's endpoint on the server). Calls are multiplexed by
// id; replies complete on the client's reader thread. When the connection drops, every call
// still waiting completes with kUnavailable (an adapter then reports the requests in doubt,
// and the engine re-sends them with the same idempotency keys).
//
// SocketServer accepts any number of clients, one after another or at once, and hands each
// call to the channel's endpoint Transport (e.g. a sandbox endpoint over a simulated
// institution); a reply for a client that has gone is dropped. The server, and so the
// institutions' state, outlives the engines that connect to it: this is how the crash
// harness kills an engine and starts another against the same institutions.
//
// Both carry the same frames and behave the same; TCP sets TCP_NODELAY (a call is one small
// frame, waiting for more would add Nagle's delay to every request). TCP is plaintext: run it
// on a trusted network or a loopback, or tunnel it (TLS is not implemented yet).
//
// Frames (little-endian): request  = u32 size | u64 call | u32 channel | bytes,
//                         reply    = u32 size | u64 call | u8 ok | bytes (or error text).
#ifndef CHAKONG_CONNECTORS_SOCKET_TRANSPORT_H_
#define CHAKONG_CONNECTORS_SOCKET_TRANSPORT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chakong/connectors/transport.h"

namespace chakong::connectors {

class SocketClient : public std::enable_shared_from_this<SocketClient> {
 public:
  // Connects to the server at `path`; kUnavailable when nobody listens there.
  [[nodiscard]] static StatusOr<std::shared_ptr<SocketClient>> connect(const std::string& path);
  // Connects over TCP to "host:port" ("[v6]:port" for an IPv6 address); kInvalidArgument for
  // an address of another form, kUnavailable when the host does not resolve or nobody listens.
  [[nodiscard]] static StatusOr<std::shared_ptr<SocketClient>> connect_tcp(
      const std::string& address);
  ~SocketClient();
  // A transport for `channel`; it keeps the client alive.
  std::unique_ptr<Transport> channel(uint32_t channel);
  // Closes the connection: waiting calls complete with kUnavailable.
  void close();

 private:
  class Channel;
  explicit SocketClient(int fd) : fd_(fd) {}
  // Takes a connected stream socket and starts its reader.
  static std::shared_ptr<SocketClient> start(int fd);
  void call(uint32_t channel, std::string bytes, TransportDone done);
  void read_loop();
  void fail_all(const std::string& why);

  int fd_;
  std::mutex write_mu_;
  std::mutex calls_mu_;
  std::map<uint64_t, TransportDone> calls_;
  uint64_t next_call_ = 1;
  bool closed_ = false;
  std::thread reader_;
};

class SocketServer {
 public:
  // Listens at `path` (replacing a stale socket file) and serves channel i from
  // endpoints[i], which must outlive the server.
  [[nodiscard]] static StatusOr<std::unique_ptr<SocketServer>> listen(
      const std::string& path, std::vector<Transport*> endpoints);
  // Listens on TCP at "host:port" ("[v6]:port"; port 0 picks one, see port()).
  [[nodiscard]] static StatusOr<std::unique_ptr<SocketServer>> listen_tcp(
      const std::string& address, std::vector<Transport*> endpoints);
  ~SocketServer();
  uint64_t connections() const { return connections_.load(); }
  // The TCP port listened on (0 for a Unix socket).
  uint16_t port() const { return port_; }

 private:
  struct Connection;
  SocketServer(int fd, std::string path, std::vector<Transport*> endpoints)
      : fd_(fd), path_(std::move(path)), endpoints_(std::move(endpoints)) {}
  void accept_loop();
  void serve(std::shared_ptr<Connection> c);
  void start_accepting();

  int fd_;
  std::string path_;  // Empty for TCP.
  uint16_t port_ = 0;
  std::vector<Transport*> endpoints_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Connection>> live_;
  std::vector<std::thread> servers_;
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_SOCKET_TRANSPORT_H_
