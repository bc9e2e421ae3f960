// Socket transport: an adapter's bytes to institutions served by another process, over a
// Unix socket (same machine) or TCP (Boost.Asio sets the connection up; tcp_transport.cc).
//
// SocketClient holds one connection to a SocketServer and gives out one Transport per
// channel (a channel is one institution's endpoint on the server). Calls are multiplexed by
// id; replies complete on the client's reader thread. When the connection drops, every call
// still waiting completes with kUnavailable (an adapter then reports the requests in doubt:
// the institution may have acted; the engine re-sends them with the same idempotency keys).
// The client then reconnects on demand: the next call waits for a new connection (dialled
// on the client's own thread, never the caller's) and is sent on it; when dialling fails,
// the calls waiting complete with kUnavailable naming the error and the next attempt waits
// a backoff (doubling from ReconnectOptions::initial up to ::max; reset by a success).
//
// SocketServer accepts any number of clients, one after another or at once, and hands each
// call to the channel's endpoint Transport (e.g. a sandbox endpoint over a simulated
// institution); a reply for a client that has gone is dropped. The server, and so the
// institutions' state, outlives the engines that connect to it: this is how the crash
// harness kills an engine and starts another against the same institutions.
//
// Both carry the same frames and behave the same; TCP sets TCP_NODELAY (a call is one small
// frame, waiting for more would add Nagle's delay to every request). TCP may be TLS (OpenSSL
// through Boost.Asio's ssl::stream, TLS 1.2 or later): the client checks the server's
// certificate against a CA and a name and may present its own (mutual TLS); the server may
// require client certificates of a CA. A TLS connection's records are relayed by a thread of
// its own to a socket pair whose other end runs the same framing as a plain socket.
//
// Frames (little-endian): request  = u32 size | u64 call | u32 channel | bytes,
//                         reply    = u32 size | u64 call | u8 ok | bytes (or error text).
#ifndef CHAKONG_CONNECTORS_SOCKET_TRANSPORT_H_
#define CHAKONG_CONNECTORS_SOCKET_TRANSPORT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chakong/connectors/transport.h"

namespace chakong::connectors {

// TLS of a client's TCP connection. PEM contents, not file names.
struct TlsClientOptions {
  std::string ca_pem;  // CA bundle the server's certificate must chain to (required).
  // The client's certificate chain and private key, for a server that asks for one (mutual
  // TLS); both or neither.
  std::string cert_pem, key_pem;
  // The name (DNS name or IP address) the server's certificate must carry, also sent as SNI;
  // empty: the host part of the address.
  std::string server_name;
  // A handshake not finished by then fails (e.g. a plaintext server, which never answers).
  std::chrono::milliseconds handshake_timeout{10'000};
};

// TLS of a server's TCP connections.
struct TlsServerOptions {
  std::string cert_pem, key_pem;  // The server's certificate chain and private key (required).
  // When set, a client must present a certificate chaining to this CA bundle (mutual TLS).
  std::string client_ca_pem;
  // A client that has not finished its handshake by then is dropped.
  std::chrono::milliseconds handshake_timeout{10'000};
};

struct ReconnectOptions {
  std::chrono::milliseconds initial{100};  // Wait after the first failed attempt,
  std::chrono::milliseconds max{5'000};    // doubling up to this.
};

struct TcpClientOptions {
  std::optional<TlsClientOptions> tls;  // Absent: plaintext.
  ReconnectOptions reconnect;
  // A TCP connect not done by then fails (a host that never answers).
  std::chrono::milliseconds connect_timeout{10'000};
};

// The options' PEM material loads (kInvalidArgument naming what does not: "TLS CA: ...").
[[nodiscard]] Status check_tls_client_options(const TlsClientOptions& tls);
[[nodiscard]] Status check_tls_server_options(const TlsServerOptions& tls);

class SocketClient : public std::enable_shared_from_this<SocketClient> {
 public:
  // Connects to the server at `path`; kUnavailable when nobody listens there.
  [[nodiscard]] static StatusOr<std::shared_ptr<SocketClient>> connect(
      const std::string& path, ReconnectOptions reconnect = {});
  // Connects over TCP to "host:port" ("[v6]:port" for an IPv6 address); kInvalidArgument for
  // an address of another form or a bad TLS option, kUnavailable when the host does not
  // resolve, nobody listens or the TLS handshake fails (naming why, e.g. the certificate
  // check's verdict).
  [[nodiscard]] static StatusOr<std::shared_ptr<SocketClient>> connect_tcp(
      const std::string& address, const TcpClientOptions& options = {});
  ~SocketClient();
  // A transport for `channel`; it keeps the client alive.
  std::unique_ptr<Transport> channel(uint32_t channel);
  // Closes the connection for good: waiting calls complete with kUnavailable, later ones too.
  void close();
  // Connections made so far (1 after connect(), +1 for each reconnection).
  uint64_t connections() const { return connections_.load(); }
  // Replaces the TLS options used by the next reconnection (e.g. renewed certificates); the
  // current connection stays. Only for a TLS client (kFailedPrecondition otherwise).
  [[nodiscard]] Status set_tls(TlsClientOptions tls);

