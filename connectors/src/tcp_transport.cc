// The TCP side of the socket transport (socket_transport.h): Boost.Asio resolves, connects and
// binds; the connected or listening socket is then handed to the same framing and call
// multiplexing as a Unix socket's. With TLS, a TlsRelay owns the TCP socket inside an
// ssl::stream and relays its plaintext to a socket pair whose other end gets the framing.
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "chakong/connectors/socket_transport.h"

namespace chakong::connectors {
namespace {

using boost::asio::ip::tcp;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

struct HostPort {
  std::string host, port;
};

// "host:port" or "[v6]:port", port 1..65535 (0 too when listening).
StatusOr<HostPort> split(const std::string& address, bool listening) {
  const size_t colon = address.rfind(':');
  auto bad = [&] { return invalid_argument_error("'" + address + "' is not host:port"); };
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
      colon + 6 < address.size() ||
      address.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return bad();
  }
  const long port = std::stol(address.substr(colon + 1));
  if (port > 65535 || (port == 0 && !listening)) return bad();
  std::string host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  }
  return HostPort{std::move(host), address.substr(colon + 1)};
}

void set_cloexec(int fd) { (void)::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

// OpenSSL's reason, without Boost's "(SSL routines)" suffix.
std::string ssl_reason(const error_code& ec) {
  std::string m = ec.message();
  const size_t paren = m.find(" (");
  return paren == std::string::npos ? m : m.substr(0, paren);
}

// TLS 1.2 or later.
std::shared_ptr<ssl::context> new_context(ssl::context::method method) {
  auto ctx = std::make_shared<ssl::context>(method);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  return ctx;
}

Status load_identity(ssl::context& ctx, const std::string& cert_pem, const std::string& key_pem,
                     const std::string& what) {
  if (cert_pem.empty()) return invalid_argument_error(what + " certificate: required (PEM)");
  if (key_pem.empty()) return invalid_argument_error(what + " key: required (PEM)");
  error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (ec) {
    return invalid_argument_error(what + " certificate: not a PEM certificate chain (" +
                                  ssl_reason(ec) + ")");
  }
  ctx.use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) {
    return invalid_argument_error(what + " key: not a PEM private key (" + ssl_reason(ec) + ")");
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return invalid_argument_error(what + " key does not match its certificate");
  }
  return Status();
}

Status load_ca(ssl::context& ctx, const std::string& ca_pem, const std::string& what) {
  if (ca_pem.empty()) return invalid_argument_error(what + ": required (a PEM CA bundle)");
  error_code ec;
  ctx.add_certificate_authority(boost::asio::buffer(ca_pem), ec);
  if (ec) return invalid_argument_error(what + ": not a PEM CA bundle (" + ssl_reason(ec) + ")");
  return Status();
}

