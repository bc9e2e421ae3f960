#include "listener_tls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "chakong/connectors/socket_transport.h"

namespace chakong::service {
namespace {

constexpr char kIdentity[] = "identity.pem";
constexpr char kClientCa[] = "client_ca.pem";
constexpr unsigned kRefreshSeconds = 1;  // The provider's minimum.

std::string private_base() {
  for (const char* var : {"RUNTIME_DIRECTORY", "TMPDIR"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') continue;
    std::string dir(v);
    return dir.substr(0, dir.find(':'));  // systemd may list several, ':'-separated.
  }
  return "/tmp";
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Status ListenerTls::check(const ListenerTlsMaterial& m) {
  connectors::TlsServerOptions o;
  o.cert_pem = m.cert_pem;
  o.key_pem = m.key_pem;
  o.client_ca_pem = m.client_ca_pem;
  if (Status s = connectors::check_tls_server_options(o); !s.ok()) {
    return invalid_argument_error(std::string(s.message()));
  }
  return ok_status();
}

StatusOr<std::unique_ptr<ListenerTls>> ListenerTls::create(const ListenerTlsMaterial& m) {
  CHAKONG_RETURN_IF_ERROR(check(m));
  std::unique_ptr<ListenerTls> t(new ListenerTls());
  std::string pattern = private_base() + "/chakong-serve-tls-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return internal_error("cannot make a private directory for the listener's TLS material (" +
                          pattern + "): " + errno_text());
  }
  t->dir_ = buf.data();
  CHAKONG_RETURN_IF_ERROR(t->write_file(kIdentity, m.key_pem + "\n" + m.cert_pem));
  CHAKONG_RETURN_IF_ERROR(t->write_file(kClientCa, m.client_ca_pem));
  t->served_ = m;
  const std::string identity = t->dir_ + "/" + kIdentity;
  t->provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      identity, identity, t->dir_ + "/" + kClientCa, kRefreshSeconds);
  return t;
}

ListenerTls::~ListenerTls() {
  provider_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::shared_ptr<grpc::ServerCredentials> ListenerTls::credentials() const {
  grpc::experimental::TlsServerCredentialsOptions o(provider_);
  o.watch_root_certs();
  o.watch_identity_key_cert_pairs();
  o.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(o);
}

StatusOr<bool> ListenerTls::renew(const ListenerTlsMaterial& m) {
  CHAKONG_RETURN_IF_ERROR(check(m));
  std::lock_guard<std::mutex> lock(mu_);
  if (m == served_) return false;
  // The client CA first: a client of the new CA may then be accepted a second before the
  // server presents its new certificate, never refused for it after.
  if (m.client_ca_pem != served_.client_ca_pem) {
    CHAKONG_RETURN_IF_ERROR(write_file(kClientCa, m.client_ca_pem));
  }
  if (m.cert_pem != served_.cert_pem || m.key_pem != served_.key_pem) {
    CHAKONG_RETURN_IF_ERROR(write_file(kIdentity, m.key_pem + "\n" + m.cert_pem));
  }
  served_ = m;
  return true;
}

Status ListenerTls::write_file(const std::string& name, const std::string& text) {
  const std::string path = dir_ + "/" + name;
  const std::string tmp = path + ".new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return internal_error("cannot write " + tmp + ": " + errno_text());
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = errno_text();
      ::close(fd);
      return internal_error("cannot write " + tmp + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  // A modification time later than every earlier version's (the provider compares whole
  // seconds around its two reads of identity.pem).
  last_stamp_ = std::max(std::time(nullptr), last_stamp_ + 1);
  const timespec times[2] = {{last_stamp_, 0}, {last_stamp_, 0}};
  const bool stamped = ::futimens(fd, times) == 0;
  const std::string why = errno_text();
  if (::close(fd) != 0 || !stamped) {
    return internal_error("cannot write " + tmp + ": " + (stamped ? errno_text() : why));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return internal_error("cannot replace " + path + ": " + errno_text());
  }
  return ok_status();
}

}  // namespace chakong::service
