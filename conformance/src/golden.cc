// Golden exchanges: the connector under test speaks to a transport that holds the recorded
// wire calls of the real institution instead of to its own sandbox endpoint.
#include "golden.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "chakong/conformance/v1/golden.pb.h"
#include "chakong/connectors/proto_convert.h"
#include "sandbox.h"

namespace chakong::conformance {
namespace {

namespace pb = google::protobuf;
using pb::util::MessageDifferencer;
using SpecificField = MessageDifferencer::SpecificField;

// The first parse error of a text-format file, "<line>:<column>: <message>" (1-based).
class FirstError final : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (!text.empty()) return;
    text = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  std::string text;
};

// The message type an Any's type_url names, or nullptr.
const pb::Descriptor* any_type(const pb::Any& any) {
  const std::string& url = any.type_url();
  const std::string name = url.substr(url.rfind('/') + 1);
  return pb::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
}

// A new, empty message of `type` (from the generated pool: built-in or a loaded plugin's).
std::unique_ptr<pb::Message> new_message(const pb::Descriptor* type) {
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(type);
  if (prototype != nullptr) return std::unique_ptr<pb::Message>(prototype->New());
  static auto* dynamic = new pb::DynamicMessageFactory();
  return std::unique_ptr<pb::Message>(dynamic->GetPrototype(type)->New());
}

std::string one_line(const pb::Message& m, const pb::FieldDescriptor* f, int index) {
  pb::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetUseUtf8StringEscaping(true);
  std::string out;
  printer.PrintFieldValueToString(m, f, index, &out);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) out = "{ " + out + " }";
  if (out.size() > 160) out = out.substr(0, 157) + "...";
  return out;
}

