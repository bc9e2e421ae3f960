// The 总对总 hub's members as queued servers: exact completion times for scripted arrivals
// (MemberQueue), the hub's answer time over its members (Hub::latency), and its answers
// streamed by member (Hub::split, through both crossings).
#include "../../sim/src/hub.h"

#include <gtest/gtest.h>

#include "../../sim/src/lp_connector.h"
#include "../../sim/src/population.h"
#include "../../sim/src/rank_connector.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/parallel_time.h"

namespace chakong::sim {
namespace {

using connectors::Response;

constexpr TimeUs H = kMicrosPerHour;
const BusinessHours kAlways;

TimeUs monday() { return Date::from_ymd(2025, 3, 3)->start_us(); }  // A Monday, 00:00.

struct Step {
  TimeUs arrival, service;
  TimeUs start, done;
  uint32_t queued;
};

void run_script(MemberQueue& q, const std::vector<Step>& steps, const BusinessHours& hours,
                const std::vector<OutageWindow>& outages) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const MemberQueue::Admitted a = q.admit(s.arrival, s.service, hours, outages);
    EXPECT_EQ(a.start, s.start) << "batch " << i;
    EXPECT_EQ(a.done, s.done) << "batch " << i;
    EXPECT_EQ(a.queued, s.queued) << "batch " << i;
  }
}

TEST(MemberQueueTest, OneServerServesInArrivalOrder) {
  MemberQueue q(1);
  const TimeUs t = monday();
  run_script(q,
             {{t, 10 * H, t, t + 10 * H, 0},
              // Waits for the server; nothing waited ahead of it.
              {t + 2 * H, 10 * H, t + 10 * H, t + 20 * H, 0},
              // The batch of t + 2h is still waiting.
              {t + 3 * H, 5 * H, t + 20 * H, t + 25 * H, 1},
              // The t + 2h batch started at t + 10h; the t + 3h one still waits.
              {t + 12 * H, 1 * H, t + 25 * H, t + 26 * H, 1},
              // An idle server: straight in.
              {t + 30 * H, 2 * H, t + 30 * H, t + 32 * H, 0}},
             kAlways, {});
  EXPECT_EQ(q.busy_us(), 28 * H);
}

TEST(MemberQueueTest, BusyTimeStopsAtTheEndOfTheRun) {
  const TimeUs t = monday();
  MemberQueue q(1, /*end=*/t + 15 * H);
  run_script(q, {{t, 10 * H, t, t + 10 * H, 0}, {t + H, 10 * H, t + 10 * H, t + 20 * H, 0}},
             kAlways, {});
  EXPECT_EQ(q.busy_us(), 15 * H);  // 10 h, then 5 of the second batch's 10 before the end.
  MemberQueue u(0, t + 15 * H);
  run_script(u, {{t, 20 * H, t, t + 20 * H, 0}}, kAlways, {});
  EXPECT_EQ(u.busy_us(), 15 * H);
}

TEST(MemberQueueTest, TwoServersTakeTheEarliestFree) {
  MemberQueue q(2);
  const TimeUs t = monday();
  run_script(q,
             {{t, 10 * H, t, t + 10 * H, 0},
              {t + 1 * H, 10 * H, t + 1 * H, t + 11 * H, 0},
              // Both busy: the first free is at t + 10h.
              {t + 2 * H, 5 * H, t + 10 * H, t + 15 * H, 0},
              {t + 3 * H, 5 * H, t + 11 * H, t + 16 * H, 1},
              // The two waiting batches started at t + 10h and t + 11h; next free at t + 15h.
              {t + 11 * H, 1 * H, t + 15 * H, t + 16 * H, 0}},
             kAlways, {});
  EXPECT_EQ(q.busy_us(), 31 * H);
}