StatusOr<std::shared_ptr<ssl::context>> client_context(const TlsClientOptions& o) {
  auto ctx = new_context(ssl::context::tls_client);
  CHAKONG_RETURN_IF_ERROR(load_ca(*ctx, o.ca_pem, "TLS CA"));
  if (o.cert_pem.empty() != o.key_pem.empty()) {
    return invalid_argument_error("TLS client certificate and key: both or neither");
  }
  if (!o.cert_pem.empty()) {
    CHAKONG_RETURN_IF_ERROR(load_identity(*ctx, o.cert_pem, o.key_pem, "TLS client"));
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

StatusOr<std::shared_ptr<ssl::context>> server_context(const TlsServerOptions& o) {
  auto ctx = new_context(ssl::context::tls_server);
  CHAKONG_RETURN_IF_ERROR(load_identity(*ctx, o.cert_pem, o.key_pem, "TLS server"));
  if (!o.client_ca_pem.empty()) {
    CHAKONG_RETURN_IF_ERROR(load_ca(*ctx, o.client_ca_pem, "TLS client CA"));
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

// One TLS connection: its ssl::stream over the TCP socket, a socket pair's end, and a thread
// running both directions of the relay between them. Closing either side closes the other,
// so the framing sees a lost TLS connection as end of file, and the TLS peer sees the framing
// closing its end. Destroying the relay stops its thread.
class TlsRelay {
 public:
  explicit TlsRelay(std::shared_ptr<ssl::context> ctx)
      : ctx_(std::move(ctx)), tls_(io_, *ctx_), plain_(io_) {}
  ~TlsRelay() {
    io_.stop();
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();
      } else {
        thread_.join();
      }
    }
  }
  ssl::stream<tcp::socket>& tls() { return tls_; }

  // Client: the handshake, now, on the caller's thread, at most `timeout` long.
  error_code client_handshake(std::chrono::milliseconds timeout) {
    error_code result;
    bool timed_out = false;
    boost::asio::steady_timer timer(io_, timeout);
    timer.async_wait([&](const error_code& ec) {
      if (ec) return;  // Cancelled: the handshake ended first.
      timed_out = true;
      error_code ignored;
      tls_.lowest_layer().close(ignored);
    });
    tls_.async_handshake(ssl::stream_base::client, [&](const error_code& ec) {
      result = ec;
      timer.cancel();
    });
    io_.run();
    io_.restart();
    return timed_out ? make_error_code(boost::asio::error::timed_out) : result;
  }

  // Client, after its handshake: starts relaying; the framing's end of the pair, or -1.
  int start_client() {
    const int fd = make_pair();
    if (fd < 0) return -1;
    relay();
    thread_ = std::thread([this] { io_.run(); });
    return fd;
  }

  // Server: takes the accepted TCP socket `fd`, handshakes on the relay's thread (at most
  // `timeout`; a failure closes the pair, calls `refused`), then relays. The framing's end
  // of the pair at once, or -1 (fd closed).
  int start_server(int fd, std::chrono::milliseconds timeout, std::function<void()> refused) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    error_code ec;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      tls_.next_layer().assign(local.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    } else {
      ec = error_code(errno, boost::system::system_category());
    }
    if (ec) {
      ::close(fd);
      return -1;
    }
    const int plain = make_pair();
    if (plain < 0) return -1;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, timeout);
    timer->async_wait([this](const error_code& e) {
      if (!e) stop();
    });
    tls_.async_handshake(ssl::stream_base::server,
                         [this, timer, refused = std::move(refused)](const error_code& e) {
                           timer->cancel();
                           if (e || stopped_) {
                             refused();
                             stop();
                             return;
                           }
                           relay();
                         });
    // Until the handshake is done, the framing's end is not read: a client that closes it
    // (the server stopping) must still stop the relay.
    watch_plain_close();
    thread_ = std::thread([this] { io_.run(); });
    return plain;
  }

 private:
  int make_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    error_code ec;
    plain_.assign(boost::asio::local::stream_protocol(), sv[0], ec);
    if (ec) {
      ::close(sv[0]);
      ::close(sv[1]);
      return -1;
    }
    return sv[1];
  }

  // The framing writes nothing before it has read a request, so its end readable before the
  // relay runs is its end closed.
  void watch_plain_close() {
    plain_.async_wait(boost::asio::socket_base::wait_read, [this](const error_code& e) {
      if (!e && !relaying_) stop();
    });
  }

  void relay() {
    relaying_ = true;
    tls_to_plain();
    plain_to_tls();
  }
  void tls_to_plain() {
    tls_.async_read_some(boost::asio::buffer(from_tls_), [this](const error_code& e, size_t n) {
      if (e) return stop();
      boost::asio::async_write(plain_, boost::asio::buffer(from_tls_.data(), n),
                               [this](const error_code& e2, size_t) {
                                 if (e2) return stop();
                                 tls_to_plain();
                               });
    });
  }
  void plain_to_tls() {
    plain_.async_read_some(boost::asio::buffer(to_tls_), [this](const error_code& e, size_t n) {
      if (e) return stop();
      boost::asio::async_write(tls_, boost::asio::buffer(to_tls_.data(), n),
                               [this](const error_code& e2, size_t) {
                                 if (e2) return stop();
                                 plain_to_tls();
                               });
    });
  }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    error_code ignored;
    tls_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    tls_.lowest_layer().close(ignored);
    plain_.shutdown(boost::asio::local::stream_protocol::socket::shutdown_both, ignored);
    plain_.close(ignored);
  }

  boost::asio::io_context io_;
  std::shared_ptr<ssl::context> ctx_;
  ssl::stream<tcp::socket> tls_;
  boost::asio::local::stream_protocol::socket plain_;
  std::array<char, 16 * 1024> from_tls_, to_tls_;
  // The relay's thread only (or the caller's before it starts).
  bool stopped_ = false;
  bool relaying_ = false;
  std::thread thread_;
};

// Resolves and connects `socket` to hp, at most `timeout` for the connect (a blocking
// connect to a host that never answers would wait for the kernel's SYN retries, minutes, and
// hold up close()). Runs the socket's io_context on the caller's thread until done.
Status connect_socket(tcp::socket& socket, const HostPort& hp, const std::string& address,
                      std::chrono::milliseconds timeout) {
  auto& io = static_cast<boost::asio::io_context&>(socket.get_executor().context());
  error_code ec;
  tcp::resolver resolver(io);
  const tcp::resolver::results_type found = resolver.resolve(hp.host, hp.port, ec);
  if (ec) {
    return unavailable_error("cannot resolve institutions host " + address + ": " + ec.message());
  }
  bool timed_out = false;
  boost::asio::steady_timer timer(io, timeout);
  timer.async_wait([&](const error_code& e) {
    if (e) return;  // Cancelled: connected or refused first.
    timed_out = true;
    error_code ignored;
    socket.close(ignored);
  });
  boost::asio::async_connect(socket, found, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    timer.cancel();
  });
  io.run();
  io.restart();
  if (timed_out) {
    return unavailable_error("cannot connect to institutions at " + address +
                             ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (ec) {
    return unavailable_error("cannot connect to institutions at " + address + ": " + ec.message());
  }
  socket.set_option(tcp::no_delay(true), ec);
  return Status();
}

StatusOr<SocketClient::Link> dial_plain(const HostPort& hp, const std::string& address,
                                        std::chrono::milliseconds timeout) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  CHAKONG_RETURN_IF_ERROR(connect_socket(socket, hp, address, timeout));
  error_code ec;
  const int fd = socket.release(ec);
  if (ec) return unavailable_error("tcp " + address + ": " + ec.message());
  set_cloexec(fd);
  // The async connect left the socket non-blocking; the framing reads and writes blocking.
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return SocketClient::Link{fd, nullptr};
}

