// The wire codecs on bad bytes: every decoding error names what is wrong, and the adapter
// turns it into kDataLoss (the conformance kit checks that part end to end).
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "bank/bank_codec.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/proto_convert.h"
#include "chakong/connectors/wire_util.h"
#include "chakong/institution/institution.h"
#include "securities/securities.pb.h"

namespace chakong::connectors {
namespace {

TEST(BankCodecTest, RequestsRoundTripThroughTheInstructionFile) {
  Request r;
  r.kind = RequestKind::kWaitlistFreeze;
  r.idempotency_key = "k-1";
  r.case_number = "（2025）渝0110执1号";
  r.debtor_id = "11010519491231002X";
  r.ruling_number = "（2025）渝0110执1号之一";
  r.asset.reference = "6222-01";
  r.amount = Fen(123'45);
  const std::string bytes = bank::BankCodec::encode_requests({r});
  bank::v1::BankInstructionFile file;
  ASSERT_TRUE(file.ParseFromString(bytes));
  EXPECT_EQ(file.instructions(0).code(), "03");  // Waiting-list freeze, as banks number it.
  StatusOr<std::vector<Request>> back = bank::BankCodec::decode_requests(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->at(0).kind, RequestKind::kWaitlistFreeze);
  EXPECT_EQ(back->at(0).amount, Fen(123'45));
  EXPECT_EQ(back->at(0).asset.reference, "6222-01");
}

// Regression: one undecodable field failed the whole file, so every other request of the call
// was answered "in doubt" although its result was fine. Now a bad result is kDataLoss for its
// own key, naming the field, and the others are delivered.
TEST(BankCodecTest, ABadResultFailsOnlyItsOwnRequestNamingTheField) {
  auto decode = [](const bank::v1::BankResultFile& f) {
    StatusOr<std::vector<std::pair<std::string, Response>>> r =
        bank::BankCodec::decode_responses(f.SerializeAsString());
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->size(), 2u);
    EXPECT_EQ(r->at(1).first, "good");
    EXPECT_EQ(r->at(1).second.status, ok_status());
    EXPECT_EQ(r->at(1).second.frozen, Fen(700));
    EXPECT_EQ(r->at(0).first, "bad");
    return r->at(0).second.status;
  };
  bank::v1::BankResultFile f;
  f.add_results()->set_serial("bad");
  f.add_results()->set_serial("good");
  f.mutable_results(1)->set_frozen_fen(700);
  f.mutable_results(0)->set_end_date("2025-13-01");
  EXPECT_EQ(decode(f), data_loss_error("the result does not decode: results[0].end_date: date "
                                       "'2025-13-01': date 2025-13-01 does not exist"));
  f.mutable_results(0)->set_end_date("");
  f.mutable_results(0)->set_frozen_fen(-5);
  EXPECT_EQ(decode(f), data_loss_error("the result does not decode: results[0].frozen_fen: "
                                       "-¥0.05 is negative"));
  f.mutable_results(0)->set_frozen_fen(0);
  f.mutable_results(0)->add_priors()->set_amount_fen(-1);
  EXPECT_EQ(decode(f), data_loss_error("the result does not decode: results[0].priors.amount_fen: "
                                       "-¥0.01 is negative"));
  f.mutable_results(0)->clear_priors();
  f.mutable_results(0)->add_accounts()->set_available_fen(-100);
  EXPECT_EQ(decode(f), data_loss_error("the result does not decode: "
                                       "results[0].accounts.available_fen: -¥1.00 is negative"));
  f.mutable_results(0)->clear_accounts();
  f.mutable_results(0)->set_status(99);
  EXPECT_EQ(decode(f), data_loss_error("the result does not decode: results[0].status: status "
                                       "code 99 is not a canonical code"));
  // A file that does not parse at all is the reply's failure (kDataLoss for every request in
  // WireConnector).
  EXPECT_EQ(bank::BankCodec::decode_responses(std::string("\x0a\x7f", 2)).status().code(),
            StatusCode::kInvalidArgument);
  bank::v1::BankInstructionFile unknown;
  unknown.add_instructions()->set_code("09");
  unknown.mutable_instructions(0)->set_serial("s9");
  EXPECT_EQ(bank::BankCodec::decode_requests(unknown.SerializeAsString()).status(),
            invalid_argument_error("instruction s9: unknown code '09'"));
}

TEST(ProtoConvertTest, ResponsesRoundTripAndBadValuesAreRefused) {
  Response r;
  r.status = failed_precondition_error("held by another authority");
  r.requested = Fen(500);
  r.prior_measures.push_back({"（2024）渝0112执3号", Fen(500), *Date::parse("2025-12-31"), 0});
  r.end_date = *Date::parse("2026-01-09");
  chakong::v1::Response p;
  to_proto(r, &p);
  EXPECT_EQ(p.shortfall(), 500);
  StatusOr<Response> back = from_proto(p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status, r.status);
  EXPECT_EQ(back->prior_measures.at(0).end_date, r.prior_measures[0].end_date);
  EXPECT_EQ(back->end_date, r.end_date);
  p.set_frozen(-1);
  EXPECT_EQ(from_proto(p).status(), invalid_argument_error("frozen: -¥0.01 is negative"));
  p.set_frozen(0);
  p.set_end_date("2026-02-30");
  EXPECT_EQ(from_proto(p).status(),
            invalid_argument_error("end_date: date '2026-02-30': date 2026-02-30 does not exist"));
  p.set_end_date("");
  p.add_assets()->set_category(static_cast<chakong::v1::AssetCategory>(9));
  EXPECT_EQ(from_proto(p).status(),
            invalid_argument_error("assets[0].category: 9 is not an asset category"));
}

// Registries write 9999-12-31 for "no end": a value, never an error.
TEST(BankCodecTest, NoEndSentinelIsAValue) {
  bank::v1::BankResultFile f;
  f.add_results()->set_serial("k");
  f.mutable_results(0)->set_end_date("9999-12-31");
  StatusOr<std::vector<std::pair<std::string, Response>>> r =
      bank::BankCodec::decode_responses(f.SerializeAsString());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->at(0).second.status, ok_status());
  EXPECT_TRUE(r->at(0).second.end_date.is_no_end());
  EXPECT_EQ(wire::date_out(r->at(0).second.end_date), "9999-12-31");
}

TEST(WireTest, QuantityTimesPriceIsChecked) {
  EXPECT_EQ(wire::product_in(3, 250, "v").value(), Fen(750));
  EXPECT_EQ(wire::product_in(int64_t{1} << 40, int64_t{1} << 40, "holdings.value").status(),
            invalid_argument_error("holdings.value: quantity 1099511627776 x price "
                                   "1099511627776 fen overflows 64 bits"));
  EXPECT_EQ(wire::product_in(-2, 5, "holdings.value").status(),
            invalid_argument_error("holdings.value: quantity -2 x price 5 fen is negative"));
}

// A codec's reused message is empty when taken, the same object call after call, and a
// second one taken while the first is in use (a nested call) is a message of its own.
TEST(WireTest, ReusedMessagesAreEmptyAndANestedOneIsItsOwn) {
  const void* first = nullptr;
  {
    wire::Reused<bank::v1::BankResultFile> a;
    EXPECT_EQ(a->results_size(), 0);
    a->add_results()->set_serial("x");
    first = &*a;
    wire::Reused<bank::v1::BankResultFile> nested;
    EXPECT_NE(&*nested, first);
    EXPECT_EQ(nested->results_size(), 0);
  }
  wire::Reused<bank::v1::BankResultFile> again;
  EXPECT_EQ(&*again, first);
  EXPECT_EQ(again->results_size(), 0);
}

// Bytes given back are what the next encoding on this thread writes into: the same buffer,
// empty; bytes too large to keep, or past the thread's count, are freed instead.
TEST(WireTest, BytesGivenBackAreReusedByTheNextEncodingAndBounded) {
  // A string without a buffer of its own has std::string's inline capacity (15 here).
  const size_t inline_capacity = std::string().capacity();
  while (wire::take_bytes().capacity() > inline_capacity) {
  }  // This thread's spares, emptied.
  std::string bytes(1000, 'x');
  const char* buffer = bytes.data();
  wire::give_bytes(bytes);
  EXPECT_TRUE(bytes.empty());
  {
    wire::Reused<bank::v1::BankResultFile> file;
    file->add_results()->set_serial("serial-1");
    const std::string encoded = file.serialize();
    EXPECT_EQ(encoded.data(), buffer);  // Written into the buffer given back.
    bank::v1::BankResultFile back;
    ASSERT_TRUE(back.ParseFromString(encoded));
    EXPECT_EQ(back.results(0).serial(), "serial-1");
  }
  std::string huge(wire::kMaxSpareBytesCapacity + 1, 'x');
  wire::give_bytes(huge);
  EXPECT_EQ(wire::take_bytes().capacity(), inline_capacity);  // Not kept.
  for (size_t i = 0; i < wire::kMaxSpareBytes + 5; ++i) {
    std::string b(100, 'y');
    wire::give_bytes(b);
  }
  size_t kept = 0;
  while (wire::take_bytes().capacity() > inline_capacity) ++kept;
  EXPECT_EQ(kept, wire::kMaxSpareBytes);
}

// A transport that answers every call with fixed bytes.
class FixedReply final : public Transport {
 public:
  FixedReply(Executor& ex, std::string bytes) : ex_(ex), bytes_(std::move(bytes)) {}
  void async_call(std::string, TransportDone done) override {
    ex_.post([this, done = std::move(done)] { done(bytes_); });
  }

 private:
  Executor& ex_;
  std::string bytes_;
};

// Regression: quantity x price of a securities holding was multiplied unchecked, so a reply
// with huge numbers became a wrapped-around (even negative) value, dropped as a finding without
// a word. Now that result alone is kDataLoss naming the field; the other query is answered.
TEST(WireConnectorTest, SecuritiesValueOverflowIsDataLossForThatResultAlone) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  const ConnectorFactory* f = registry.find("securities");
  VirtualExecutor ex(0);
  securities::v1::ResultBatch reply;
  securities::v1::Result* bad = reply.add_results();
  bad->set_serial("q1");
  securities::v1::Holding* h = bad->add_holdings();
  h->set_position_ref("A1");
  h->set_quantity(int64_t{1} << 40);
  h->set_price_fen(int64_t{1} << 40);
  securities::v1::Result* good = reply.add_results();
  good->set_serial("q2");
  securities::v1::Holding* g = good->add_holdings();
  g->set_position_ref("A2");
  g->set_quantity(100);
  g->set_price_fen(1234);
  ConnectorContext ctx;
  ctx.executor = &ex;
  ctx.transport = std::make_unique<FixedReply>(ex, reply.SerializeAsString());
  auto c = f->create(*f->default_config(), std::move(ctx));
  ASSERT_TRUE(c.ok()) << c.status();
  Request q1, q2;
  q1.idempotency_key = "q1";
  q2.idempotency_key = "q2";
  std::vector<Response> got;
  OwnedBatch batch({q1, q2}, [&](std::vector<Response>& r) { got = std::move(r); });
  (*c)->async_submit(batch.view(), batch);
  ex.run();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status,
            data_loss_error("the result does not decode: results[0].holdings.value: quantity "
                            "1099511627776 x price 1099511627776 fen overflows 64 bits"));
  EXPECT_EQ(got[1].status, ok_status());
  ASSERT_EQ(got[1].assets.size(), 1u);
  EXPECT_EQ(got[1].assets[0].value, Fen(123400));
}

// A bank that answers with results of its own making: `answer` turns the instructions it
// received (decoded with the bank codec) into the results it sends back.
class ScriptedBank final : public Transport {
 public:
  using Answer =
      std::function<std::vector<std::pair<std::string, Response>>(const std::vector<Request>&)>;
  ScriptedBank(Executor& ex, Answer answer) : ex_(ex), answer_(std::move(answer)) {}
  void async_call(std::string request, TransportDone done) override {
    ex_.post([this, request = std::move(request), done = std::move(done)] {
      StatusOr<std::vector<Request>> batch = bank::BankCodec::decode_requests(request);
      if (!batch.ok()) {
        done(batch.status());
        return;
      }
      done(bank::BankCodec::encode_responses(answer_(*batch)));
    });
  }

