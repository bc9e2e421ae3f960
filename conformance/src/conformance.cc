// The checks of the conformance kit. Each builds its own sandbox (sandbox.h) from the seed.
#include "chakong/conformance/conformance.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <typeinfo>

#include "chakong/base/identity.h"
#include "chakong/v1/case.pb.h"
#include "golden.h"
#include "sandbox.h"

namespace chakong::conformance {
namespace {

using Mode = FaultTransport::Mode;

CheckResult pass(std::string detail = {}) { return {{}, Result::kPass, std::move(detail)}; }
CheckResult fail(std::string detail) { return {{}, Result::kFail, std::move(detail)}; }
CheckResult skip(std::string detail) { return {{}, Result::kSkip, std::move(detail)}; }

std::string describe(const Status& s) { return s.to_string(); }

// Requires exactly one completion with one response per request and OK status; on failure
// returns the reason.
std::string expect_ok(const Sandbox::Call& c, size_t n) {
  if (c.completions != 1) {
    return "expected exactly one completion, got " + std::to_string(c.completions);
  }
  if (c.responses.size() != n) {
    return "expected " + std::to_string(n) + " responses, got " +
           std::to_string(c.responses.size());
  }
  for (const Response& r : c.responses) {
    if (!r.status.ok()) return "expected OK, got " + describe(r.status);
  }
  return {};
}

std::string expect_code(const Sandbox::Call& c, StatusCode code) {
  if (c.completions != 1) {
    return "expected exactly one completion, got " + std::to_string(c.completions);
  }
  if (c.responses.size() != 1)
    return "expected 1 response, got " + std::to_string(c.responses.size());
  if (c.responses[0].status.code() != code) {
    return "expected " + status_code_name(code) + ", got " + describe(c.responses[0].status);
  }
  return {};
}

bool needs(Sandbox& s, RequestKind k, CheckResult* out) {
  if (s.connector().capabilities().has(k)) return true;
  *out = skip("capability '" + std::string(request_kind_name(k)) + "' not declared by " +
              s.connector().name());
  return false;
}

#define CHAKONG_CHECK_SANDBOX(s) \
  if (!(s).status().ok())        \
  return fail("sandbox: connector could not be built: " + describe((s).status()))

#define CHAKONG_EXPECT_OK(call, n)                      \
  do {                                                  \
    std::string why_ = expect_ok(call, n);              \
    if (!why_.empty()) return fail(what + ": " + why_); \
  } while (0)

// Freezes `asset` for `amount` and returns the measure id ("" and `*out` set on failure).
std::string freeze(Sandbox& s, const Asset& asset, Fen amount, const std::string& key,
                   CheckResult* out) {
  auto c = s.call({s.request(RequestKind::kFreeze, asset, amount, key)});
  const std::string why = expect_ok(*c, 1);
  if (!why.empty()) {
    *out = fail("freeze: " + why);
    return {};
  }
  if (c->responses[0].measure_id.empty()) {
    *out = fail("freeze: OK but no measure id");
    return {};
  }
  return c->responses[0].measure_id;
}

CheckResult query_finds_seeded_assets(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kQuery, &out)) return out;
  const std::string what = "query";
  auto c = s.call({s.request(RequestKind::kQuery, {}, {}, "q1")});
  CHAKONG_EXPECT_OK(*c, 1);
  std::set<std::string> want, got;
  for (const Asset& a : s.assets()) want.insert(a.reference + "=" + format_fen(a.value));
  for (const Asset& a : c->responses[0].assets) {
    got.insert(a.reference + "=" + format_fen(a.value));
    if (a.holder_id != s.debtor()) {
      return fail("query returned '" + mask_id(a.reference) + "' held by someone else");
    }
  }
  if (want != got) {
    std::string w, g;
    for (const std::string& x : want) w += " " + x;
    for (const std::string& x : got) g += " " + x;
    return fail("expected assets" + w + "; got" + (g.empty() ? " none" : g));
  }
  return pass(std::to_string(want.size()) + " seeded assets found, the other holder's not");
}

CheckResult freeze_caps_at_available(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out)) return out;
  const Asset& a = s.assets()[0];
  const std::string what = "freeze";
  const Fen ask = a.value + a.value;
  const Date day = s.today();  // The institution acts on receipt.
  auto c = s.call({s.request(RequestKind::kFreeze, a, ask, "f1")});
  CHAKONG_EXPECT_OK(*c, 1);
  const Response& r = c->responses[0];
  const int years = measure_term_years(a.category);
  if (r.end_date != term_end(day, years)) {
    return fail("end date " + r.end_date.to_string() + ", expected " +
                term_end(day, years).to_string() + " (" + std::to_string(years) +
                "-year term from " + day.to_string() + ")");
  }
  if (!is_divisible(a.category)) {
    if (r.frozen != a.value) {
      return fail("seal reports " + format_fen(r.frozen) + ", expected the whole " +
                  format_fen(a.value));
    }
    return pass("sealed whole; ends " + r.end_date.to_string());
  }
  if (r.requested != ask || r.frozen != a.value) {
    return fail("asked " + format_fen(ask) + " of " + format_fen(a.value) +
                ": reported requested " + format_fen(r.requested) + ", frozen " +
                format_fen(r.frozen));
  }
  if (s.truth().frozen_for_case(kCase) != a.value) {
    return fail("institution holds " + format_fen(s.truth().frozen_for_case(kCase)) + " frozen");
  }
  return pass("requested " + format_fen(ask) + ", frozen " + format_fen(r.frozen));
}