StatusOr<SocketClient::Link> dial_tls(const HostPort& hp, const std::string& address,
                                      const TlsClientOptions& o,
                                      std::chrono::milliseconds connect_timeout) {
  StatusOr<std::shared_ptr<ssl::context>> ctx = client_context(o);
  if (!ctx.ok()) return ctx.status();
  auto relay = std::make_shared<TlsRelay>(std::move(*ctx));
  // The relay's thread is not started yet: its io_context runs here for the connect.
  CHAKONG_RETURN_IF_ERROR(connect_socket(relay->tls().next_layer(), hp, address, connect_timeout));
  set_cloexec(relay->tls().next_layer().native_handle());
  const std::string name = o.server_name.empty() ? hp.host : o.server_name;
  SSL* ssl = relay->tls().native_handle();
  error_code ec;
  (void)boost::asio::ip::make_address(name, ec);
  const bool is_ip = !ec;
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
  ec = relay->client_handshake(o.handshake_timeout);
  if (ec == boost::asio::error::timed_out) {
    return unavailable_error("TLS handshake with institutions at " + address +
                             ": no answer within " + std::to_string(o.handshake_timeout.count()) +
                             " ms (is it a TLS server?)");
  }
  if (ec) {
    std::string why = ssl_reason(ec);
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
      why += ": the server's certificate (" + name + "): " + X509_verify_cert_error_string(verdict);
    }
    return unavailable_error("TLS handshake with institutions at " + address + " failed: " + why);
  }
  const int fd = relay->start_client();
  if (fd < 0) return unavailable_error("tls " + address + ": socketpair: " + std::strerror(errno));
  return SocketClient::Link{fd, std::move(relay)};
}

}  // namespace

Status check_tls_client_options(const TlsClientOptions& tls) {
  return client_context(tls).status();
}

Status check_tls_server_options(const TlsServerOptions& tls) {
  return server_context(tls).status();
}

StatusOr<std::shared_ptr<SocketClient>> SocketClient::connect_tcp(const std::string& address,
                                                                  const TcpClientOptions& options) {
  StatusOr<HostPort> parsed = split(address, /*listening=*/false);
  if (!parsed.ok()) return parsed.status();
  std::shared_ptr<const TlsClientOptions> tls;
  if (options.tls) {
    CHAKONG_RETURN_IF_ERROR(check_tls_client_options(*options.tls));
    tls = std::make_shared<const TlsClientOptions>(*options.tls);
  }
  return start(
      [hp = *parsed, address, timeout = options.connect_timeout](const TlsClientOptions* t) {
        return t == nullptr ? dial_plain(hp, address, timeout) : dial_tls(hp, address, *t, timeout);
      },
      options.reconnect, std::move(tls));
}

StatusOr<std::unique_ptr<SocketServer>> SocketServer::listen_tcp(
    const std::string& address, std::vector<Transport*> endpoints,
    const std::optional<TlsServerOptions>& tls) {
  StatusOr<HostPort> parsed = split(address, /*listening=*/true);
  if (!parsed.ok()) return parsed.status();
  std::shared_ptr<ssl::context> ctx;
  if (tls) {
    StatusOr<std::shared_ptr<ssl::context>> made = server_context(*tls);
    if (!made.ok()) return made.status();
    ctx = std::move(*made);
  }
  const HostPort& hp = *parsed;
  boost::asio::io_context io;
  error_code ec;
  tcp::resolver resolver(io);
  const tcp::resolver::results_type found =
      resolver.resolve(hp.host, hp.port, tcp::resolver::passive, ec);
  if (ec || found.empty()) {
    return unavailable_error("cannot listen at " + address + ": " +
                             (ec ? ec.message() : "no address"));
  }
  tcp::acceptor acceptor(io);
  const tcp::endpoint at = found.begin()->endpoint();
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(64, ec);
  if (ec) return unavailable_error("cannot listen at " + address + ": " + ec.message());
  const uint16_t port = acceptor.local_endpoint(ec).port();
  const int fd = acceptor.release(ec);
  if (ec) return unavailable_error("cannot listen at " + address + ": " + ec.message());
  set_cloexec(fd);
  std::unique_ptr<SocketServer> s(new SocketServer(fd, "", std::move(endpoints)));
  s->port_ = port;
  if (ctx) {
    s->wrap_ = [ctx, timeout = tls->handshake_timeout, refused = s->tls_refused_](int cfd) {
      auto relay = std::make_shared<TlsRelay>(ctx);
      const int plain = relay->start_server(cfd, timeout, [refused] { ++*refused; });
      return SocketClient::Link{plain, plain < 0 ? nullptr : std::move(relay)};
    };
  }
  s->start_accepting();
  return s;
}

}  // namespace chakong::connectors