 private:
  Executor& ex_;
  Answer answer_;
};

// A result that names what it answers: measure "m-<key>" (and a suffix to tell copies apart).
std::pair<std::string, Response> result_for(const std::string& key, const std::string& tag = "") {
  Response r;
  r.measure_id = "m-" + key + tag;
  return {key, r};
}

// Submits one bank batch with `keys` to a ScriptedBank and returns its responses.
std::vector<Response> bank_call(const std::vector<std::string>& keys, ScriptedBank::Answer answer) {
  ConnectorRegistry registry;
  EXPECT_TRUE(register_builtin_connectors(registry).ok());
  const ConnectorFactory* f = registry.find("bank");
  VirtualExecutor ex(0);
  ConnectorContext ctx;
  ctx.executor = &ex;
  ctx.transport = std::make_unique<ScriptedBank>(ex, std::move(answer));
  auto c = f->create(*f->default_config(), std::move(ctx));
  EXPECT_TRUE(c.ok()) << c.status();
  std::vector<Request> batch(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) batch[i].idempotency_key = keys[i];
  int completions = 0;
  std::vector<Response> got;
  OwnedBatch call(std::move(batch), [&](std::vector<Response>& r) {
    ++completions;
    got = std::move(r);
  });
  (*c)->async_submit(call.view(), call);
  ex.run();
  EXPECT_EQ(completions, 1);
  EXPECT_EQ(got.size(), keys.size());
  return got;
}

// Results are matched by position with the key as the check, and by key where the position
// does not match: each request gets the first result of its key, wherever it is; later copies
// and results of keys nobody sent are ignored.
TEST(WireConnectorTest, EachRequestTakesTheFirstResultOfItsKeyWhereverItIs) {
  const std::vector<Response> got = bank_call({"a", "b", "c", "d"}, [](const auto&) {
    return std::vector{result_for("a"),          result_for("b"),           result_for("d"),
                       result_for("zz"),         result_for("a", "-again"), result_for("c"),
                       result_for("d", "-again")};
  });
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].status, ok_status()) << i;
  EXPECT_EQ(got[0].measure_id, "m-a");
  EXPECT_EQ(got[1].measure_id, "m-b");
  EXPECT_EQ(got[2].measure_id, "m-c");
  EXPECT_EQ(got[3].measure_id, "m-d");
}