CheckResult waitlist_promoted_on_release(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out) || !needs(s, RequestKind::kWaitlistFreeze, &out)) {
    return out;
  }
  const Asset& a = s.assets()[1];
  const std::string foreign = s.foreign_measure(a, s.today().plus_days(300));
  auto refused = s.call({s.request(RequestKind::kFreeze, a, a.value, "f1")});
  if (std::string why = expect_code(*refused, StatusCode::kFailedPrecondition); !why.empty()) {
    return fail("freeze on an asset held by another authority: " + why);
  }
  const auto& prior = refused->responses[0].prior_measures;
  if (prior.empty() || prior[0].authority != kOtherAuthority) {
    return fail("the refusal does not list the prior measure of " + std::string(kOtherAuthority));
  }
  const std::string what = "waitlist_freeze";
  auto c = s.call({s.request(RequestKind::kWaitlistFreeze, a, a.value, "w1")});
  CHAKONG_EXPECT_OK(*c, 1);
  if (c->responses[0].queue_position != 1) {
    return fail("queue position " + std::to_string(c->responses[0].queue_position) +
                ", expected 1");
  }
  s.release_foreign_measure(foreign);
  const institution::MeasureRecord* m = s.truth().measure(c->responses[0].measure_id);
  if (m == nullptr || m->state != institution::MeasureState::kActive) {
    return fail("after the prior measure was released the waiter is " +
                std::string(m ? institution::measure_state_name(m->state) : "unknown"));
  }
  return pass("queued at position 1, in effect after release");
}

CheckResult waitlist_promoted_on_lapse(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kWaitlistFreeze, &out)) return out;
  const Asset& a = s.assets()[1];
  s.foreign_measure(a, s.today().plus_days(5));
  const std::string what = "waitlist_freeze";
  auto c = s.call({s.request(RequestKind::kWaitlistFreeze, a, a.value, "w1")});
  CHAKONG_EXPECT_OK(*c, 1);
  s.executor().run_until(s.executor().now() + 10 * kMicrosPerDay);
  s.truth().expire(s.today());
  const institution::MeasureRecord* m = s.truth().measure(c->responses[0].measure_id);
  if (m == nullptr || m->state != institution::MeasureState::kActive) {
    return fail("after the prior measure lapsed the waiter is " +
                std::string(m ? institution::measure_state_name(m->state) : "unknown"));
  }
  return pass("in effect from " + m->effective.to_string() + " after the prior measure lapsed");
}

CheckResult waitlist_conversion_reported(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kWaitlistFreeze, &out) ||
      !needs(s, RequestKind::kMeasureStatus, &out)) {
    return out;
  }
  const Asset& a = s.assets()[1];
  const std::string foreign = s.foreign_measure(a, s.today().plus_days(300));
  std::string what = "waitlist_freeze";
  auto w = s.call({s.request(RequestKind::kWaitlistFreeze, a, a.value, "w1")});
  CHAKONG_EXPECT_OK(*w, 1);
  const std::string id = w->responses[0].measure_id;
  if (id.empty()) return fail("waitlist_freeze: OK but no measure id");
  Request ask = s.request(RequestKind::kMeasureStatus, a, {}, "s1");
  ask.measure_id = id;
  what = "measure_status while waiting";
  auto before = s.call({ask});
  CHAKONG_EXPECT_OK(*before, 1);
  if (before->responses[0].queue_position != 1) {
    return fail(what + ": queue position " + std::to_string(before->responses[0].queue_position) +
                ", expected 1");
  }
  // The prior measure ends two days later: the waiter's term starts then, at the institution.
  s.executor().run_until(s.executor().now() + 2 * kMicrosPerDay);
  s.release_foreign_measure(foreign);
  const Date converted = s.today();
  const institution::MeasureRecord* m = s.truth().measure(id);
  if (m == nullptr || m->state != institution::MeasureState::kActive) {
    return fail("after the prior measure was released the waiter is " +
                std::string(m ? institution::measure_state_name(m->state) : "unknown"));
  }
  ask.idempotency_key = "s2";
  what = "measure_status after conversion";
  auto after = s.call({ask});
  CHAKONG_EXPECT_OK(*after, 1);
  const Response& r = after->responses[0];
  if (r.queue_position != 0) {
    return fail(what + ": still reported waiting (queue position " +
                std::to_string(r.queue_position) + ") though it took effect on " +
                converted.to_string() + ": its renewal would never be scheduled");
  }
  if (r.frozen != m->frozen) {
    return fail(what + ": frozen " + format_fen(r.frozen) + ", the institution holds " +
                format_fen(m->frozen));
  }
  if (r.end_date != m->end) {
    return fail(what + ": end date " + r.end_date.to_string() + ", expected " + m->end.to_string() +
                " (the " + std::to_string(measure_term_years(a.category)) +
                "-year term from the conversion on " + converted.to_string() + ")");
  }
  return pass("waiting at position 1, then reported in force from " + converted.to_string() +
              " until " + r.end_date.to_string() + ", frozen " + format_fen(r.frozen));
}