TEST(MemberQueueTest, AnOutagePausesTheWorkAndDelaysTheQueue) {
  const TimeUs t = monday();
  const std::vector<OutageWindow> down = {{t + 5 * H, t + 8 * H}};
  MemberQueue q(1);
  run_script(q,
             {// Overlaps the 3-hour outage: done 3 hours later.
              {t, 10 * H, t, t + 13 * H, 0},
              {t + 1 * H, 2 * H, t + 13 * H, t + 15 * H, 0}},
             kAlways, down);
  // Unlimited: a batch taken during the outage waits for its end.
  MemberQueue u(0);
  run_script(u, {{t + 6 * H, 1 * H, t + 6 * H, t + 9 * H, 0}}, kAlways, down);
}

TEST(MemberQueueTest, BusinessHoursDelayTheStartNotTheWork) {
  const TimeUs t = monday();
  const BusinessHours office = BusinessHours::weekdays(9 * 60, 17 * 60);
  MemberQueue q(1);
  run_script(q,
             {// Before opening: taken at 09:00.
              {t + 8 * H, 2 * H, t + 9 * H, t + 11 * H, 0},
              // Runs past closing once started.
              {t + 10 * H, 8 * H, t + 11 * H, t + 19 * H, 0},
              // The server is free at 19:00, after closing: Tuesday 09:00.
              {t + 10 * H + H / 2, 1 * H, t + 33 * H, t + 34 * H, 1}},
             office, {});
  // Friday 18:00: Monday 09:00.
  MemberQueue f(1);
  const TimeUs friday = t + 4 * kMicrosPerDay;
  run_script(
      f, {{friday + 18 * H, H, t + 7 * kMicrosPerDay + 9 * H, t + 7 * kMicrosPerDay + 10 * H, 0}},
      office, {});
}

GroupConfig group(int count, int capacity) {
  GroupConfig g;
  g.kind = "bank";
  g.name = "b";
  g.count = count;
  g.hub = GroupConfig::Hub::kMembers;
  g.member_capacity.assign(static_cast<size_t>(count), capacity);
  g.query = {H, H};
  g.control = {2 * H, 2 * H};
  g.other = {3 * H, 3 * H};
  return g;
}

std::vector<connectors::Request> queries(int n) {
  return std::vector<connectors::Request>(static_cast<size_t>(n));  // kQuery by default.
}

TEST(HubTest, AQueryBatchIsOneBatchAtEveryMemberAndTheHubWaitsForTheLast) {
  GroupConfig g = group(2, 1);
  g.outages = {{1, {monday(), monday() + 4 * H}}};  // Member 1 down for the first 4 hours.
  Hub hub(g, /*first_place=*/0, /*seed=*/7);
  const TimeUs t = monday() + H;
  // Member 0 answers after 1 h; member 1 is down until t + 3h, then 1 h.
  EXPECT_EQ(hub.latency(queries(5), t), 4 * H);
  // Both servers busy: member 0 free at t + 1h, member 1 at t + 4h (no batch waits ahead).
  EXPECT_EQ(hub.latency(queries(3), t + H / 2), 4 * H + H / 2);
  // Now the t + 30m batch waits at both: member 0 answers at t + 3h, member 1 at t + 6h.
  EXPECT_EQ(hub.latency(queries(2), t + 3 * H / 4), 5 * H + H / 4);
  const Hub::Member& m0 = hub.members()[0];
  const Hub::Member& m1 = hub.members()[1];
  EXPECT_EQ(m0.checks, 10u);
  EXPECT_EQ(m0.batches, 3u);
  EXPECT_EQ(m0.max_queue, 1u);
  EXPECT_EQ(m1.max_queue, 1u);
  EXPECT_EQ(m1.queue.busy_us(), 6 * H);  // 1 h paused 3 h by the outage, then 1 h, 1 h.
  EXPECT_EQ(m1.timeouts, 0u);
  EXPECT_EQ(m1.stats->queue->count(), 3u);    // One queue length per batch: 0, 0, 1.
  EXPECT_EQ(m1.stats->latency.count(), 10u);  // One latency per check.
}