TEST(WireConnectorTest, AMissingResultIsDataLossForItsRequestAlone) {
  const std::vector<Response> got = bank_call({"a", "b", "c"}, [](const auto&) {
    return std::vector{result_for("a"), result_for("c")};
  });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].measure_id, "m-a");
  EXPECT_EQ(got[1].status,
            data_loss_error("bank.sandbox sent a reply without a result for this instruction"));
  EXPECT_EQ(got[2].measure_id, "m-c");
}

// A batch that carries one key twice: both requests take that key's first result (not one
// result each by position).
TEST(WireConnectorTest, ARequestTwiceInABatchTakesTheFirstResultOfItsKeyBothTimes) {
  const std::vector<Response> got = bank_call({"a", "a", "b"}, [](const auto&) {
    return std::vector{result_for("a", "-1"), result_for("a", "-2"), result_for("b")};
  });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].measure_id, "m-a-1");
  EXPECT_EQ(got[1].measure_id, "m-a-1");
  EXPECT_EQ(got[2].measure_id, "m-b");
}

// Regression: a batch of nothing but undeclared operations completed (and freed) its call while
// WireConnector::start still used it (heap-use-after-free under AddressSanitizer).
TEST(WireConnectorTest, BatchOfOnlyUnsupportedOperationsAndEmptyBatchComplete) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  const ConnectorFactory* f = registry.find("vehicle");  // No deduct.
  VirtualExecutor ex(0);
  institution::Institution truth("vehicle.sandbox", Capabilities::all());
  ConnectorContext ctx;
  ctx.executor = &ex;
  ctx.transport = f->sandbox_endpoint(truth, ex, {});
  auto c = f->create(*f->default_config(), std::move(ctx));
  ASSERT_TRUE(c.ok()) << c.status();
  Request deduct;
  deduct.kind = RequestKind::kDeduct;
  deduct.idempotency_key = "d";
  int completions = 0;
  std::vector<Response> got;
  OwnedBatch two({deduct, deduct}, [&](std::vector<Response>& r) {
    ++completions;
    got = std::move(r);
  });
  (*c)->async_submit(two.view(), two);
  OwnedBatch none({}, [&](std::vector<Response>& r) {
    ++completions;
    EXPECT_TRUE(r.empty());
  });
  (*c)->async_submit(none.view(), none);
  ex.run();
  EXPECT_EQ(completions, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].status, unimplemented_error("vehicle.sandbox does not support deduct"));
}

