#include "event_log.h"

#include <cinttypes>
#include <cstdio>
#include <iostream>

namespace chakong::service {

v1::EventKind to_event_kind(engine::EventType type) {
  // The proto enum lists the engine's types in the engine's order, from 1
  // (tests/service/service_test.cc checks every name).
  return static_cast<v1::EventKind>(static_cast<int>(type) + 1);
}

EventLog::EventLog(engine::Journal& journal) : journal_(journal) {}

std::string EventLog::key(uint64_t cursor) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "service/event/%020" PRIu64, cursor);
  return buf;
}

Status EventLog::load() {
  std::lock_guard<std::mutex> lock(state_->mu);
  Status bad;
  CHAKONG_RETURN_IF_ERROR(journal_.scan("service/event/", [&](std::string_view k,
                                                              std::string_view value) {
    if (!bad.ok()) return;
    v1::EngineEvent e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
        e.cursor() != state_->events.size() + 1 || key(e.cursor()) != k) {
      bad = Status(StatusCode::kDataLoss, "event log: record " + std::string(k) + " is not event " +
                                              std::to_string(state_->events.size() + 1));
      return;
    }
    state_->events.push_back(std::move(e));
  }));
  CHAKONG_RETURN_IF_ERROR(bad);
  state_->durable = state_->events.size();
  return ok_status();
}

void EventLog::append(const engine::Event& event) {
  v1::EngineEvent e;
  e.set_kind(to_event_kind(event.type));
  e.set_time_us(event.time);
  e.set_case_number(event.case_number);
  e.set_connector(event.connector);
  e.set_amount_fen(event.amount.value());
  e.set_detail(event.detail);
  e.set_elapsed_us(event.elapsed);
  uint64_t cursor = 0;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    cursor = state_->events.size() + 1;
    e.set_cursor(cursor);
    if (Status s = journal_.append_put(key(cursor), e.SerializeAsString()); !s.ok()) {
      // The journal refuses every write after its first failure; the engine reports the same
      // failure (Engine::journal_status, FileCase answers it). Counted here, and in
      // ServiceCounters::journal_failures.
      ++state_->failures;
      return;
    }
    state_->events.push_back(std::move(e));
  }
  journal_.sync([state = state_, cursor](Status s) {
    std::lock_guard<std::mutex> lock(state->mu);
    if (!s.ok()) {
      ++state->failures;
      return;
    }
    if (cursor > state->durable) state->durable = cursor;
    state->cv.notify_all();
  });
}

bool EventLog::wait_after(uint64_t after, size_t max, std::chrono::milliseconds wait,
                          std::vector<v1::EngineEvent>& out) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait_for(lock, wait, [&] { return state_->stopped || state_->durable > after; });
  if (state_->stopped) return false;
  for (uint64_t c = after + 1; c <= state_->durable && out.size() < max; ++c) {
    out.push_back(state_->events[c - 1]);
  }
  return true;
}

void EventLog::stop() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->stopped = true;
  state_->cv.notify_all();
}

uint64_t EventLog::durable() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->durable;
}
uint64_t EventLog::appended() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->events.size();
}
uint64_t EventLog::append_failures() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->failures;
}

}  // namespace chakong::service