CheckResult waitlist_partial_fill(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kWaitlistFreeze, &out)) return out;
  const Asset& a = s.assets()[2];
  if (!is_divisible(a.category)) return skip("indivisible assets are not filled in part");
  const std::string foreign = s.foreign_measure(a, s.today().plus_days(300));
  const std::string what = "waitlist_freeze";
  const Fen ask = a.value + a.value;
  auto c = s.call({s.request(RequestKind::kWaitlistFreeze, a, ask, "w1")});
  CHAKONG_EXPECT_OK(*c, 1);
  s.release_foreign_measure(foreign);
  const institution::MeasureRecord* m = s.truth().measure(c->responses[0].measure_id);
  if (m == nullptr || m->frozen != a.value || m->limit != ask) {
    return fail("waiter for " + format_fen(ask) + " on " + format_fen(a.value) + " holds " +
                (m ? format_fen(m->frozen) + " of " + format_fen(m->limit) : "nothing"));
  }
  return pass("filled " + format_fen(m->frozen) + " of " + format_fen(ask));
}

CheckResult renew_extends_term(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out) || !needs(s, RequestKind::kRenew, &out)) return out;
  const Asset& a = s.assets()[0];
  const std::string id = freeze(s, a, a.value, "f1", &out);
  if (id.empty()) return out;
  const Date end = s.truth().measure(id)->end;
  Request r = s.request(RequestKind::kRenew, a, {}, "r1");
  r.measure_id = id;
  const std::string what = "renew";
  auto c = s.call({r});
  CHAKONG_EXPECT_OK(*c, 1);
  const Date want = term_end(end.plus_days(1), measure_term_years(a.category));
  if (c->responses[0].end_date != want || s.truth().measure(id)->end != want) {
    return fail("renewed end " + c->responses[0].end_date.to_string() + ", expected " +
                want.to_string());
  }
  return pass(end.to_string() + " -> " + want.to_string());
}

CheckResult release_ends_measure(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out) || !needs(s, RequestKind::kRelease, &out)) return out;
  const Asset& a = s.assets()[0];
  const std::string id = freeze(s, a, a.value, "f1", &out);
  if (id.empty()) return out;
  Request r = s.request(RequestKind::kRelease, a, {}, "x1");
  r.measure_id = id;
  const std::string what = "release";
  auto c = s.call({r});
  CHAKONG_EXPECT_OK(*c, 1);
  if (s.truth().measure(id)->state != institution::MeasureState::kReleased) {
    return fail("measure is " +
                std::string(institution::measure_state_name(s.truth().measure(id)->state)));
  }
  return pass("released");
}

CheckResult deduct_moves_frozen_amount(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out) || !needs(s, RequestKind::kDeduct, &out)) return out;
  const Asset& a = s.assets()[0];
  Fen half = Fen(a.value.value() / 2);
  if (a.unit_price > Fen()) half = Fen(half.value() / a.unit_price.value() * a.unit_price.value());
  const std::string id = freeze(s, a, half, "f1", &out);
  if (id.empty()) return out;
  Request r = s.request(RequestKind::kDeduct, a, {}, "d1");
  r.measure_id = id;
  const std::string what = "deduct";
  auto c = s.call({r});
  CHAKONG_EXPECT_OK(*c, 1);
  if (c->responses[0].frozen != half || s.truth().deducted_for_case(kCase) != half ||
      *s.truth().balance(a.reference) != a.value - half) {
    return fail("froze " + format_fen(half) + "; deduct reported " +
                format_fen(c->responses[0].frozen) + ", institution moved " +
                format_fen(s.truth().deducted_for_case(kCase)));
  }
  return pass("moved exactly " + format_fen(half));
}

CheckResult retry_same_key_one_measure(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out)) return out;
  const Asset& a = s.assets()[0];
  const std::string first = freeze(s, a, a.value, "same-key", &out);
  if (first.empty()) return out;
  const std::string second = freeze(s, a, a.value, "same-key", &out);
  if (second.empty()) {
    return fail(
        "the retry with the same idempotency key was taken for a new measure (not "
        "answered with the first outcome): " +
        out.detail);
  }
  const size_t n = s.truth().measures_on(a.reference).size();
  if (first != second || n != 1) {
    return fail("two submissions with one key gave measures '" + first + "' and '" + second +
                "'; the institution holds " + std::to_string(n));
  }
  return pass("one measure: " + first);
}

CheckResult results_matched_by_key(const ConnectorFactory& f, const Options& o, EndpointOptions e,
                                   const char* what_fault) {
  Sandbox s(f, o.seed, Mode::kNone, e);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kQuery, &out) || !needs(s, RequestKind::kFreeze, &out)) return out;
  const Asset& a = s.assets()[0];
  Request query = s.request(RequestKind::kQuery, {}, {}, "q1");
  Request frz = s.request(RequestKind::kFreeze, a, a.value, "f1");
  const std::string what = std::string("batch with ") + what_fault;
  auto c = s.call({query, frz});
  CHAKONG_EXPECT_OK(*c, 2);
  s.executor().run_until(s.executor().now() + kMicrosPerDay);
  if (c->completions != 1) return fail("completed " + std::to_string(c->completions) + " times");
  if (c->responses[0].assets.size() != s.assets().size() || c->responses[1].measure_id.empty()) {
    return fail("responses are not matched to their requests: the query got " +
                std::to_string(c->responses[0].assets.size()) + " assets, the freeze measure '" +
                c->responses[1].measure_id + "'");
  }
  if (s.truth().measures_on(a.reference).size() != 1) return fail("more than one measure");
  return pass("query and freeze answered correctly");
}