// A transport that keeps every call until the test answers it (or never does).
class HeldCalls final : public Transport {
 public:
  ~HeldCalls() override {
    if (destroyed != nullptr) *destroyed = true;
  }
  void async_call(std::string request, TransportDone done) override {
    calls.push_back({std::move(request), std::move(done)});
  }
  // Answers call `i` with one OK result per instruction it carried.
  void answer(size_t i) {
    StatusOr<std::vector<Request>> batch = bank::BankCodec::decode_requests(calls[i].first);
    ASSERT_TRUE(batch.ok()) << batch.status();
    std::vector<std::pair<std::string, Response>> results;
    for (const Request& r : *batch) results.emplace_back(r.idempotency_key, Response());
    // Called once and dropped, as a transport does (the callback holds the connector's state).
    TransportDone done = std::move(calls[i].second);
    done(bank::BankCodec::encode_responses(results));
  }
  std::vector<std::pair<std::string, TransportDone>> calls;
  bool* destroyed = nullptr;  // Set true by the destructor.
};

// A bank WireConnector (the default config: timeout_ms 60 000) over a HeldCalls transport
// (`*held`); nullptr if it cannot be made.
std::unique_ptr<Connector> held_bank(VirtualExecutor& ex, HeldCalls** held) {
  ConnectorRegistry registry;
  if (!register_builtin_connectors(registry).ok()) return nullptr;
  const ConnectorFactory* f = registry.find("bank");
  auto transport = std::make_unique<HeldCalls>();
  *held = transport.get();
  ConnectorContext ctx;
  ctx.executor = &ex;
  ctx.transport = std::move(transport);
  StatusOr<std::unique_ptr<Connector>> c = f->create(*f->default_config(), std::move(ctx));
  return c.ok() ? std::move(c).value() : nullptr;
}

