// Helpers shared by service_test and transport_test: a file's text, test certificates made with
// the `openssl` command, and a transport that echoes from another thread.
#ifndef CHAKONG_TESTS_SERVICE_TEST_SUPPORT_H_
#define CHAKONG_TESTS_SERVICE_TEST_SUPPORT_H_

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chakong/connectors/transport.h"

namespace chakong::test_support {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool run_quietly(const std::string& cmd) {
  return std::system((cmd + " 2>/dev/null").c_str()) == 0;
}

// A self-signed CA (P-256, two days) in dir/NAME.pem and dir/NAME.key.
inline bool make_test_ca(const std::string& d, const std::string& name) {
  return run_quietly(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
      "/CN=" +
      name + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".pem");
}

// A certificate with common name `cn` signed by the CA `by`, in dir/FILE.pem and dir/FILE.key; a
// server's also names localhost and 127.0.0.1.
inline bool make_test_leaf(const std::string& d, const std::string& file, const std::string& cn,
                           const std::string& by, bool server) {
  if (server) std::ofstream(d + "/san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  return run_quietly(
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn +
             " -keyout " + d + "/" + file + ".key -out " + d + "/" + file + ".csr") &&
         run_quietly("openssl x509 -req -days 2 -in " + d + "/" + file + ".csr -CA " + d + "/" +
                     by + ".pem -CAkey " + d + "/" + by + ".key -CAcreateserial -out " + d + "/" +
                     file + ".pem" + (server ? " -extfile " + d + "/san.ext" : ""));
}

// Answers each call with "echo:" and the request's bytes, from another thread.
class EchoTransport : public connectors::Transport {
 public:
  ~EchoTransport() override {
    for (std::thread& t : threads_) t.join();
  }
  size_t calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_.size();
  }
  void async_call(std::string request, connectors::TransportDone done) override {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back(
        [request = std::move(request), done = std::move(done)] { done("echo:" + request); });
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

}  // namespace chakong::test_support

#endif  // CHAKONG_TESTS_SERVICE_TEST_SUPPORT_H_