CheckResult duplicate_results_tolerated(const ConnectorFactory& f, const Options& o) {
  EndpointOptions e;
  e.duplicate_results = true;
  return results_matched_by_key(f, o, e, "every result duplicated");
}

CheckResult reordered_results_tolerated(const ConnectorFactory& f, const Options& o) {
  EndpointOptions e;
  e.reverse_results = true;
  return results_matched_by_key(f, o, e, "results in reverse order");
}

CheckResult fault_maps_to(const ConnectorFactory& f, const Options& o, Mode mode, StatusCode code,
                          TimeUs run_for) {
  Sandbox s(f, o.seed, mode);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kQuery, &out)) return out;
  auto c = s.call({s.request(RequestKind::kQuery, {}, {}, "q1")}, run_for);
  if (std::string why = expect_code(*c, code); !why.empty()) return fail(why);
  return pass(describe(c->responses[0].status));
}

CheckResult timeout_is_deadline_exceeded(const ConnectorFactory& f, const Options& o) {
  return fault_maps_to(f, o, Mode::kBlackHole, StatusCode::kDeadlineExceeded, 8 * kMicrosPerDay);
}

CheckResult outage_is_unavailable(const ConnectorFactory& f, const Options& o) {
  return fault_maps_to(f, o, Mode::kOutage, StatusCode::kUnavailable, kMicrosPerDay);
}

CheckResult malformed_reply_is_data_loss(const ConnectorFactory& f, const Options& o) {
  return fault_maps_to(f, o, Mode::kCorrupt, StatusCode::kDataLoss, kMicrosPerDay);
}

CheckResult completion_once_never_inline(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  std::vector<std::shared_ptr<Sandbox::Call>> calls;
  // An immediate refusal (unsupported or malformed) must not complete inline either.
  Request bad = s.request(RequestKind::kRenew, s.assets()[0], {}, "bad-renew");
  bad.measure_id = "no-such-measure";
  calls.push_back(s.submit({bad}));
  for (int i = 0; i < 3; ++i) {
    calls.push_back(s.submit({s.request(RequestKind::kQuery, {}, {}, "q" + std::to_string(i))}));
  }
  s.executor().run_until(s.executor().now() + 8 * kMicrosPerDay);
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i]->inline_completion) return fail("call " + std::to_string(i) + " completed inline");
    if (calls[i]->completions != 1) {
      return fail("call " + std::to_string(i) + " completed " +
                  std::to_string(calls[i]->completions) + " times");
    }
  }
  return pass(std::to_string(calls.size()) + " calls, each completed once, none inline");
}

CheckResult unsupported_is_unimplemented(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  for (RequestKind k : {RequestKind::kDeduct, RequestKind::kWaitlistFreeze, RequestKind::kRenew,
                        RequestKind::kRelease, RequestKind::kFreeze, RequestKind::kQuery}) {
    if (s.connector().capabilities().has(k)) continue;
    const uint64_t before = s.truth().requests_handled();
    auto c = s.call({s.request(k, s.assets()[0], s.assets()[0].value, "u1")});
    if (std::string why = expect_code(*c, StatusCode::kUnimplemented); !why.empty()) {
      return fail(std::string(request_kind_name(k)) + " (not declared): " + why);
    }
    if (s.truth().requests_handled() != before) {
      return fail(std::string(request_kind_name(k)) + " (not declared) reached the institution");
    }
    return pass(std::string(request_kind_name(k)) + " -> UNIMPLEMENTED, never sent");
  }
  return skip("the connector declares every operation");
}

CheckResult invalid_config_rejected(const ConnectorFactory& f, const Options&) {
  std::unique_ptr<google::protobuf::Message> config = f.default_config();
  if (config == nullptr) return fail("default_config() returned null");
  if (Status s = f.validate(*config); !s.ok())
    return fail("default config refused: " + describe(s));
  const google::protobuf::FieldDescriptor* name = config->GetDescriptor()->FindFieldByName("name");
  if (name == nullptr || name->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return fail("config " + config->GetTypeName() + " has no string field 'name'");
  }
  config->GetReflection()->SetString(config.get(), name, "Not A Name!");
  Status s = f.validate(*config);
  if (s.code() != StatusCode::kInvalidArgument || s.message().find("name") == std::string::npos) {
    return fail("name 'Not A Name!': expected INVALID_ARGUMENT naming the field, got " +
                describe(s));
  }
  chakong::v1::Case wrong_type;
  Status t = f.validate(wrong_type);
  if (t.code() != StatusCode::kInvalidArgument) {
    return fail("a config of the wrong type: expected INVALID_ARGUMENT, got " + describe(t));
  }
  return pass(s.message());
}