// The wire calls' timeouts share one deadline queue and one executor timer (no timer armed or
// cancelled per call): each call still times out at exactly its send time plus timeout_ms
// (60 s by default) and not before, a call answered in time is not timed out, a late reply is
// ignored, and a connector with no call open leaves no event pending.
TEST(WireConnectorTest, EachWireCallTimesOutAtItsOwnDeadlineThroughOneTimer) {
  VirtualExecutor ex(0);
  HeldCalls* held = nullptr;
  std::unique_ptr<Connector> c = held_bank(ex, &held);
  ASSERT_NE(c, nullptr);
  HeldCalls& transport = *held;
  struct Outcome {
    int completions = 0;
    TimeUs at = -1;
    Status status;
  };
  std::vector<std::unique_ptr<OwnedBatch>> batches;
  std::vector<Outcome> outcomes(3);
  auto submit = [&](size_t i, TimeUs at) {
    ex.run_until(at);
    Request q;
    q.idempotency_key = "q" + std::to_string(i);
    batches.push_back(std::make_unique<OwnedBatch>(std::vector<Request>{q},
                                                   [&outcomes, &ex, i](std::vector<Response>& r) {
                                                     ++outcomes[i].completions;
                                                     outcomes[i].at = ex.now();
                                                     outcomes[i].status = r[0].status;
                                                   }));
    c->async_submit(batches.back()->view(), *batches.back());
  };
  submit(0, 0);
  submit(1, 10 * kMicrosPerSecond);
  submit(2, 20 * kMicrosPerSecond);
  ex.run_until(30 * kMicrosPerSecond);
  ASSERT_EQ(transport.calls.size(), 3u);
  transport.answer(1);
  ex.run_until(60 * kMicrosPerSecond - 1);
  EXPECT_EQ(outcomes[0].completions, 0);
  EXPECT_EQ(outcomes[1].completions, 1);
  EXPECT_EQ(outcomes[1].at, 30 * kMicrosPerSecond);
  EXPECT_EQ(outcomes[1].status, ok_status());
  EXPECT_EQ(outcomes[2].completions, 0);
  ex.run_until(60 * kMicrosPerSecond);
  EXPECT_EQ(outcomes[0].completions, 1);
  EXPECT_EQ(outcomes[0].at, 60 * kMicrosPerSecond);
  EXPECT_EQ(outcomes[0].status,
            deadline_exceeded_error("bank.sandbox did not answer within 60000 ms"));
  transport.answer(0);  // Late: ignored.
  ex.run_until(80 * kMicrosPerSecond - 1);
  EXPECT_EQ(outcomes[2].completions, 0);
  ex.run_until(80 * kMicrosPerSecond);
  EXPECT_EQ(outcomes[2].completions, 1);
  EXPECT_EQ(outcomes[2].status,
            deadline_exceeded_error("bank.sandbox did not answer within 60000 ms"));
  EXPECT_EQ(outcomes[0].completions, 1);
  EXPECT_EQ(ex.pending(), 0u);  // Nothing open: no timer left armed.
}

