// The wire form of messages between logical processes on different ranks (sim/src/lp_wire.h)
// and RankConnector over it: a decoded batch equals the one encoded, field for field; bad bytes
// are kDataLoss naming the field; a batch crossing as bytes is answered at the times and with
// the values LpConnector gives.
#include "sim/src/lp_wire.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chakong/sim/parallel_time.h"
#include "chakong/v1/lp.pb.h"
#include "sim/src/lp_connector.h"
#include "sim/src/rank_connector.h"

namespace chakong::sim {
namespace {

using connectors::BatchSink;
using connectors::BatchView;
using connectors::OwnedBatch;
using connectors::PriorMeasure;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

Date day(int y, int m, int d) { return *Date::from_ymd(y, m, d); }

Request request(RequestKind kind, std::string key, std::string case_number, std::string debtor,
                std::string officer) {
  Request r;
  r.kind = kind;
  r.idempotency_key = std::move(key);
  r.case_number = std::move(case_number);
  r.debtor_id = std::move(debtor);
  r.officer_id = std::move(officer);
  return r;
}

std::vector<Request> two_requests() {
  Request freeze = request(RequestKind::kFreeze, "(2026)京0105执1234号/f/3", "(2026)京0105执1234号",
                           "110105198001011234", "京0105-7");
  freeze.ruling_number = "(2026)京0105执1234号之一";
  freeze.purpose = "freeze";
  freeze.asset.category = AssetCategory::kSecurities;
  freeze.asset.reference = "A123456789";
  freeze.asset.value = Fen(1'250'000);
  freeze.asset.holder_id = "110105198001011234";
  freeze.asset.quantity = 500;
  freeze.asset.unit_price = Fen(2'500);
  freeze.amount = Fen(987'654);
  freeze.term_end = day(2029, 3, 31);
  const Request query =
      request(RequestKind::kQuery, "q/1", "(2026)京0105执1235号", "91110000MA01ABCD2X", "京0105-2");
  return {freeze, query};
}

void expect_same(const Asset& a, const Asset& b) {
  EXPECT_EQ(a.category, b.category);
  EXPECT_EQ(a.reference, b.reference);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.holder_id, b.holder_id);
  EXPECT_EQ(a.quantity, b.quantity);
  EXPECT_EQ(a.unit_price, b.unit_price);
}

TEST(LpWireTest, RequestBatchRoundTripsFieldForField) {
  const std::vector<Request> in = two_requests();
  const std::vector<const Request*> p = connectors::pointers_to(in);
  StatusOr<lp_wire::Message> m = lp_wire::decode(lp_wire::encode_requests(42, BatchView(p)));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const auto* b = std::get_if<lp_wire::RequestBatch>(&*m);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->call, 42u);
  ASSERT_EQ(b->requests.size(), 2u);
  const Request& f = b->requests[0];
  EXPECT_EQ(f.kind, RequestKind::kFreeze);
  EXPECT_EQ(f.idempotency_key, "(2026)京0105执1234号/f/3");
  EXPECT_EQ(f.case_number, "(2026)京0105执1234号");
  EXPECT_EQ(f.debtor_id, "110105198001011234");
  EXPECT_EQ(f.officer_id, "京0105-7");
  EXPECT_EQ(f.ruling_number, "(2026)京0105执1234号之一");
  EXPECT_EQ(f.purpose, "freeze");
  expect_same(f.asset, in[0].asset);
  EXPECT_EQ(f.asset.quantity, 500);
  EXPECT_EQ(f.asset.unit_price, Fen(2'500));
  EXPECT_EQ(f.amount, Fen(987'654));
  EXPECT_EQ(f.term_end, day(2029, 3, 31));
  const Request& q = b->requests[1];
  EXPECT_EQ(q.kind, RequestKind::kQuery);
  EXPECT_EQ(q.idempotency_key, "q/1");
  EXPECT_EQ(q.debtor_id, "91110000MA01ABCD2X");
  EXPECT_EQ(q.term_end, Date());
  expect_same(q.asset, Asset());
  EXPECT_EQ(q.amount, Fen());
}

TEST(LpWireTest, AQueryKeepsAnAssetItCarries) {
  std::vector<Request> in = two_requests();
  in[1].asset.category = AssetCategory::kVehicle;
  in[1].asset.reference = "京A12345";
  const std::vector<const Request*> p = connectors::pointers_to(in);
  StatusOr<lp_wire::Message> m = lp_wire::decode(lp_wire::encode_requests(1, BatchView(p)));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const Request& q = std::get<lp_wire::RequestBatch>(*m).requests[1];
  EXPECT_EQ(q.asset.category, AssetCategory::kVehicle);
  EXPECT_EQ(q.asset.reference, "京A12345");
}

std::vector<Response> two_responses() {
  Response frozen;
  frozen.requested = Fen(987'654);
  frozen.frozen = Fen(500'001);
  frozen.balance = Fen(500'001);
  frozen.prior_measures.push_back(
      PriorMeasure{"(2025)沪0101执9号", Fen(12'000), day(2027, 1, 5), 2});
  frozen.queue_position = 3;
  frozen.measure_id = "M-77";
  frozen.effective_date = day(2026, 12, 3);
  frozen.end_date = day(2027, 12, 2);
  Asset a;
  a.category = AssetCategory::kRealEstate;
  a.reference = "京(2020)朝阳不动产权第0001号";
  a.value = Fen(300'000'000);
  a.holder_id = "110105198001011234";
  frozen.assets.push_back(a);
  Response refused = Response::error(permission_denied_error("officer 京0105-7: not authorised"));
  return {frozen, refused};
}

TEST(LpWireTest, ResponseBatchRoundTripsFieldForField) {
  const std::vector<Response> in = two_responses();
  StatusOr<lp_wire::Message> m = lp_wire::decode(lp_wire::encode_responses(7, in, 2));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const auto* b = std::get_if<lp_wire::ResponseBatch>(&*m);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->call, 7u);
  EXPECT_EQ(b->extra, 2u);
  EXPECT_TRUE(b->error.ok());
  ASSERT_EQ(b->responses.size(), 2u);
  const Response& r = b->responses[0];
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.requested, Fen(987'654));
  EXPECT_EQ(r.frozen, Fen(500'001));
  EXPECT_EQ(r.balance, Fen(500'001));
  ASSERT_EQ(r.prior_measures.size(), 1u);
  EXPECT_EQ(r.prior_measures[0].authority, "(2025)沪0101执9号");
  EXPECT_EQ(r.prior_measures[0].amount, Fen(12'000));
  EXPECT_EQ(r.prior_measures[0].end_date, day(2027, 1, 5));
  EXPECT_EQ(r.prior_measures[0].queue_position, 2);
  EXPECT_EQ(r.queue_position, 3);
  EXPECT_EQ(r.measure_id, "M-77");
  EXPECT_EQ(r.effective_date, day(2026, 12, 3));
  EXPECT_EQ(r.end_date, day(2027, 12, 2));
  ASSERT_EQ(r.assets.size(), 1u);
  expect_same(r.assets[0], in[0].assets[0]);
  EXPECT_EQ(b->responses[1].status, permission_denied_error("officer 京0105-7: not authorised"));
}

TEST(LpWireTest, PartsCarryTheirRequestsIndexAndTheCallersWishForThem) {
  const std::vector<Request> in = two_requests();
  const std::vector<const Request*> p = connectors::pointers_to(in);
  StatusOr<lp_wire::Message> req = lp_wire::decode(lp_wire::encode_requests(3, BatchView(p), true));
  ASSERT_TRUE(req.ok()) << req.status().to_string();
  EXPECT_TRUE(std::get<lp_wire::RequestBatch>(*req).parts);
  req = lp_wire::decode(lp_wire::encode_requests(3, BatchView(p)));
  ASSERT_TRUE(req.ok());
  EXPECT_FALSE(std::get<lp_wire::RequestBatch>(*req).parts);

  std::vector<std::pair<uint32_t, Response>> parts(2);
  parts[0] = {1, two_responses()[0]};
  parts[1] = {4, Response()};
  StatusOr<lp_wire::Message> m = lp_wire::decode(lp_wire::encode_parts(8, parts));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const auto& b = std::get<lp_wire::ResponseBatch>(*m);
  EXPECT_EQ(b.call, 8u);
  EXPECT_TRUE(b.part);
  EXPECT_EQ(b.index, (std::vector<uint32_t>{1, 4}));
  ASSERT_EQ(b.responses.size(), 2u);
  ASSERT_EQ(b.responses[0].assets.size(), 1u);
  expect_same(b.responses[0].assets[0], parts[0].second.assets[0]);
  EXPECT_TRUE(b.responses[1].assets.empty());
  // An answer is not a part.
  m = lp_wire::decode(lp_wire::encode_responses(8, two_responses(), 0));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(std::get<lp_wire::ResponseBatch>(*m).part);

  // Parts whose indices do not match their responses, and indices on an answer, do not decode.
  v1::LpMessage bad;
  bad.mutable_responses()->set_call(8);
  bad.mutable_responses()->set_part(true);
  bad.mutable_responses()->add_responses();
  bad.mutable_responses()->add_responses();
  bad.mutable_responses()->add_index(0);
  EXPECT_EQ(lp_wire::decode(bad.SerializeAsString()).status(),
            data_loss_error("lp message index: 1 indices for 2 parts"));
  bad.mutable_responses()->set_part(false);
  EXPECT_EQ(lp_wire::decode(bad.SerializeAsString()).status(),
            data_loss_error("lp message index: 1 indices for 2 responses that are not parts"));
}

TEST(LpWireTest, AnErrorAnswerCarriesItsStatus) {
  StatusOr<lp_wire::Message> m =
      lp_wire::decode(lp_wire::encode_error(9, data_loss_error("lp message: 3 bytes")));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const auto& b = std::get<lp_wire::ResponseBatch>(*m);
  EXPECT_EQ(b.call, 9u);
  EXPECT_EQ(b.error, data_loss_error("lp message: 3 bytes"));
  EXPECT_TRUE(b.responses.empty());
}

TEST(LpWireTest, MalformedMessagesAreDataLossNamingTheField) {
  StatusOr<lp_wire::Message> m = lp_wire::decode(std::string("\xff\xff\xff", 3));
  EXPECT_EQ(m.status(),
            data_loss_error("lp message: 3 bytes that do not parse as chakong.v1.LpMessage"));
  EXPECT_EQ(lp_wire::call_of(std::string("\xff\xff\xff", 3)), 0u);

  EXPECT_EQ(lp_wire::decode("").status(),
            data_loss_error("lp message body: neither requests nor responses (0 bytes)"));

  v1::LpMessage bad;
  bad.mutable_requests()->set_call(5);
  bad.mutable_requests()->add_requests()->set_kind(v1::REQUEST_KIND_QUERY);
  bad.mutable_requests()->add_requests()->set_kind(static_cast<v1::RequestKind>(9));
  std::string bytes = bad.SerializeAsString();
  EXPECT_EQ(lp_wire::decode(bytes).status(),
            data_loss_error("lp message requests[1].kind: 9 is not a request kind"));
  EXPECT_EQ(lp_wire::call_of(bytes), 5u);

  v1::LpMessage asset;
  v1::Response* r = asset.mutable_responses()->add_responses();
  r->add_assets()->set_category(static_cast<v1::AssetCategory>(9));
  EXPECT_EQ(lp_wire::decode(asset.SerializeAsString()).status(),
            data_loss_error("lp message responses[0].assets[0].category: 9 is not an asset "
                            "category"));

  v1::LpMessage code;
  code.mutable_responses()->set_call(3);
  code.mutable_responses()->set_error_code(static_cast<v1::StatusCode>(40));
  EXPECT_EQ(lp_wire::decode(code.SerializeAsString()).status(),
            data_loss_error("lp message error_code: 40 is not a status code"));
}

// Answers every request `latency` after the batch arrives, on its executor: measure_id is the
// request's key with "!", frozen its amount plus one fen; one extra response when asked.
class EchoConnector final : public connectors::Connector {
 public:
  EchoConnector(Executor& ex, TimeUs latency, bool extra)
      : ex_(ex), latency_(latency), extra_(extra) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }
  void async_submit(BatchView batch, BatchSink& sink) override {
    seen_at.push_back(ex_.now());
    ex_.run_after(latency_, [this, batch, &sink] {
      for (size_t i = 0; i < batch.size(); ++i) {
        Response& r = sink.response(i);
        r.measure_id = batch[i].idempotency_key + "!";
        r.frozen = batch[i].amount + Fen(1);
        r.effective_date = date_of(ex_.now());
      }
      if (extra_) sink.response(batch.size());
      sink.complete();
    });
  }
  std::vector<TimeUs> seen_at;

 private:
  Executor& ex_;
  const TimeUs latency_;
  const bool extra_;
  const std::string name_ = "bank.echo";
};

// Two LPs (a shard, an institution), one submission from the shard at t0; returns the
// responses and when the shard saw them complete.
struct Crossing {
  std::vector<Response> responses;
  TimeUs completed_at = -1;
  TimeUs seen_at = -1;
  size_t extra = 0;
};

template <typename Make>
Crossing cross(Make make, bool extra) {
  const TimeUs t0 = day(2026, 12, 3).start_us();
  auto pt = ParallelTime::create({.lps = 2, .start = t0, .lookahead = kMicrosPerSecond}).value();
  EchoConnector echo(pt->executor(1), 5 * kMicrosPerSecond, extra);
  std::unique_ptr<connectors::Connector> c = make(echo, *pt);
  Crossing out;
  OwnedBatch batch(two_requests(), [&](std::vector<Response>& r) {
    out.responses = r;
    out.completed_at = pt->executor(0).now();
  });
  pt->executor(0).run_at(t0 + 10 * kMicrosPerSecond, [&] { c->async_submit(batch.view(), batch); });
  EXPECT_TRUE(pt->run_until(t0 + kMicrosPerDay).ok());
  EXPECT_EQ(batch.completions(), 1);
  out.extra = batch.answered() - 2;  // Two requests, each answered once.
  out.seen_at = echo.seen_at.empty() ? -1 : echo.seen_at[0] - t0;
  out.completed_at -= t0;
  return out;
}

TEST(RankConnectorTest, ABatchCrossingAsBytesIsAnsweredAsLpConnectorAnswersIt) {
  for (bool extra : {false, true}) {
    const Crossing task = cross(
        [](connectors::Connector& inner, ParallelTime& pt) {
          return std::make_unique<LpConnector>(inner, pt, 1, kMicrosPerSecond);
        },
        extra);
    std::unique_ptr<LpRouter> router;
    const Crossing bytes = cross(
        [&](connectors::Connector& inner, ParallelTime& pt) {
          auto c = std::make_unique<RankConnector>(inner, pt, 1, kMicrosPerSecond);
          router = std::make_unique<LpRouter>(pt);
          router->add(*c);
          router->install();
          return c;
        },
        extra);
    // Submitted at 10 s, at the institution 1 s later, answered 5 s after, back 1 s later.
    EXPECT_EQ(task.seen_at, 11 * kMicrosPerSecond);
    EXPECT_EQ(task.completed_at, 17 * kMicrosPerSecond);
    EXPECT_EQ(bytes.seen_at, task.seen_at);
    EXPECT_EQ(bytes.completed_at, task.completed_at);
    EXPECT_EQ(bytes.extra, extra ? 1u : 0u);
    EXPECT_EQ(bytes.extra, task.extra);
    ASSERT_EQ(bytes.responses.size(), 2u);
    EXPECT_EQ(bytes.responses[0].measure_id, "(2026)京0105执1234号/f/3!");
    EXPECT_EQ(bytes.responses[0].frozen, Fen(987'655));
    EXPECT_EQ(bytes.responses[1].measure_id, "q/1!");
    EXPECT_EQ(bytes.responses[1].frozen, Fen(1));
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(bytes.responses[i].measure_id, task.responses[i].measure_id);
      EXPECT_EQ(bytes.responses[i].frozen, task.responses[i].frozen);
      EXPECT_EQ(bytes.responses[i].effective_date, task.responses[i].effective_date);
      EXPECT_TRUE(bytes.responses[i].status.ok());
    }
    EXPECT_EQ(router->undecodable(), 0u);
  }
}

TEST(RankConnectorTest, AnUnreadableAnswerToACallAnswersItInDoubt) {
  const TimeUs t0 = day(2026, 12, 3).start_us();
  auto pt = ParallelTime::create({.lps = 2, .start = t0, .lookahead = kMicrosPerSecond}).value();
  EchoConnector echo(pt->executor(1), 5 * kMicrosPerSecond, false);
  RankConnector c(echo, *pt, 1, kMicrosPerSecond);
  LpRouter router(*pt);
  router.add(c);
  router.install();
  std::vector<Response> got;
  OwnedBatch batch(two_requests(), [&](std::vector<Response>& r) { got = r; });
  pt->executor(0).run_at(t0 + 1, [&] {
    c.async_submit(batch.view(), batch);
    EXPECT_EQ(c.in_flight(0), 1u);
  });
  ASSERT_TRUE(pt->run_until(t0 + 2).ok());
  // Before the institution answers, an answer to call 1 whose first response has no valid
  // code reaches the shard (set-up: straight to its receiver), and bytes that are nothing.
  v1::LpMessage bad;
  bad.mutable_responses()->set_call(1);
  bad.mutable_responses()->add_responses()->set_code(static_cast<v1::StatusCode>(77));
  pt->send_bytes(1, 0, t0 + 3, bad.SerializeAsString());
  pt->send_bytes(1, 0, t0 + 4, "\x08");
  ASSERT_TRUE(pt->run_until(t0 + kMicrosPerDay).ok());
  EXPECT_EQ(batch.completions(), 1);  // The institution's own answer, later, finds no call.
  ASSERT_EQ(got.size(), 2u);
  for (const Response& r : got) {
    EXPECT_EQ(r.status.code(), StatusCode::kDataLoss);
    EXPECT_EQ(r.status.message().rfind("lp message responses[0].code", 0), 0u)
        << r.status.message();
  }
  EXPECT_EQ(c.in_flight(0), 0u);
  EXPECT_EQ(router.undecodable(), 1u);  // "\x08": a field number with no value.
}

TEST(RankConnectorTest, ABatchSubmittedOutsideAnLpEventIsRefusedByBothCrossings) {
  const TimeUs t0 = day(2026, 12, 3).start_us();
  auto pt = ParallelTime::create({.lps = 2, .start = t0, .lookahead = kMicrosPerSecond}).value();
  EchoConnector echo(pt->executor(1), 5 * kMicrosPerSecond, false);
  LpConnector task(echo, *pt, 1, kMicrosPerSecond);
  RankConnector bytes(echo, *pt, 1, kMicrosPerSecond);
  for (connectors::Connector* c :
       {static_cast<connectors::Connector*>(&task), static_cast<connectors::Connector*>(&bytes)}) {
    std::vector<Response> got;
    OwnedBatch batch(two_requests(), [&](std::vector<Response>& r) { got = r; });
    c->async_submit(batch.view(), batch);  // Set-up: no LP's event is running.
    EXPECT_EQ(batch.completions(), 1);
    ASSERT_EQ(got.size(), 2u);
    for (const Response& r : got) {
      EXPECT_EQ(r.status.code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(r.status.message(),
                "connector bank.echo: submitted outside an event of a logical process");
    }
  }
  EXPECT_TRUE(echo.seen_at.empty());  // Nothing reached the institution.
}

}  // namespace
}  // namespace chakong::sim