TEST(HubTest, AMemberPastTheTimeoutIsCountedAndNotWaitedFor) {
  GroupConfig g = group(3, 1);
  g.member_timeout = 90 * kMicrosPerMinute;
  g.outages = {{2, {monday(), monday() + 10 * H}}};
  Hub hub(g, 0, 7);
  EXPECT_EQ(hub.latency(queries(1), monday()), 90 * kMicrosPerMinute);
  EXPECT_EQ(hub.members()[2].timeouts, 1u);
  EXPECT_EQ(hub.members()[0].timeouts, 0u);
  EXPECT_EQ(hub.members()[1].timeouts, 0u);
}

TEST(HubTest, ControlGoesToTheHoldingMembersQueue) {
  const GroupConfig g = group(3, 1);  // Hub keeps a reference: not to a temporary.
  Hub hub(g, /*first_place=*/10, 7);
  std::vector<connectors::Request> batch(3);
  batch[0].kind = connectors::RequestKind::kRenew;
  batch[0].asset.reference = asset_reference(12, 5, 0);  // Member 2.
  batch[1].kind = connectors::RequestKind::kFreeze;
  batch[1].asset.reference = asset_reference(11, 6, 0);  // Member 1.
  batch[2].kind = connectors::RequestKind::kRelease;
  batch[2].asset.reference = asset_reference(12, 7, 1);  // Member 2 again: one batch of 2.
  // Member 1: a freeze, latency.control (2 h); member 2: latency.other (3 h).
  EXPECT_EQ(hub.latency(batch, monday()), 3 * H);
  EXPECT_EQ(hub.members()[0].checks, 0u);
  EXPECT_EQ(hub.members()[1].checks, 1u);
  EXPECT_EQ(hub.members()[2].checks, 2u);
  EXPECT_EQ(hub.members()[2].batches, 1u);
}

TEST(HubTest, AnIdleMemberIsAFewHundredBytes) {
  // Before its first batch: no histograms; an unlimited member has no heap either.
  EXPECT_LE(sizeof(Hub::Member), 160u);
  const GroupConfig g = group(2, 0);
  Hub hub(g, 0, 7);
  EXPECT_EQ(hub.members()[0].stats, nullptr);
}

TEST(HubTest, EachMemberDrawsFromItsOwnStream) {
  // Drawn latencies: member k's draws are the same whatever the other members do.
  GroupConfig three = group(3, 0), five = group(5, 0);
  three.query = five.query = {H, 20 * H};
  Hub a(three, 0, 99), b(five, 0, 99);
  for (int i = 0; i < 50; ++i) {
    (void)a.latency(queries(1), monday() + i * H);
    (void)b.latency(queries(1), monday() + i * H);
  }
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(a.members()[k].queue.busy_us(), b.members()[k].queue.busy_us()) << k;
    EXPECT_EQ(a.members()[k].stats->latency.quantile(0.99),
              b.members()[k].stats->latency.quantile(0.99))
        << k;
  }
  EXPECT_NE(a.members()[0].queue.busy_us(), a.members()[1].queue.busy_us());
}

// ---- Answers streamed by member ------------------------------------------------------

// Three members of one server each, queries taking 1 h: member 0 answers at t + 1h; member 1
// is down until t + 2h, so answers at t + 3h; member 2 is down for 10 h, past the 5-hour
// members.timeout.
GroupConfig three_members() {
  GroupConfig g = group(3, 1);
  g.member_timeout = 5 * H;
  g.outages = {{1, {monday(), monday() + 2 * H}}, {2, {monday(), monday() + 10 * H}}};
  return g;
}

constexpr uint32_t kFirstPlace = 10;