// The value at `path` in `root`, taking each repeated field's index of the expected (`actual`
// false) or the actual side; nullopt when it is not there (an element one side lacks).
std::optional<std::string> value_at(const pb::Message& root, const std::vector<SpecificField>& path,
                                    bool actual) {
  const pb::Message* m = &root;
  for (size_t k = 0; k < path.size(); ++k) {
    const SpecificField& f = path[k];
    if (f.field == nullptr) return std::nullopt;
    const pb::Reflection* r = m->GetReflection();
    const bool last = k + 1 == path.size();
    if (f.field->is_repeated()) {
      const int i = actual ? (f.new_index >= 0 ? f.new_index : f.index)
                           : (f.index >= 0 ? f.index : f.new_index);
      if (i < 0 || i >= r->FieldSize(*m, f.field)) return std::nullopt;
      if (last) return one_line(*m, f.field, i);
      m = &r->GetRepeatedMessage(*m, f.field, i);
    } else {
      if (last) {
        if (f.field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
            !r->HasField(*m, f.field)) {
          return std::nullopt;
        }
        return one_line(*m, f.field, -1);
      }
      if (f.field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return std::nullopt;
      m = &r->GetMessage(*m, f.field);
    }
  }
  return std::nullopt;
}

// "instructions[1].amount_fen" (indices of the expected side where it has the element).
std::string path_name(const std::vector<SpecificField>& path) {
  std::string out;
  for (const SpecificField& f : path) {
    if (!out.empty()) out += '.';
    if (f.field == nullptr) {
      out += "(unknown field " + std::to_string(f.unknown_field_number) + ")";
      continue;
    }
    out += f.field->name();
    const int i = f.index >= 0 ? f.index : f.new_index;
    if (f.field->is_repeated() && i >= 0) out += "[" + std::to_string(i) + "]";
  }
  return out;
}

// Collects every difference as "<path>: expected X, got Y".
class Differences final : public MessageDifferencer::Reporter {
 public:
  Differences(const pb::Message& expected, const pb::Message& actual)
      : expected_(expected), actual_(actual) {}
  // In the actual message only (an element more, or a field the recording leaves unset).
  void ReportAdded(const pb::Message&, const pb::Message&,
                   const std::vector<SpecificField>& path) override {
    add(path, /*in_expected=*/!is_element(path), true);
  }
  // In the recording only.
  void ReportDeleted(const pb::Message&, const pb::Message&,
                     const std::vector<SpecificField>& path) override {
    add(path, true, /*in_actual=*/!is_element(path));
  }
  void ReportModified(const pb::Message&, const pb::Message&,
                      const std::vector<SpecificField>& path) override {
    // A message is reported modified after the fields in it that differ: those say it.
    if (!path.empty() && path.back().field != nullptr &&
        path.back().field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return;
    }
    add(path, true, true);
  }
  std::vector<std::string> found;

 private:
  // An element of a repeated field (which one side lacks), not a singular field (which proto3
  // shows as its default).
  static bool is_element(const std::vector<SpecificField>& path) {
    return !path.empty() && path.back().field != nullptr && path.back().field->is_repeated();
  }
  void add(const std::vector<SpecificField>& path, bool in_expected, bool in_actual) {
    const std::optional<std::string> e =
        in_expected ? value_at(expected_, path, false) : std::nullopt;
    const std::optional<std::string> a = in_actual ? value_at(actual_, path, true) : std::nullopt;
    found.push_back(path_name(path) + ": expected " + e.value_or("none") + ", got " +
                    a.value_or("none"));
  }
  const pb::Message& expected_;
  const pb::Message& actual_;
};

// The differences of `actual` from `expected`, each prefixed by `prefix`.
std::vector<std::string> differences(const pb::Message& expected, const pb::Message& actual,
                                     const std::string& prefix,
                                     const std::vector<const pb::FieldDescriptor*>& ignored = {}) {
  Differences report(expected, actual);
  MessageDifferencer d;
  for (const pb::FieldDescriptor* f : ignored) d.IgnoreField(f);
  d.ReportDifferencesTo(&report);
  d.Compare(expected, actual);
  for (std::string& s : report.found) s = prefix + s;
  return report.found;
}

std::string shown(const std::string& bytes) {
  std::string out = pb::CEscape(bytes.substr(0, 48));
  return "\"" + out + (bytes.size() > 48 ? "...\"" : "\"");
}

// What the connector sent on wire call `n` (1-based) against what the exchange records.
std::vector<std::string> compare_request(const pb::Any& recorded, const std::string& sent, int n) {
  const std::string at = "golden encode: wire call " + std::to_string(n) + ": ";
  if (recorded.type_url().empty()) {
    if (sent == recorded.value()) return {};
    size_t i = 0;
    while (i < sent.size() && i < recorded.value().size() && sent[i] == recorded.value()[i]) ++i;
    return {at + "the bytes sent differ from the recorded request from byte " + std::to_string(i) +
            " (sent " + std::to_string(sent.size()) + " bytes, recorded " +
            std::to_string(recorded.value().size()) + "): expected " +
            shown(recorded.value().substr(i)) + ", got " + shown(sent.substr(i))};
  }
  const pb::Descriptor* type = any_type(recorded);  // Known: load_golden() checked.
  std::unique_ptr<pb::Message> want = new_message(type), got = new_message(type);
  want->ParseFromString(recorded.value());
  if (!got->ParseFromString(sent)) {
    return {at + "the " + std::to_string(sent.size()) + " bytes sent do not parse as " +
            type->full_name()};
  }
  return differences(*want, *got, at);
}

// Hands the connector the recorded replies, one per wire call, and keeps what it sent.
struct Recording {
  std::mutex mu;
  std::vector<std::string> sent;
  std::vector<std::string> replies;
};

class GoldenTransport final : public connectors::Transport {
 public:
  GoldenTransport(std::shared_ptr<Recording> recording, Executor& executor)
      : recording_(std::move(recording)), executor_(executor) {}
  void async_call(std::string request, connectors::TransportDone done) override {
    size_t n;
    {
      std::lock_guard<std::mutex> lock(recording_->mu);
      recording_->sent.push_back(std::move(request));
      n = recording_->sent.size();
    }
    StatusOr<std::string> reply =
        n <= recording_->replies.size()
            ? StatusOr<std::string>(recording_->replies[n - 1])
            : StatusOr<std::string>(unavailable_error(
                  "the golden exchange records no reply for wire call " + std::to_string(n)));
    // The institution answers a second later, on the executor (never inside async_call()).
    // The task holds the executor, which outlives the connector and this transport.
    Executor* ex = &executor_;
    ex->post([ex, reply = std::move(reply), done = std::move(done)]() mutable {
      ex->run_after(kMicrosPerSecond,
                    [reply = std::move(reply), done = std::move(done)] { done(reply); });
    });
  }

 private:
  std::shared_ptr<Recording> recording_;
  Executor& executor_;
};

StatusOr<v1::GoldenExchange> parse(const std::string& text, const std::string& path) {
  v1::GoldenExchange ex;
  pb::TextFormat::Parser parser;
  FirstError error;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(text, &ex)) {
    return invalid_argument_error(path + ":" +
                                  (error.text.empty() ? "1:1: does not parse" : error.text));
  }
  return ex;
}