  // One connection: the stream socket the framing reads and writes, and what keeps it
  // working (a TLS connection's relay; null for a plain socket).
  struct Link {
    int fd = -1;
    std::shared_ptr<void> relay;
  };
  // Makes a connection; `tls` is the TLS client's current options (null for a plain one).
  using Dialer = std::function<StatusOr<Link>(const TlsClientOptions* tls)>;

 private:
  class Channel;
  struct Parked {
    uint32_t channel;
    std::string bytes;
    TransportDone done;
  };
  SocketClient(Dialer dialer, ReconnectOptions reconnect)
      : dialer_(std::move(dialer)), reconnect_(reconnect) {}
  // Dials once (an error is returned as is) and starts the client's thread on the link.
  static StatusOr<std::shared_ptr<SocketClient>> start(Dialer dialer, ReconnectOptions reconnect,
                                                       std::shared_ptr<const TlsClientOptions> tls);
  void call(uint32_t channel, std::string bytes, TransportDone done);
  void send(uint64_t id, uint64_t generation, uint32_t channel, const std::string& bytes);
  void run();
  void read_loop(int fd);
  void fail_all(const std::string& why);

  // Set at start; dialer_ is called on the client's thread only.
  Dialer dialer_;
  const ReconnectOptions reconnect_;
  std::mutex tls_mu_;
  std::shared_ptr<const TlsClientOptions> tls_;  // A TLS client's options (guarded by tls_mu_).

  // Guarded by write_mu_: the socket calls are written to, and its generation (0: none).
  std::mutex write_mu_;
  int write_fd_ = -1;
  uint64_t write_generation_ = 0;

  // Guarded by calls_mu_.
  std::mutex calls_mu_;
  std::condition_variable wake_;             // A call parked, or close().
  std::map<uint64_t, TransportDone> calls_;  // Sent, waiting for their replies.
  std::vector<Parked> parked_;               // Waiting for a connection.
  uint64_t next_call_ = 1;
  uint64_t generation_ = 0;  // Of the current connection; 0 while there is none.
  uint64_t last_generation_ = 0;
  bool closed_ = false;  // close() was called.

  // The client's thread only.
  Link link_;
  std::atomic<uint64_t> connections_{0};
  std::thread reader_;
};

class SocketServer {
 public:
  // Listens at `path` (replacing a stale socket file) and serves channel i from
  // endpoints[i], which must outlive the server. Each connection has its own thread, which
  // calls the endpoints' async_call(): an endpoint must accept calls from any thread (a
  // sandbox endpoint on a real-time executor hops onto it).
  [[nodiscard]] static StatusOr<std::unique_ptr<SocketServer>> listen(
      const std::string& path, std::vector<Transport*> endpoints);
  // Listens on TCP at "host:port" ("[v6]:port"; port 0 picks one, see port()), with TLS
  // when `tls` is given (kInvalidArgument when its certificate or key does not load).
  [[nodiscard]] static StatusOr<std::unique_ptr<SocketServer>> listen_tcp(
      const std::string& address, std::vector<Transport*> endpoints,
      const std::optional<TlsServerOptions>& tls = std::nullopt);
  ~SocketServer();
  uint64_t connections() const { return connections_.load(); }
  // TLS connections dropped because their handshake failed or timed out.
  uint64_t tls_refused() const { return tls_refused_->load(); }
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
  // TLS: wraps an accepted TCP socket into the framing's end of its relay (null: plain).
  std::function<SocketClient::Link(int)> wrap_;
  std::shared_ptr<std::atomic<uint64_t>> tls_refused_ = std::make_shared<std::atomic<uint64_t>>(0);
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
