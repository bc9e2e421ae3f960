#include "chakong/engine/asio_executor.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>

namespace chakong {

namespace asio = boost::asio;

namespace {
TimeUs wall_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

struct AsioExecutor::Impl {
  asio::io_context io{1};
  asio::steady_timer timer{io};
  TimingWheel<Task> wheel{wall_now()};
  std::optional<TimeUs> armed_for;  // Time the asio timer is armed for, if armed.

  void fire_due() {
    armed_for.reset();
    const TimeUs now = wall_now();
    while (auto e = wheel.pop_until(now)) e->payload();
    arm();
  }

  void arm() {
    const std::optional<TimeUs> next = wheel.next_time();
    if (!next) {
      if (armed_for) timer.cancel();
      armed_for.reset();
      return;
    }
    if (armed_for && *armed_for <= *next) return;
    armed_for = *next;
    timer.expires_after(std::chrono::microseconds(std::max<TimeUs>(0, *next - wall_now())));
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      fire_due();
    });
  }
};

AsioExecutor::AsioExecutor() : impl_(std::make_unique<Impl>()) {}
AsioExecutor::~AsioExecutor() = default;

TimeUs AsioExecutor::now() const { return wall_now(); }

void AsioExecutor::post(Task task) { asio::post(impl_->io, std::move(task)); }

TimerHandle AsioExecutor::run_at(TimeUs t, Task task) {
  TimerHandle h = impl_->wheel.add(t, std::move(task));
  impl_->arm();
  return h;
}

bool AsioExecutor::cancel(TimerHandle handle) {
  const bool cancelled = impl_->wheel.cancel(handle);
  if (cancelled && impl_->wheel.empty()) impl_->arm();
  return cancelled;
}

void AsioExecutor::run() {
  impl_->io.restart();
  impl_->io.run();
}

void AsioExecutor::stop() { impl_->io.stop(); }

// The io_context's own outstanding-work count is thread-safe.
void AsioExecutor::add_work() { impl_->io.get_executor().on_work_started(); }
void AsioExecutor::remove_work() { impl_->io.get_executor().on_work_finished(); }

}  // namespace chakong