CheckResult shutdown_drains_calls(const ConnectorFactory& f, const Options& o) {
  // The institution never answers; only the connector's own shutdown can end the call in time.
  Sandbox s(f, o.seed, Mode::kBlackHole);
  CHAKONG_CHECK_SANDBOX(s);
  auto c = s.submit({s.request(RequestKind::kQuery, {}, {}, "q1")});
  s.executor().run_until(s.executor().now() + kMicrosPerSecond);
  s.destroy_connector();
  s.executor().run_until(s.executor().now() + kMicrosPerSecond);
  if (c->completions != 1) {
    return fail("a call in flight was not completed within 1 s of shutdown (completions: " +
                std::to_string(c->completions) + "); a connector must drain its calls");
  }
  s.executor().run_until(s.executor().now() + 8 * kMicrosPerDay);
  if (c->completions != 1) {
    return fail("a call completed again after shutdown (" + std::to_string(c->completions) +
                " completions)");
  }
  if (c->responses.size() != 1) {
    return fail("the call in flight completed at shutdown with " +
                std::to_string(c->responses.size()) + " responses for 1 request");
  }
  return pass("in-flight call completed at shutdown with " + describe(c->responses[0].status));
}

// The config's max_batch, lowered to at most `cap` (0 when the config has no such field).
uint32_t lower_max_batch(google::protobuf::Message& config, uint32_t cap) {
  const google::protobuf::FieldDescriptor* fd =
      config.GetDescriptor()->FindFieldByName("max_batch");
  if (fd == nullptr || fd->is_repeated() ||
      fd->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_UINT32) {
    return 0;
  }
  const google::protobuf::Reflection* r = config.GetReflection();
  const uint32_t v = r->GetUInt32(config, fd);
  const uint32_t max_batch = v == 0 ? cap : std::min(v, cap);
  r->SetUInt32(&config, fd, max_batch);
  return max_batch;
}

CheckResult batch_larger_than_max_batch(const ConnectorFactory& f, const Options& o) {
  uint32_t max_batch = 0;
  Sandbox s(f, o.seed, Mode::kNone, {},
            [&](google::protobuf::Message& c) { max_batch = lower_max_batch(c, 4); });
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kQuery, &out) || !needs(s, RequestKind::kFreeze, &out)) return out;
  const size_t n = std::max<size_t>(2 * max_batch + 1, 7);
  // A freeze of each asset at the start, the middle and the end; queries between.
  const size_t at[3] = {1, n / 2, n - 1};
  std::vector<Request> batch;
  for (size_t i = 0; i < n; ++i) {
    int asset = -1;
    for (int k = 0; k < 3; ++k) asset = at[k] == i ? k : asset;
    batch.push_back(asset < 0 ? s.request(RequestKind::kQuery, {}, {}, "q" + std::to_string(i))
                              : s.request(RequestKind::kFreeze, s.assets()[asset],
                                          s.assets()[asset].value, "f" + std::to_string(i)));
  }
  const std::string what = "batch of " + std::to_string(n) + " (max_batch " +
                           (max_batch ? std::to_string(max_batch) : std::string("unknown")) + ")";
  auto c = s.call(batch);
  CHAKONG_EXPECT_OK(*c, n);
  for (size_t i = 0; i < n; ++i) {
    const Response& r = c->responses[i];
    const bool is_freeze = i == at[0] || i == at[1] || i == at[2];
    if (is_freeze ? r.measure_id.empty() : r.assets.size() != s.assets().size()) {
      return fail(what + ": response " + std::to_string(i) + " does not answer its " +
                  (is_freeze ? "freeze (no measure id)" : "query (wrong assets)"));
    }
  }
  for (const Asset& a : s.assets()) {
    if (s.truth().measures_on(a.reference).size() != 1) {
      return fail(what + ": the institution holds " +
                  std::to_string(s.truth().measures_on(a.reference).size()) +
                  " measures on one asset, expected 1");
    }
  }
  if (max_batch == 0) return pass(what + ": every request answered (no max_batch in the config)");
  const size_t least = (n + max_batch - 1) / max_batch;
  if (static_cast<size_t>(s.wire_calls()) < least) {
    return fail(what + ": sent in " + std::to_string(s.wire_calls()) +
                " wire calls; max_batch needs at least " + std::to_string(least));
  }
  return pass(what + ": " + std::to_string(s.wire_calls()) + " wire calls, every request answered");
}

CheckResult repeated_key_in_one_batch(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out)) return out;
  const Asset& a = s.assets()[0];
  std::vector<Request> batch = {s.request(RequestKind::kFreeze, a, a.value, "twice")};
  const bool query = s.connector().capabilities().has(RequestKind::kQuery);
  if (query) batch.push_back(s.request(RequestKind::kQuery, {}, {}, "q1"));
  batch.push_back(s.request(RequestKind::kFreeze, a, a.value, "twice"));
  const std::string what = "batch with one key twice";
  auto c = s.call(batch);
  if (c->completions == 1 && c->responses.size() == batch.size() &&
      c->responses.front().status.ok() && !c->responses.back().status.ok()) {
    return fail(
        "the second request with key 'twice' in one batch was taken for a new measure: "
        "answered " +
        describe(c->responses.back().status) + " instead of the first outcome");
  }
  CHAKONG_EXPECT_OK(*c, batch.size());
  const std::string& first = c->responses.front().measure_id;
  const std::string& second = c->responses.back().measure_id;
  const size_t n = s.truth().measures_on(a.reference).size();
  if (first.empty() || first != second || n != 1) {
    return fail(what + ": the two freezes got measures '" + first + "' and '" + second +
                "'; the institution holds " + std::to_string(n) + ", expected 1");
  }
  if (query && c->responses[1].assets.size() != s.assets().size()) {
    return fail(what + ": the query between them got " +
                std::to_string(c->responses[1].assets.size()) + " assets");
  }
  return pass("both answered with one measure: " + first);
}