// Checks what parse() cannot: the kind, the counts, and that every Any names a known type and
// holds a message of it.
Status validate(const v1::GoldenExchange& ex, const std::string& path) {
  if (ex.kind().empty()) return invalid_argument_error(path + ": kind is not set");
  if (ex.requests().empty()) return invalid_argument_error(path + ": no requests");
  if (ex.responses_size() != ex.requests_size()) {
    return invalid_argument_error(path + ": " + std::to_string(ex.requests_size()) +
                                  " requests but " + std::to_string(ex.responses_size()) +
                                  " responses (one response per request)");
  }
  auto check_any = [&](const pb::Any& any, const std::string& field) -> Status {
    if (any.type_url().empty()) return ok_status();  // Raw bytes.
    const pb::Descriptor* type = any_type(any);
    if (type == nullptr) {
      return invalid_argument_error(path + ": " + field + ": message type '" + any.type_url() +
                                    "' is not known (its .proto is neither built in nor in a "
                                    "loaded plugin)");
    }
    if (!new_message(type)->ParseFromString(any.value())) {
      return invalid_argument_error(path + ": " + field + ": the value does not parse as " +
                                    type->full_name());
    }
    return ok_status();
  };
  if (ex.has_config()) {
    if (ex.config().type_url().empty()) {
      return invalid_argument_error(path + ": config: type_url is not set");
    }
    CHAKONG_RETURN_IF_ERROR(check_any(ex.config(), "config"));
  }
  for (int i = 0; i < ex.calls_size(); ++i) {
    const std::string at = "calls[" + std::to_string(i) + "].";
    CHAKONG_RETURN_IF_ERROR(check_any(ex.calls(i).request(), at + "request"));
    CHAKONG_RETURN_IF_ERROR(check_any(ex.calls(i).reply(), at + "reply"));
  }
  return ok_status();
}

// The exchange's config in place of the kind's default `c`, with the default's name,
// timeout_ms and max_batch where the exchange leaves them unset. (Merging over the default
// could not turn a proto3 field off: false and 0 are not on the wire.)
void replace_config(pb::Message& c, const v1::GoldenExchange& ex) {
  if (!ex.has_config()) return;
  std::unique_ptr<pb::Message> defaults(c.New());
  defaults->CopyFrom(c);
  c.Clear();
  c.ParseFromString(ex.config().value());
  const pb::Reflection* r = c.GetReflection();
  for (const char* name : {"name", "timeout_ms", "max_batch"}) {
    const pb::FieldDescriptor* f = c.GetDescriptor()->FindFieldByName(name);
    if (f == nullptr || f->is_repeated() || r->HasField(c, f)) continue;
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      r->SetString(&c, f, r->GetString(*defaults, f));
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32) {
      r->SetUInt32(&c, f, r->GetUInt32(*defaults, f));
    }
  }
}

}  // namespace

StatusOr<std::vector<GoldenFile>> load_golden(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return not_found_error("golden directory '" + dir + "' does not exist");
  }
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".textproto") {
      paths.push_back(it->path());
    }
  }
  if (ec) return not_found_error("cannot read golden directory '" + dir + "': " + ec.message());
  if (paths.empty()) return not_found_error("no *.textproto file under '" + dir + "'");
  std::sort(paths.begin(), paths.end());
  std::vector<GoldenFile> out;
  for (const fs::path& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return not_found_error("cannot read golden file '" + p.string() + "'");
    StatusOr<v1::GoldenExchange> ex = parse(text.str(), p.string());
    if (!ex.ok()) return ex.status();
    CHAKONG_RETURN_IF_ERROR(validate(*ex, p.string()));
    fs::path name = p.lexically_relative(dir);
    name.replace_extension();
    out.push_back({"golden:" + name.generic_string(), p.string(), ex->kind(), text.str()});
  }
  return out;
}

