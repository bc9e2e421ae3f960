// HttpServer: the service's small plain-HTTP endpoint (/metrics, /healthz, /readyz) over
// Boost.Beast, on its own thread. One request per connection (Connection: close), GET only;
// a client that sends nothing for 5 s is dropped. The handler runs on the server's thread.
#ifndef CHAKONG_SERVICE_SRC_HTTP_H_
#define CHAKONG_SERVICE_SRC_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "chakong/base/status.h"

namespace chakong::service {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpReply(std::string_view target)>;
  // Listens on `address` ("127.0.0.1:9464", "[::1]:0", "localhost:0", "0.0.0.0:9464").
  // kUnavailable naming the address when it cannot listen.
  static StatusOr<std::unique_ptr<HttpServer>> start(const std::string& address, Handler handler);
  ~HttpServer();  // Stops accepting and joins the thread.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  int port() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chakong::service

#endif  // CHAKONG_SERVICE_SRC_HTTP_H_