// Request 0's debtor holds an account at every member, request 1's at member 1 only.
std::vector<Response> three_member_answers() {
  std::vector<Response> r(2);
  for (uint32_t k = 0; k < 3; ++k) {
    r[0].assets.push_back(
        {AssetCategory::kDeposit, asset_reference(kFirstPlace + k, 1, 0), Fen(1'000), "d0"});
  }
  r[1].assets.push_back(
      {AssetCategory::kDeposit, asset_reference(kFirstPlace + 1, 2, 0), Fen(2'000), "d1"});
  return r;
}

TEST(HubStreamTest, EachMembersFindingsAreGivenAtItsAnswerAndATimedOutMembersNot) {
  const GroupConfig g = three_members();
  Hub hub(g, kFirstPlace, 7);
  const TimeUs t = monday();
  uint64_t id = 0;
  const std::vector<connectors::Request> batch = queries(2);
  // The hub's answer ends at the timeout; member 2 counts a timeout.
  EXPECT_EQ(hub.latency(batch, t, &id, t), 5 * H);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(hub.kept_answers(), 1u);
  EXPECT_EQ(hub.members()[2].timeouts, 1u);
  EXPECT_EQ(hub.members()[0].timeouts + hub.members()[1].timeouts, 0u);

  std::vector<Response> answers = three_member_answers();
  std::vector<AnswerParts::Part> parts;
  const std::vector<const connectors::Request*> view = connectors::pointers_to(batch);
  hub.split(id, connectors::BatchView(view), answers, t + 5 * H, /*stream=*/true, parts);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].at, t + H);  // Member 0, request 0.
  EXPECT_EQ(parts[0].index, 0u);
  ASSERT_EQ(parts[0].response.assets.size(), 1u);
  EXPECT_EQ(parts[0].response.assets[0].reference, asset_reference(kFirstPlace, 1, 0));
  EXPECT_EQ(parts[1].at, t + 3 * H);  // Member 1, both requests.
  EXPECT_EQ(parts[1].index, 0u);
  ASSERT_EQ(parts[1].response.assets.size(), 1u);
  EXPECT_EQ(parts[1].response.assets[0].reference, asset_reference(kFirstPlace + 1, 1, 0));
  EXPECT_EQ(parts[2].at, t + 3 * H);
  EXPECT_EQ(parts[2].index, 1u);
  ASSERT_EQ(parts[2].response.assets.size(), 1u);
  EXPECT_EQ(parts[2].response.assets[0].reference, asset_reference(kFirstPlace + 1, 2, 0));
  // Member 2 did not answer in time: its account is in no part and not in the answer.
  EXPECT_TRUE(answers[0].assets.empty());
  EXPECT_TRUE(answers[1].assets.empty());
  EXPECT_EQ(hub.kept_answers(), 0u);
  // Taken once: a second split of the same id changes nothing.
  std::vector<Response> again = three_member_answers();
  hub.split(id, connectors::BatchView(view), again, t + 5 * H, true, parts);
  EXPECT_EQ(again[0].assets.size(), 3u);
}

TEST(HubStreamTest, ASinkThatTakesNoPartsGetsTheAnsweredMembersFindingsInTheAnswer) {
  const GroupConfig g = three_members();
  Hub hub(g, kFirstPlace, 7);
  const TimeUs t = monday();
  uint64_t id = 0;
  const std::vector<connectors::Request> batch = queries(2);
  (void)hub.latency(batch, t, &id, t);
  std::vector<Response> answers = three_member_answers();
  std::vector<AnswerParts::Part> parts;
  const std::vector<const connectors::Request*> view = connectors::pointers_to(batch);
  hub.split(id, connectors::BatchView(view), answers, t + 5 * H, /*stream=*/false, parts);
  EXPECT_TRUE(parts.empty());
  ASSERT_EQ(answers[0].assets.size(), 2u);  // Members 0 and 1; member 2's is not given.
  EXPECT_EQ(answers[0].assets[0].reference, asset_reference(kFirstPlace, 1, 0));
  EXPECT_EQ(answers[0].assets[1].reference, asset_reference(kFirstPlace + 1, 1, 0));
  EXPECT_EQ(answers[1].assets.size(), 1u);
}

TEST(HubStreamTest, AnswerTimesNotTakenBeforeALaterCallAreDropped) {
  const GroupConfig g = three_members();
  Hub hub(g, kFirstPlace, 7);
  uint64_t a = 0, b = 0, c = 0;
  (void)hub.latency(queries(1), monday(), &a, monday());
  (void)hub.latency(queries(1), monday(), &b, monday());  // Same instant: both kept.
  EXPECT_EQ(hub.kept_answers(), 2u);
  (void)hub.latency(queries(1), monday() + H, &c, monday() + H);
  EXPECT_EQ(hub.kept_answers(), 1u);  // a and b were not taken at their instant.
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  // Counted hubs and control batches keep nothing.
  GroupConfig counted = three_members();
  counted.hub = GroupConfig::Hub::kCounted;
  Hub old(counted, kFirstPlace, 7);
  uint64_t none = 5;
  (void)old.latency(queries(1), monday(), &none, monday());
  EXPECT_EQ(none, 0u);
}

// A test connector standing for the hub's LP side: it asks the hub at intake (as the sandbox
// endpoint does) and completes the batch at once with the hub's answer time stamped on it
// (early output), for the crossing to deliver when the hub answers.
class HubAtIntake : public connectors::Connector {
 public:
  HubAtIntake(Executor& ex, Hub& hub, AnswerTime& at, std::string name)
      : ex_(ex), hub_(hub), at_(at), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }

 protected:
  // The batch as requests (`copy`), and when the hub answers it; its members' parts in `parts`.
  TimeUs ask(connectors::BatchView batch, std::vector<connectors::Request>& copy, uint64_t* parts) {
    copy.assign(batch.begin(), batch.end());
    return ex_.now() + hub_.latency(copy, ex_.now(), parts, ex_.now());
  }
  // Completes the batch with `answers` in a task of its own, stamped for `due` and `parts`.
  void answer(connectors::BatchSink& sink, TimeUs due, uint64_t parts,
              std::vector<Response> answers) {
    ex_.post([this, &sink, due, parts, answers = std::move(answers)]() mutable {
      for (size_t i = 0; i < answers.size(); ++i) sink.response(i) = std::move(answers[i]);
      at_.due = due;
      at_.parts = parts;
      sink.complete();
      at_.due = AnswerTime::kNow;
      at_.parts = 0;
    });
  }
  Executor& ex_;

 private:
  Hub& hub_;
  AnswerTime& at_;
  const std::string name_;
};

// The hub's LP side of a simulation in small: every batch answered with the three members'
// answers.
class HubEndpoint final : public HubAtIntake {
 public:
  HubEndpoint(Executor& ex, Hub& hub, AnswerTime& at) : HubAtIntake(ex, hub, at, "bank.members") {}
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    std::vector<connectors::Request> copy;
    uint64_t parts = 0;
    const TimeUs due = ask(batch, copy, &parts);
    answer(sink, due, parts, three_member_answers());
  }
};

// The engine's side: logs "<seconds after t> part|final <request> <reference>" and
// "<seconds> complete".
class PartLog final : public connectors::BatchSink {
 public:
  PartLog(Executor& ex, TimeUs t) : ex_(ex), t_(t), responses_(2) {}
  Response& response(size_t i) override { return responses_[i]; }
  void complete() override {
    for (size_t i = 0; i < responses_.size(); ++i) {
      for (const Asset& a : responses_[i].assets) log.push_back(stamp() + " final " + a.reference);
    }
    log.push_back(stamp() + " complete");
  }
  bool takes_parts() const override { return true; }
  void part(size_t i, Response&& r) override {
    for (const Asset& a : r.assets) {
      log.push_back(stamp() + " part " + std::to_string(i) + " " + a.reference);
    }
  }
  std::vector<std::string> log;

 private:
  std::string stamp() const { return std::to_string((ex_.now() - t_) / kMicrosPerSecond); }
  Executor& ex_;
  const TimeUs t_;
  std::vector<Response> responses_;
};

TEST(HubStreamTest, BothCrossingsGiveEachMembersFindingsWhenItAnswers) {
  for (const bool ranks : {false, true}) {
    SCOPED_TRACE(ranks ? "RankConnector" : "LpConnector");
    const GroupConfig g = three_members();
    Hub hub(g, kFirstPlace, 7);
    const TimeUs t = monday();
    auto pt = ParallelTime::create({.lps = 2, .start = t, .lookahead = kMicrosPerSecond}).value();
    AnswerTime at;
    HubEndpoint endpoint(pt->executor(1), hub, at);
    std::unique_ptr<LpRouter> router;
    std::unique_ptr<LpCrossing> crossing;
    if (ranks) {
      auto c = std::make_unique<RankConnector>(endpoint, *pt, 1, kMicrosPerSecond, &at);
      router = std::make_unique<LpRouter>(*pt);
      router->add(*c);
      router->install();
      crossing = std::move(c);
    } else {
      crossing = std::make_unique<LpConnector>(endpoint, *pt, 1, kMicrosPerSecond, &at);
    }
    crossing->set_answer_parts(&hub);
    PartLog sink(pt->executor(0), t);
    const std::vector<connectors::Request> batch = queries(2);
    const std::vector<const connectors::Request*> view = connectors::pointers_to(batch);
    pt->executor(0).run_at(t, [&] { crossing->async_submit(connectors::BatchView(view), sink); });
    ASSERT_TRUE(pt->run_until(t + kMicrosPerDay).ok());
    // At the hub 1 s after leaving; each member's findings back 1 s after it answers; the
    // answer at the 5-hour timeout, without member 2's account.
    const std::string m0 = asset_reference(kFirstPlace, 1, 0);
    const std::string m1 = asset_reference(kFirstPlace + 1, 1, 0);
    const std::string m1b = asset_reference(kFirstPlace + 1, 2, 0);
    EXPECT_EQ(sink.log, (std::vector<std::string>{"3602 part 0 " + m0, "10801 part 0 " + m1,
                                                  "10801 part 1 " + m1b, "18002 complete"}));
    EXPECT_EQ(hub.members()[2].timeouts, 1u);
    EXPECT_EQ(hub.kept_answers(), 0u);
  }
}

// The engine behind a streaming hub, in small: a hub LP whose members answer a query at their
// own times; the engine's findings, their 48-hour clocks and freezes follow each member.
// Queries take 1 h at every member and freezes 2 h; member 1 is down for the first 50 hours
// of the run, member 2 for 10 days (past its 60-hour members.timeout).
class HubBank final : public HubAtIntake {
 public:
  HubBank(Executor& ex, Hub& hub, AnswerTime& at) : HubAtIntake(ex, hub, at, "bank.b") {}
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    std::vector<connectors::Request> copy;
    uint64_t parts = 0;
    const TimeUs due = ask(batch, copy, &parts);
    std::vector<Response> answers(copy.size());
    for (size_t i = 0; i < copy.size(); ++i) {
      const connectors::Request& r = copy[i];
      if (r.kind == connectors::RequestKind::kQuery) {
        if (first_query < 0) first_query = ex_.now();
        for (uint32_t k = 0; k < 3; ++k) {
          answers[i].assets.push_back({AssetCategory::kDeposit,
                                       asset_reference(kFirstPlace + k, 1, 0), Fen(10'000),
                                       r.debtor_id});
        }
      } else {
        answers[i].frozen = r.amount;
        answers[i].measure_id = "m/" + r.asset.reference;
        answers[i].effective_date = date_of(ex_.now());
        answers[i].end_date = date_of(ex_.now()).plus_days(365);
      }
    }
    answer(sink, due, parts, std::move(answers));
  }
  TimeUs first_query = -1;
};

TEST(HubStreamTest, EachFindingIsFoundAndFrozenWhenItsMemberAnswers) {
  GroupConfig g = group(3, 0);
  const TimeUs t = monday();
  g.member_timeout = 60 * H;
  g.outages = {{1, {t, t + 50 * H}}, {2, {t, t + 240 * H}}};
  Hub hub(g, kFirstPlace, 7);
  auto pt = ParallelTime::create({.lps = 2, .start = t, .lookahead = kMicrosPerSecond}).value();
  AnswerTime at;
  HubBank bank(pt->executor(1), hub, at);
  LpConnector crossing(bank, *pt, 1, kMicrosPerSecond, &at);
  crossing.set_answer_parts(&hub);
  engine::EngineConfig config;
  config.dispatch.timeout = 4 * kMicrosPerDay;  // Longer than the hub's answer.
  auto e = engine::Engine::create(config, {&pt->executor(0)}, {&crossing}).value();
  ASSERT_TRUE(e->register_officer("o-1", "渝0110").ok());
  std::vector<engine::Event> events;
  e->set_observer([&](const engine::Event& ev) { events.push_back(ev); });
  engine::CaseFiling f;
  f.case_number = "（2025）渝0110执7号";
  f.court = "渝0110";
  f.debtors.push_back({engine::DebtorInfo::Kind::kPerson, "11010519491231002X", "debtor"});
  f.claim = Fen(1'000'000);
  f.officer_ids = {"o-1"};
  pt->executor(0).run_at(t + kMicrosPerSecond, [&] { ASSERT_TRUE(e->file_case(f).ok()); });
  ASSERT_TRUE(pt->run_until(t + 6 * kMicrosPerDay).ok());
  ASSERT_GE(bank.first_query, 0);
  const TimeUs q = bank.first_query;  // The query's intake at the hub.
  std::vector<std::string> log;
  for (const engine::Event& ev : events) {
    if (ev.type != engine::EventType::kFinding && ev.type != engine::EventType::kControlMet) {
      continue;
    }
    log.push_back(
        std::string(ev.type == engine::EventType::kFinding ? "found " : "met ") + ev.reference +
        " +" + std::to_string((ev.time - q) / kMicrosPerSecond) + "s" +
        (ev.due != 0 ? " due +" + std::to_string((ev.due - q) / kMicrosPerSecond) + "s" : ""));
  }
  const std::string m0 = asset_reference(kFirstPlace, 1, 0);
  const std::string m1 = asset_reference(kFirstPlace + 1, 1, 0);
  const TimeUs m1_done = t + 51 * H;  // Its outage's end + 1 h.
  const auto s = [](TimeUs us) { return std::to_string(us / kMicrosPerSecond) + "s"; };
  // Member 0: answered 1 h after intake, back 1 s later; frozen at once (the freeze crosses
  // to the hub and back, 2 s, and takes its member 2 h). Member 1: at its outage's end + 1 h.
  // Member 2 timed out: no finding.
  EXPECT_EQ(log, (std::vector<std::string>{
                     "found " + m0 + " +" + s(H + kMicrosPerSecond) + " due +" +
                         s(49 * H + kMicrosPerSecond),
                     "met " + m0 + " +" + s(3 * H + 3 * kMicrosPerSecond),
                     "found " + m1 + " +" + s(m1_done - q + kMicrosPerSecond) + " due +" +
                         s(m1_done - q + 48 * H + kMicrosPerSecond),
                     "met " + m1 + " +" + s(m1_done - q + 2 * H + 3 * kMicrosPerSecond)}));
  EXPECT_EQ(hub.members()[2].timeouts, 1u);
  EXPECT_EQ(e->stats().findings, 2u);
  const StatusOr<engine::CaseView> view = e->case_view(f.case_number);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->queries_outstanding, 0);  // Answered at the 60-hour timeout.
  EXPECT_EQ(view->frozen, Fen(20'000));
  EXPECT_EQ(e->dispatcher_stats("bank.b").query_parts, 2u);
}

}  // namespace
}  // namespace chakong::sim