// One call that is never answered while a thousand others come and go (their deadline entries
// dropped from the queue, which is compacted behind the stuck one): it still times out at its
// own deadline, and every other call is answered once.
TEST(WireConnectorTest, AStuckWireCallTimesOutOnTimeBehindManyAnsweredOnes) {
  VirtualExecutor ex(0);
  HeldCalls* held = nullptr;
  std::unique_ptr<Connector> c = held_bank(ex, &held);
  ASSERT_NE(c, nullptr);
  HeldCalls& transport = *held;
  std::vector<std::unique_ptr<OwnedBatch>> batches;
  int ok = 0, timed_out = 0;
  TimeUs stuck_at = -1;
  for (int i = 0; i <= 1000; ++i) {
    ex.run_until(i * 10'000);  // Every 10 ms.
    Request q;
    q.idempotency_key = "q" + std::to_string(i);
    batches.push_back(
        std::make_unique<OwnedBatch>(std::vector<Request>{q}, [&](std::vector<Response>& r) {
          if (r[0].status.ok()) {
            ++ok;
          } else {
            ++timed_out;
            stuck_at = ex.now();
          }
        }));
    c->async_submit(batches.back()->view(), *batches.back());
    ex.run_until(ex.now());
    if (i > 0) transport.answer(static_cast<size_t>(i));
  }
  ex.run_until(60 * kMicrosPerSecond - 1);
  EXPECT_EQ(ok, 1000);
  EXPECT_EQ(timed_out, 0);
  ex.run_until(60 * kMicrosPerSecond);
  EXPECT_EQ(timed_out, 1);
  EXPECT_EQ(stuck_at, 60 * kMicrosPerSecond);
  EXPECT_EQ(ex.pending(), 0u);
}

// Issue 18: a connector destroyed with a call open, whose executor is destroyed before it ran
// the shutdown task (a simulation's end, a test's). The call is abandoned, not completed
// (nothing is left to complete it on), and the connector's state goes, with its transport:
// before, the callback the transport held kept the state, which owns the transport, for ever
// (LeakSanitizer reported the cycle). The transport's destruction is the state's.
TEST(WireConnectorTest, AnExecutorDestroyedBeforeTheShutdownTaskFreesTheConnectorsState) {
  bool transport_destroyed = false;
  int completions = 0;
  Request q;
  q.idempotency_key = "q0";
  OwnedBatch batch({q}, [&](std::vector<Response>&) { ++completions; });
  {
    VirtualExecutor ex(0);
    HeldCalls* held = nullptr;
    std::unique_ptr<Connector> c = held_bank(ex, &held);
    ASSERT_NE(c, nullptr);
    held->destroyed = &transport_destroyed;
    c->async_submit(batch.view(), batch);
    ex.run_until(0);
    ASSERT_EQ(held->calls.size(), 1u);
    c.reset();
    EXPECT_FALSE(transport_destroyed);
    EXPECT_EQ(ex.pending(), 2u);  // The shutdown task and the deadline timer.
  }
  EXPECT_TRUE(transport_destroyed);
  EXPECT_EQ(completions, 0);
}

// The same with the executor running the shutdown task (rule 5): the open call completes once,
// CANCELLED, at once; the state lives while the transport holds the wire call's callback, and
// goes when the transport answers (late: the reply is dropped).
TEST(WireConnectorTest, AConnectorsStateGoesWhenItsTransportAnswersAfterTheShutdown) {
  bool transport_destroyed = false;
  int completions = 0;
  TimeUs completed_at = -1;
  Status status;
  VirtualExecutor ex(0);
  Request q;
  q.idempotency_key = "q0";
  OwnedBatch batch({q}, [&](std::vector<Response>& r) {
    ++completions;
    completed_at = ex.now();
    status = r[0].status;
  });
  HeldCalls* held = nullptr;
  std::unique_ptr<Connector> c = held_bank(ex, &held);
  ASSERT_NE(c, nullptr);
  held->destroyed = &transport_destroyed;
  c->async_submit(batch.view(), batch);
  ex.run_until(kMicrosPerSecond);
  ASSERT_EQ(held->calls.size(), 1u);
  c.reset();
  ex.run_until(ex.now());
  EXPECT_EQ(completions, 1);
  EXPECT_EQ(completed_at, kMicrosPerSecond);
  EXPECT_EQ(status, cancelled_error("bank.sandbox is shut down"));
  EXPECT_EQ(ex.pending(), 0u);  // The deadline timer is cancelled.
  EXPECT_FALSE(transport_destroyed);
  held->answer(0);  // Posts the late reply, which holds the state; `held` goes with it.
  ex.run();
  EXPECT_TRUE(transport_destroyed);
  EXPECT_EQ(completions, 1);
}

}  // namespace
}  // namespace chakong::connectors