CheckResult retry_while_in_flight(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kFreeze, &out)) return out;
  const Asset& a = s.assets()[0];
  auto first = s.submit({s.request(RequestKind::kFreeze, a, a.value, "in-flight")});
  // The institution answers after 1 s: at 100 ms the first call is still at the institution.
  s.executor().run_until(s.executor().now() + 100'000);
  const bool was_in_flight = first->completions == 0;
  auto retry = s.submit({s.request(RequestKind::kFreeze, a, a.value, "in-flight")});
  s.executor().run_until(s.executor().now() + 2 * kMicrosPerDay);
  std::string what = "the first call";
  CHAKONG_EXPECT_OK(*first, 1);
  if (retry->completions == 1 && retry->responses.size() == 1 && !retry->responses[0].status.ok()) {
    return fail(
        "a retry while the first call was in flight was taken for a new measure: "
        "answered " +
        describe(retry->responses[0].status) + " instead of the first outcome");
  }
  what = "the retry sent while the first was in flight";
  CHAKONG_EXPECT_OK(*retry, 1);
  const std::string& m1 = first->responses[0].measure_id;
  const std::string& m2 = retry->responses[0].measure_id;
  const size_t n = s.truth().measures_on(a.reference).size();
  if (m1.empty() || m1 != m2 || n != 1) {
    return fail("a retry while the first call was in flight gave measures '" + m1 + "' and '" + m2 +
                "'; the institution holds " + std::to_string(n) + ", expected 1");
  }
  return pass(std::string(was_in_flight ? "retried in flight" : "retried (first already done)") +
              "; one measure: " + m1);
}

CheckResult concurrent_submit_from_threads(const ConnectorFactory& f, const Options& o) {
  Sandbox s(f, o.seed);
  CHAKONG_CHECK_SANDBOX(s);
  CheckResult out;
  if (!needs(s, RequestKind::kQuery, &out)) return out;
  constexpr int kThreads = 4, kCalls = 8;
  const bool freeze = s.connector().capabilities().has(RequestKind::kFreeze);
  const Asset& a = s.assets()[0];
  std::vector<std::vector<std::shared_ptr<Sandbox::Call>>> calls(kThreads);
  std::vector<std::exception_ptr> errors(kThreads);
  std::latch start(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        try {
          for (int j = 0; j < kCalls; ++j) {
            // Every thread freezes with one key: still one measure.
            calls[t].push_back(
                freeze && j == kCalls / 2
                    ? s.submit({s.request(RequestKind::kFreeze, a, a.value, "concurrent")})
                    : s.submit({s.request(RequestKind::kQuery, {}, {},
                                          "t" + std::to_string(t) + "-q" + std::to_string(j))}));
          }
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  s.executor().run_until(s.executor().now() + 2 * kMicrosPerDay);
  std::string measure;
  for (int t = 0; t < kThreads; ++t) {
    for (int j = 0; j < kCalls; ++j) {
      const std::string what = "thread " + std::to_string(t) + " call " + std::to_string(j);
      CHAKONG_EXPECT_OK(*calls[t][j], 1);
      const Response& r = calls[t][j]->responses[0];
      if (freeze && j == kCalls / 2) {
        if (r.measure_id.empty() || (!measure.empty() && r.measure_id != measure)) {
          return fail(what + ": the freeze with the shared key got measure '" + r.measure_id +
                      "', another thread '" + measure + "'");
        }
        measure = r.measure_id;
      } else if (r.assets.size() != s.assets().size()) {
        return fail(what + ": the query got " + std::to_string(r.assets.size()) + " assets");
      }
    }
  }
  if (freeze && s.truth().measures_on(a.reference).size() != 1) {
    return fail("the institution holds " +
                std::to_string(s.truth().measures_on(a.reference).size()) +
                " measures for one key submitted from " + std::to_string(kThreads) + " threads");
  }
  return pass(std::to_string(kThreads * kCalls) + " calls from " + std::to_string(kThreads) +
              " threads at once, each answered once" +
              (freeze ? "; one measure for the shared key" : ""));
}

using CheckFn = CheckResult (*)(const ConnectorFactory&, const Options&);
struct Check {
  const char* name;
  CheckFn fn;
};
constexpr Check kChecks[] = {
    {"query_finds_seeded_assets", query_finds_seeded_assets},
    {"freeze_caps_at_available", freeze_caps_at_available},
    {"waitlist_promoted_on_release", waitlist_promoted_on_release},
    {"waitlist_promoted_on_lapse", waitlist_promoted_on_lapse},
    {"waitlist_conversion_reported", waitlist_conversion_reported},
    {"waitlist_partial_fill", waitlist_partial_fill},
    {"renew_extends_term", renew_extends_term},
    {"release_ends_measure", release_ends_measure},
    {"deduct_moves_frozen_amount", deduct_moves_frozen_amount},
    {"retry_same_key_one_measure", retry_same_key_one_measure},
    {"retry_while_in_flight", retry_while_in_flight},
    {"repeated_key_in_one_batch", repeated_key_in_one_batch},
    {"batch_larger_than_max_batch", batch_larger_than_max_batch},
    {"duplicate_results_tolerated", duplicate_results_tolerated},
    {"reordered_results_tolerated", reordered_results_tolerated},
    {"timeout_is_deadline_exceeded", timeout_is_deadline_exceeded},
    {"outage_is_unavailable", outage_is_unavailable},
    {"malformed_reply_is_data_loss", malformed_reply_is_data_loss},
    {"completion_once_never_inline", completion_once_never_inline},
    {"unsupported_is_unimplemented", unsupported_is_unimplemented},
    {"invalid_config_rejected", invalid_config_rejected},
    {"shutdown_drains_calls", shutdown_drains_calls},
    {"concurrent_submit_from_threads", concurrent_submit_from_threads},
};

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
    case Result::kSkip: return "skip";
  }
  return "unknown";
}