CheckResult golden_check(const connectors::ConnectorFactory& f, const Options& o,
                         const GoldenFile& g) {
  auto fail = [](std::string why) { return CheckResult{{}, Result::kFail, std::move(why)}; };
  StatusOr<v1::GoldenExchange> parsed = parse(g.text, g.path);
  if (!parsed.ok()) return fail("golden file: " + parsed.status().message());
  if (Status s = validate(*parsed, g.path); !s.ok()) return fail("golden file: " + s.message());
  const v1::GoldenExchange& ex = *parsed;
  if (ex.kind() != f.kind()) {
    return fail("golden file: kind '" + ex.kind() + "', the connector's is '" +
                std::string(f.kind()) + "'");
  }
  std::unique_ptr<pb::Message> config = f.default_config();
  if (config == nullptr) return fail("default_config() returned null");
  if (ex.has_config() && any_type(ex.config()) != config->GetDescriptor()) {
    return fail("golden file: config is a " + ex.config().type_url() + ", the kind's config is " +
                config->GetTypeName());
  }
  std::vector<Request> requests;
  for (int i = 0; i < ex.requests_size(); ++i) {
    StatusOr<Request> r = connectors::from_proto(ex.requests(i));
    if (!r.ok()) {
      return fail("golden file: requests[" + std::to_string(i) + "]: " + r.status().message());
    }
    requests.push_back(std::move(*r));
  }
  auto recording = std::make_shared<Recording>();
  for (const v1::WireCall& c : ex.calls()) recording->replies.push_back(c.reply().value());
  Sandbox s(
      f, o.seed, FaultTransport::Mode::kNone, {}, [&](pb::Message& c) { replace_config(c, ex); },
      [recording](Executor& e) { return std::make_unique<GoldenTransport>(recording, e); });
  if (!s.status().ok())
    return fail("sandbox: connector could not be built: " + s.status().to_string());
  const size_t n = requests.size();
  auto call = s.call(std::move(requests));

  std::vector<std::string> problems;
  std::vector<std::string> sent;
  {
    std::lock_guard<std::mutex> lock(recording->mu);
    sent = recording->sent;
  }
  if (sent.size() != static_cast<size_t>(ex.calls_size())) {
    problems.push_back("golden encode: the connector made " + std::to_string(sent.size()) +
                       " wire calls for the batch, the exchange records " +
                       std::to_string(ex.calls_size()));
  }
  for (size_t i = 0; i < sent.size() && i < static_cast<size_t>(ex.calls_size()); ++i) {
    for (std::string& p : compare_request(ex.calls(static_cast<int>(i)).request(), sent[i],
                                          static_cast<int>(i) + 1)) {
      problems.push_back(std::move(p));
    }
  }
  if (call->completions != 1) {
    problems.push_back("golden decode: the batch completed " + std::to_string(call->completions) +
                       " times, expected once");
  } else if (call->responses.size() != n) {
    problems.push_back("golden decode: " + std::to_string(call->responses.size()) +
                       " responses for " + std::to_string(n) + " requests");
  } else {
    const pb::Descriptor* rd = chakong::v1::Response::descriptor();
    const std::vector<const pb::FieldDescriptor*> ignored = {
        rd->FindFieldByName("message"), rd->FindFieldByName("idempotency_key"),
        rd->FindFieldByName("shortfall"),
        chakong::v1::Asset::descriptor()->FindFieldByName("divisible")};
    for (size_t i = 0; i < n; ++i) {
      const chakong::v1::Response& want = ex.responses(static_cast<int>(i));
      chakong::v1::Response got;
      connectors::to_proto(call->responses[i], &got);
      const std::string at = "golden decode: responses[" + std::to_string(i) + "].";
      for (std::string& p : differences(want, got, at, ignored)) problems.push_back(std::move(p));
      if (!want.message().empty() && got.message().find(want.message()) == std::string::npos) {
        problems.push_back(at + "message: expected to contain \"" + want.message() + "\", got \"" +
                           got.message() + "\"");
      }
    }
  }
  if (problems.empty()) {
    return {{},
            Result::kPass,
            std::to_string(n) + (n == 1 ? " request" : " requests") + ", " +
                std::to_string(sent.size()) + (sent.size() == 1 ? " wire call" : " wire calls") +
                ": sent and decoded as recorded"};
  }
  std::string detail;
  for (size_t i = 0; i < problems.size() && i < 6; ++i) detail += (i ? "; " : "") + problems[i];
  if (problems.size() > 6) detail += "; and " + std::to_string(problems.size() - 6) + " more";
  return fail(std::move(detail));
}

}  // namespace chakong::conformance
