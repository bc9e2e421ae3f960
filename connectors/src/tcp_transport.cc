// The TCP side of the socket transport (socket_transport.h): Boost.Asio resolves, connects and
// binds; the connected or listening socket is then handed to the same framing and call
// multiplexing as a Unix socket's.
#include <fcntl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <utility>

#include "chakong/connectors/socket_transport.h"

namespace chakong::connectors {
namespace {

using boost::asio::ip::tcp;

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

}  // namespace

StatusOr<std::shared_ptr<SocketClient>> SocketClient::connect_tcp(const std::string& address) {
  StatusOr<HostPort> parsed = split(address, /*listening=*/false);
  if (!parsed.ok()) return parsed.status();
  const HostPort& hp = *parsed;
  boost::asio::io_context io;
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const tcp::resolver::results_type found = resolver.resolve(hp.host, hp.port, ec);
  if (ec) {
    return unavailable_error("cannot resolve institutions host " + address + ": " + ec.message());
  }
  tcp::socket socket(io);
  boost::asio::connect(socket, found, ec);
  if (ec) {
    return unavailable_error("cannot connect to institutions at " + address + ": " + ec.message());
  }
  socket.set_option(tcp::no_delay(true), ec);
  const int fd = socket.release(ec);
  if (ec) return unavailable_error("tcp " + address + ": " + ec.message());
  set_cloexec(fd);
  return start(fd);
}

StatusOr<std::unique_ptr<SocketServer>> SocketServer::listen_tcp(
    const std::string& address, std::vector<Transport*> endpoints) {
  StatusOr<HostPort> parsed = split(address, /*listening=*/true);
  if (!parsed.ok()) return parsed.status();
  const HostPort& hp = *parsed;
  boost::asio::io_context io;
  boost::system::error_code ec;
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
  s->start_accepting();
  return s;
}

}  // namespace chakong::connectors