std::vector<std::string> check_names() {
  std::vector<std::string> out;
  for (const Check& c : kChecks) out.emplace_back(c.name);
  return out;
}

namespace {

std::atomic<int> g_abandoned{0};

// The violations of every monitor of the check, the first three spelled out.
void apply_violations(const CheckContext& ctx, CheckResult& r) {
  std::vector<Violation> all;
  for (const std::shared_ptr<Monitor>& m : ctx.monitors) {
    for (Violation& v : m->violations()) all.push_back(std::move(v));
  }
  if (all.empty()) return;
  std::string d;
  for (size_t i = 0; i < all.size() && i < 3; ++i) {
    if (i) d += "; ";
    d += all[i].text;
    if (all[i].count > 1) d += " (and " + std::to_string(all[i].count - 1) + " more calls)";
  }
  if (all.size() > 3) d += "; and " + std::to_string(all.size() - 3) + " more broken rules";
  if (r.result == Result::kFail && !r.detail.empty()) d += "; the check: " + r.detail;
  r.result = Result::kFail;
  r.detail = std::move(d);
}

struct Slot {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false;
  CheckResult result;
};

using Body = std::function<CheckResult(const ConnectorFactory&, const Options&)>;

// `r` named `name`, with the wall time since `start`.
CheckResult finish(CheckResult r, const std::string& name,
                   std::chrono::steady_clock::time_point start) {
  r.name = name;
  r.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  return r;
}

CheckResult run_isolated(const ConnectorFactory& factory, const std::string& name, Body fn,
                         const Options& options) {
  auto slot = std::make_shared<Slot>();
  const auto start = std::chrono::steady_clock::now();
  std::thread t([&factory, fn = std::move(fn), options, slot] {
    CheckContext ctx;
    ctx.submit_bound_us = options.submit_bound_us;
    current_check_context() = &ctx;
    CheckResult r;
    try {
      r = fn(factory, options);
    } catch (const std::exception& e) {
      r = fail("the check threw " + demangle(typeid(e).name()) + ": " + e.what());
    } catch (...) {
      r = fail("the check threw a non-standard exception");
    }
    current_check_context() = nullptr;
    apply_violations(ctx, r);
    std::lock_guard<std::mutex> lock(slot->mu);
    slot->result = std::move(r);
    slot->done = true;
    if (slot->abandoned) --g_abandoned;
    slot->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(slot->mu);
  const bool done = slot->cv.wait_for(lock, std::chrono::milliseconds(options.check_timeout_ms),
                                      [&] { return slot->done; });
  CheckResult r;
  if (done) {
    r = std::move(slot->result);
    lock.unlock();
    t.join();
  } else {
    slot->abandoned = true;
    ++g_abandoned;
    lock.unlock();
    t.detach();
    r = fail("timed out: not finished after " + std::to_string(options.check_timeout_ms) +
             " ms (wall clock); the adapter blocks or loops (its thread is abandoned)");
    r.timed_out = true;
  }
  return finish(std::move(r), name, start);
}

// Whether this kit is built with a sanitizer that ends a crashing process with its own exit
// status (AddressSanitizer: exitcode=1 by default) rather than the signal.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif
#else
constexpr bool kUnderSanitizer = false;
#endif

// Runs run_isolated() in a forked child process, which sends the result back through a pipe:
// an adapter that crashes the process (a signal) fails this check only, naming the signal.
CheckResult run_forked(const ConnectorFactory& factory, const std::string& name, Body fn,
                       const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  int fds[2];
  if (::pipe(fds) != 0) {
    return finish(
        fail(std::string("could not make a pipe for the check's process: ") + std::strerror(errno)),
        name, start);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const CheckResult r = run_isolated(factory, name, std::move(fn), options);
    std::string out;
    out.push_back(static_cast<char>(r.result));
    out.push_back(r.timed_out ? 1 : 0);
    out += r.detail;
    for (size_t sent = 0; sent < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + sent, out.size() - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) std::_Exit(3);
      sent += static_cast<size_t>(n);
    }
    std::_Exit(0);  // No destructors: an abandoned check's thread may still run.
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return finish(fail(std::string("could not fork the check's process: ") + std::strerror(errno)),
                  name, start);
  }
  std::string got;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CheckResult r;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    r = fail("the check's process was killed by signal " + std::to_string(sig) + " (SIG" +
             (abbrev ? abbrev : "?") + ": " + ::strsignal(sig) +
             "): the adapter crashed; the run goes on");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got.size() < 2) {
    // A sanitizer reports a crash (a SIGSEGV included) by printing its report and exiting with
    // its own status, not by the signal; an adapter may also call exit() itself.
    r = fail("the check's process exited with status " +
             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
             " before reporting a result: the adapter crashed or exited" +
             (kUnderSanitizer ? " (a sanitizer reports a crash so: its report is on stderr)" : "") +
             "; the run goes on");
  } else {
    r.result = static_cast<Result>(got[0]);
    r.timed_out = got[1] != 0;
    r.detail = got.substr(2);
  }
  return finish(std::move(r), name, start);
}

CheckResult run_one(const ConnectorFactory& factory, const std::string& name, Body fn,
                    const Options& options) {
  return options.fork_checks ? run_forked(factory, name, std::move(fn), options)
                             : run_isolated(factory, name, std::move(fn), options);
}

}  // namespace

