// ListenerTls: the gRPC listener's mutual-TLS material, renewable while serving (SIGHUP)
// without dropping a connection or a stream. Private to the service.
//
// libgrpc++ 1.51 binds a server's credentials when the server is built; what it can change
// afterwards comes from a certificate provider (grpc::experimental::TlsServerCredentials). Its
// StaticDataCertificateProvider never changes, and a provider of our own would need gRPC's
// core headers, which Debian does not ship; so the listener uses the
// FileWatcherCertificateProvider, pointed not at the operator's files (a half-edited file
// would be served) but at private copies this class writes once the new material has been
// checked whole (renew()). The provider re-reads them every second, and each new TLS
// handshake uses the newest material it has read; connections already made keep theirs.
//
// Consistency: the key and the certificate chain are one file (identity.pem: the key, then
// the chain; each PEM reader skips the other's blocks) replaced by rename(), so a read sees one
// version whole; the provider reads it twice (as the key, then as the chain) and compares the
// file's modification time (whole seconds) around both reads, so every version is given a
// time later than the last one's. The client CA is its own file (client_ca.pem), likewise.
//
// The copies live in a directory of their own (mode 0700, files 0600) under
// $RUNTIME_DIRECTORY (systemd's RuntimeDirectory), else $TMPDIR, else /tmp, and are removed
// with this object.
#ifndef CHAKONG_SERVICE_SRC_LISTENER_TLS_H_
#define CHAKONG_SERVICE_SRC_LISTENER_TLS_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "chakong/base/status.h"

namespace chakong::service {

struct ListenerTlsMaterial {
  std::string cert_pem, key_pem, client_ca_pem;
  bool operator==(const ListenerTlsMaterial&) const = default;
};

class ListenerTls {
 public:
  // Checks `m` (check()), writes the private copies and starts the provider.
  // kInvalidArgument for bad material, kInternal when the copies cannot be written.
  [[nodiscard]] static StatusOr<std::unique_ptr<ListenerTls>> create(const ListenerTlsMaterial& m);
  ~ListenerTls();
  ListenerTls(const ListenerTls&) = delete;
  ListenerTls& operator=(const ListenerTls&) = delete;

  // The credentials of the listener: mutual TLS (a client certificate chaining to the
  // client CA is required and verified), from the provider.
  std::shared_ptr<grpc::ServerCredentials> credentials() const;

  // The certificate chain and key parse and match, and the client CA is a PEM bundle:
  // OK or kInvalidArgument saying which ("TLS server certificate: not a PEM certificate
  // chain (PEM lib)").
  [[nodiscard]] static Status check(const ListenerTlsMaterial& m);

  // Serves `m` from the next handshakes on (within the provider's 1 s refresh), after
  // check(); returns false, nothing changed, when `m` is what is served already. On an error
  // nothing is replaced. Thread-safe.
  [[nodiscard]] StatusOr<bool> renew(const ListenerTlsMaterial& m);

  const std::string& directory() const { return dir_; }

 private:
  ListenerTls() = default;
  // Writes `text` to `name` in dir_ through a temporary file and rename(), stamped with a
  // modification time later than any written before.
  Status write_file(const std::string& name, const std::string& text);

  std::mutex mu_;
  std::string dir_;
  ListenerTlsMaterial served_;
  std::time_t last_stamp_ = 0;
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider_;
};

}  // namespace chakong::service

#endif  // CHAKONG_SERVICE_SRC_LISTENER_TLS_H_