CheckResult run_check(const ConnectorFactory& factory, std::string_view check,
                      const Options& options) {
  for (const Check& c : kChecks) {
    if (c.name == check) return run_one(factory, c.name, c.fn, options);
  }
  for (const GoldenFile& g : options.golden) {
    if (g.name == check) {
      return run_one(
          factory, g.name,
          [g](const ConnectorFactory& f, const Options& o) { return golden_check(f, o, g); },
          options);
    }
  }
  return {std::string(check), Result::kFail, "unknown check"};
}

int abandoned_checks() { return g_abandoned.load(); }

Report run(const ConnectorFactory& factory, const Options& options,
           const std::function<void(const CheckResult&)>& on_result) {
  Report report;
  report.connector = std::string(factory.kind()) + ".sandbox";
  // The golden files of this kind; "golden" in Options::checks stands for all of them.
  std::vector<std::string> golden;
  for (const GoldenFile& g : options.golden) {
    if (g.kind == factory.kind()) golden.push_back(g.name);
  }
  std::vector<std::string> names;
  for (const std::string& name : options.checks.empty() ? check_names() : options.checks) {
    // A golden file named in Options::checks runs for the connector of its kind only.
    const bool other_kind = std::any_of(
        options.golden.begin(), options.golden.end(),
        [&](const GoldenFile& g) { return g.name == name && g.kind != factory.kind(); });
    if (name != "golden" && !other_kind) names.push_back(name);
  }
  const bool all_golden =
      options.checks.empty() ||
      std::find(options.checks.begin(), options.checks.end(), "golden") != options.checks.end();
  if (all_golden) names.insert(names.end(), golden.begin(), golden.end());
  for (const std::string& name : names) {
    CheckResult r = run_check(factory, name, options);
    (r.result == Result::kPass   ? report.passed
     : r.result == Result::kFail ? report.failed
                                 : report.skipped)++;
    if (on_result) on_result(r);
    report.checks.push_back(std::move(r));
  }
  if (all_golden && golden.empty() && !options.golden.empty()) {
    CheckResult r{"golden", Result::kSkip,
                  "no golden exchange of kind '" + std::string(factory.kind()) + "'"};
    ++report.skipped;
    if (on_result) on_result(r);
    report.checks.push_back(std::move(r));
  }
  return report;
}

std::string to_json(const Report& r) {
  std::string out = "{\"connector\": \"" + json_escape(r.connector) + "\", \"checks\": [";
  for (size_t i = 0; i < r.checks.size(); ++i) {
    const CheckResult& c = r.checks[i];
    if (i) out += ", ";
    out += "{\"name\": \"" + json_escape(c.name) + "\", \"result\": \"" +
           std::string(result_name(c.result)) + "\", \"detail\": \"" + json_escape(c.detail) +
           "\"}";
  }
  out += "], \"passed\": " + std::to_string(r.passed) +
         ", \"failed\": " + std::to_string(r.failed) +
         ", \"skipped\": " + std::to_string(r.skipped) + "}";
  return out;
}

std::string to_json(std::string_view connector, const CheckResult& c) {
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f", static_cast<double>(c.elapsed_us) / 1000.0);
  return "{\"connector\": \"" + json_escape(connector) + "\", \"check\": \"" + json_escape(c.name) +
         "\", \"result\": \"" + std::string(result_name(c.result)) + "\", \"detail\": \"" +
         json_escape(c.detail) + "\", \"ms\": " + ms + "}";
}

std::string summary_json(const Report& r) {
  return "{\"connector\": \"" + json_escape(r.connector) +
         "\", \"summary\": true, \"passed\": " + std::to_string(r.passed) +
         ", \"failed\": " + std::to_string(r.failed) +
         ", \"skipped\": " + std::to_string(r.skipped) + "}";
}

}  // namespace chakong::conformance
