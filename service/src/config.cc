#include "chakong/service/config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace chakong::service {
namespace {

namespace pb = google::protobuf;

std::string scalar_text(const YAML::Node& n) {
  try {
    return n.as<std::string>();
  } catch (const YAML::Exception&) {
    return "<not a scalar>";
  }
}

// Maps a YAML mapping onto `msg` by field name (as scenarios are read); `path` names where we
// are. `skip` is a key left for the caller (a connector's `config`).
Status fill(const YAML::Node& node, pb::Message* msg, const std::string& path,
            std::string_view skip = {}) {
  if (!node.IsMap()) {
    return invalid_argument_error((path.empty() ? "the file" : path) + " must be a mapping");
  }
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  std::map<std::string, int> seen;
  for (const auto& kv : node) {
    const std::string key = scalar_text(kv.first);
    const std::string at = path.empty() ? key : path + "." + key;
    const int line = kv.first.Mark().line + 1;
    if (auto [it, fresh] = seen.emplace(key, line); !fresh) {
      return invalid_argument_error(at + ": given twice (lines " + std::to_string(it->second) +
                                    " and " + std::to_string(line) + ")");
    }
    if (!skip.empty() && key == skip) continue;
    const pb::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      std::string known;
      for (int i = 0; i < d->field_count(); ++i) known += (i ? ", " : "") + d->field(i)->name();
      if (!skip.empty() && d->FindFieldByName(std::string(skip)) == nullptr) {
        known += ", " + std::string(skip);
      }
      return invalid_argument_error(at + ": unknown field (known here: " + known + ")");
    }
    const YAML::Node& v = kv.second;
    if (f->is_repeated()) {
      if (!v.IsSequence()) return invalid_argument_error(at + ": must be a list");
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string item = at + "[" + std::to_string(i) + "]";
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
          if (!v[i].IsScalar()) return invalid_argument_error(item + ": must be a single value");
          r->AddString(msg, f, v[i].as<std::string>());
        } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          CHAKONG_RETURN_IF_ERROR(fill(v[i], r->AddMessage(msg, f), item));
        } else {
          return invalid_argument_error(at + ": lists of numbers are not supported");
        }
      }
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      CHAKONG_RETURN_IF_ERROR(fill(v, r->MutableMessage(msg, f), at));
      continue;
    }
    if (!v.IsScalar()) return invalid_argument_error(at + ": must be a single value");
    const std::string text = v.as<std::string>();
    try {
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING: r->SetString(msg, f, text); break;
        case pb::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(msg, f, v.as<int32_t>()); break;
        case pb::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(msg, f, v.as<int64_t>()); break;
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          if (!text.empty() && text[0] == '-') throw YAML::Exception(v.Mark(), "negative");
          r->SetUInt32(msg, f, v.as<uint32_t>());
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          if (!text.empty() && text[0] == '-') throw YAML::Exception(v.Mark(), "negative");
          r->SetUInt64(msg, f, v.as<uint64_t>());
          break;
        case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
          const double x = v.as<double>();
          if (!std::isfinite(x)) {
            return invalid_argument_error(at + ": '" + text + "' is not a finite number");
          }
          r->SetDouble(msg, f, x);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(msg, f, v.as<bool>()); break;
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          const pb::EnumValueDescriptor* e = f->enum_type()->FindValueByName(text);
          if (e == nullptr) {
            return invalid_argument_error(at + ": '" + text + "' is not a value of " +
                                          f->enum_type()->name());
          }
          r->SetEnum(msg, f, e);
          break;
        }
        default: return invalid_argument_error(at + ": unsupported field type");
      }
    } catch (const YAML::Exception&) {
      return invalid_argument_error(at + ": '" + text + "' is not a valid " +
                                    std::string(f->cpp_type_name()));
    }
  }
  return ok_status();
}

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p.front() == '/' || base_dir.empty()) return p;
  return (std::filesystem::path(base_dir) / p).string();
}

StatusOr<std::string> read_file(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument_error(field + ": cannot read " + q(path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A duration field: absent keeps `*out`.
Status duration_field(const std::string& text, const std::string& field, TimeUs* out) {
  if (text.empty()) return ok_status();
  StatusOr<TimeUs> d = parse_service_duration(text);
  if (!d.ok()) return invalid_argument_error(field + ": " + std::string(d.status().message()));
  *out = *d;
  return ok_status();
}

Status parse(const YAML::Node& root, const std::string& base_dir,
             const connectors::ConnectorRegistry& registry, ServeSettings& s) {
  if (!root.IsMap()) return invalid_argument_error("the file must be a mapping");
  // Everything but each connector's `config`, which needs the adapter's schema.
  v1::ServeConfig c;
  CHAKONG_RETURN_IF_ERROR(fill(root, &c, "", "connectors"));
  if (const YAML::Node list = root["connectors"]) {
    if (!list.IsSequence()) return invalid_argument_error("connectors: must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      CHAKONG_RETURN_IF_ERROR(
          fill(list[i], c.add_connectors(), "connectors[" + std::to_string(i) + "]", "config"));
    }
  }

  // listen
  s.address = c.listen().address();
  s.plaintext = c.listen().plaintext();
  if (s.address.empty()) return invalid_argument_error("listen.address: required");
  if (s.address.starts_with("unix:")) {
    if (s.address.size() == 5)
      return invalid_argument_error("listen.address: 'unix:' needs a path");
  } else {
    const size_t colon = s.address.rfind(':');
    if (colon == std::string::npos || colon + 1 == s.address.size() ||
        s.address.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return invalid_argument_error("listen.address: " + q(s.address) +
                                    " is not host:port or unix:PATH");
    }
  }
  if (s.plaintext) {
    if (!is_loopback_address(s.address)) {
      return invalid_argument_error("listen.address: " + q(s.address) +
                                    " is not a loopback address (plaintext is allowed only on "
                                    "loopback or a Unix socket)");
    }
    for (const auto& [name, value] :
         {std::pair{"tls_cert", c.listen().tls_cert()}, std::pair{"tls_key", c.listen().tls_key()},
          std::pair{"client_ca", c.listen().client_ca()}}) {
      if (!value.empty()) {
        return invalid_argument_error(std::string("listen.") + name + ": " + q(value) +
                                      " given with listen.plaintext: true (choose one)");
      }
    }
  } else {
    for (const auto& [name, value] :
         {std::pair{"tls_cert", c.listen().tls_cert()}, std::pair{"tls_key", c.listen().tls_key()},
          std::pair{"client_ca", c.listen().client_ca()}}) {
      if (value.empty()) {
        return invalid_argument_error(std::string("listen.") + name +
                                      ": required (mutual TLS), or set listen.plaintext: true "
                                      "on a loopback address");
      }
    }
    for (auto [field, file, out] :
         {std::tuple{"listen.tls_cert", &c.listen().tls_cert(), &s.tls_cert_pem},
          std::tuple{"listen.tls_key", &c.listen().tls_key(), &s.tls_key_pem},
          std::tuple{"listen.client_ca", &c.listen().client_ca(), &s.client_ca_pem}}) {
      StatusOr<std::string> text = read_file(resolve(base_dir, *file), field);
      if (!text.ok()) return text.status();
      *out = std::move(*text);
    }
    connectors::TlsServerOptions o;
    o.cert_pem = s.tls_cert_pem;
    o.key_pem = s.tls_key_pem;
    o.client_ca_pem = s.client_ca_pem;
    if (Status v = connectors::check_tls_server_options(o); !v.ok()) {
      return invalid_argument_error("listen: " + std::string(v.message()));
    }
  }

  if (!c.metrics().address().empty()) {
    const std::string& m = c.metrics().address();
    const size_t colon = m.rfind(':');
    std::string host = colon == std::string::npos ? "" : m.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(host, ec);
    if (colon == std::string::npos || colon + 1 == m.size() || m.size() - colon > 6 ||
        m.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
        std::stoul(m.substr(colon + 1)) > 65535 || (ec && host != "localhost")) {
      return invalid_argument_error("metrics.address: " + q(m) +
                                    " is not host:port (an IP address or localhost, a port "
                                    "0..65535)");
    }
    s.metrics_address = m;
  }
  if (!c.log_level().empty()) {
    const std::string& l = c.log_level();
    if (l != "debug" && l != "info" && l != "warn" && l != "error") {
      return invalid_argument_error("log_level: " + q(l) +
                                    " is not a level (debug, info, warn or error)");
    }
    s.log_level = l;
  }

  if (c.journal().empty()) return invalid_argument_error("journal: required (a folder)");
  s.journal_path = resolve(base_dir, c.journal());
  s.journal_truncate_torn_tail =
      c.has_journal_truncate_torn_tail() ? c.journal_truncate_torn_tail() : true;
  s.shards = c.shards() == 0 ? 1 : c.shards();
  if (s.shards > 64) {
    return invalid_argument_error("shards: " + std::to_string(c.shards()) + " is not in 1..64");
  }

  std::set<std::string> ids;
  for (int i = 0; i < c.officers_size(); ++i) {
    const std::string at = "officers[" + std::to_string(i) + "]";
    const v1::ServeOfficer& o = c.officers(i);
    if (o.id().empty()) return invalid_argument_error(at + ".id: required");
    if (o.court().empty()) return invalid_argument_error(at + ".court: required");
    if (!ids.insert(o.id()).second) {
      return invalid_argument_error(at + ".id: " + q(o.id()) + " is listed twice");
    }
    s.officers.emplace_back(o.id(), o.court());
  }
  for (int i = 0; i < c.clients_size(); ++i) {
    const std::string at = "clients[" + std::to_string(i) + "]";
    if (c.clients(i).empty()) return invalid_argument_error(at + ": empty principal");
    if (!ids.insert(c.clients(i)).second) {
      return invalid_argument_error(at + ": " + q(c.clients(i)) +
                                    " is listed twice (or is also an officer)");
    }
    s.clients.push_back(c.clients(i));
  }
  if (s.clients.empty()) {
    return invalid_argument_error("clients: required (the principals of the case servers)");
  }

  if (!c.calendar().empty()) {
    StatusOr<WorkCalendar> cal = WorkCalendar::load_file(resolve(base_dir, c.calendar()));
    if (!cal.ok()) {
      return invalid_argument_error("calendar: " + q(c.calendar()) + ": " +
                                    std::string(cal.status().message()));
    }
    s.calendar = std::move(*cal);
  }

  if (c.connectors_size() == 0) return invalid_argument_error("connectors: at least one needed");
  std::set<std::string> names;
  for (int i = 0; i < c.connectors_size(); ++i) {
    const std::string at = "connectors[" + std::to_string(i) + "]";
    const v1::ServeConnector& sc = c.connectors(i);
    ServeSettings::Connector conn;
    conn.adapter = sc.adapter();
    const connectors::ConnectorFactory* f = registry.find(sc.adapter());
    if (f == nullptr || f->kind() != sc.adapter()) {
      std::string known;
      for (const std::string& k : registry.registered_names())
        known += (known.empty() ? "" : ", ") + k;
      return invalid_argument_error(at + ".adapter: " + q(sc.adapter()) +
                                    " is not a registered adapter (known: " + known + ")");
    }
    conn.config = f->default_config();
    const YAML::Node node = root["connectors"][i]["config"];
    if (node) CHAKONG_RETURN_IF_ERROR(fill(node, conn.config.get(), at + ".config"));
    if (Status v = f->validate(*conn.config); !v.ok()) {
      return invalid_argument_error(at + ".config: " + std::string(v.message()));
    }
    const pb::FieldDescriptor* name_field = conn.config->GetDescriptor()->FindFieldByName("name");
    const std::string instance =
        name_field ? conn.config->GetReflection()->GetString(*conn.config, name_field) : "";
    conn.name = sc.adapter() + "." + instance;
    if (!names.insert(conn.name).second) {
      return invalid_argument_error(at + ".config.name: " + q(instance) + " makes " + q(conn.name) +
                                    " a second time");
    }
    const v1::ServeTransport& t = sc.transport();
    if (t.unix().empty() && t.tcp().empty()) {
      return invalid_argument_error(at +
                                    ".transport: required: unix (the institutions server's "
                                    "socket) or tcp (its host:port)");
    }
    if (!t.unix().empty() && !t.tcp().empty()) {
      return invalid_argument_error(at + ".transport.tcp: " + q(t.tcp()) +
                                    " given with transport.unix (choose one)");
    }
    if (!t.tcp().empty()) {
      const std::string& a = t.tcp();
      const size_t colon = a.rfind(':');
      const bool digits = colon != std::string::npos && colon > 0 && colon + 1 < a.size() &&
                          a.size() - colon <= 6 &&
                          a.find_first_not_of("0123456789", colon + 1) == std::string::npos;
      const long port = digits ? std::stol(a.substr(colon + 1)) : 0;
      if (port < 1 || port > 65535) {
        return invalid_argument_error(at + ".transport.tcp: " + q(a) +
                                      " is not host:port (a port 1..65535)");
      }
      conn.tcp = a;
      if (!t.tls_ca().empty()) {
        connectors::TlsClientOptions tls;
        tls.server_name = t.tls_server_name();
        for (auto [field, file, out] : {std::tuple{"tls_ca", &t.tls_ca(), &tls.ca_pem},
                                        std::tuple{"tls_cert", &t.tls_cert(), &tls.cert_pem},
                                        std::tuple{"tls_key", &t.tls_key(), &tls.key_pem}}) {
          if (file->empty()) continue;
          StatusOr<std::string> text =
              read_file(resolve(base_dir, *file), at + ".transport." + field);
          if (!text.ok()) return text.status();
          *out = std::move(*text);
        }
        if (t.tls_cert().empty() != t.tls_key().empty()) {
          return invalid_argument_error(
              at + ".transport." + (t.tls_cert().empty() ? "tls_cert" : "tls_key") +
              ": required with " + (t.tls_cert().empty() ? "tls_key" : "tls_cert"));
        }
        if (Status v = connectors::check_tls_client_options(tls); !v.ok()) {
          return invalid_argument_error(at + ".transport: " + std::string(v.message()));
        }
        conn.tls = std::move(tls);
      } else if (!t.tls_cert().empty() || !t.tls_key().empty() || !t.tls_server_name().empty()) {
        return invalid_argument_error(at + ".transport.tls_ca: required with " +
                                      (!t.tls_cert().empty()  ? "tls_cert"
                                       : !t.tls_key().empty() ? "tls_key"
                                                              : "tls_server_name"));
      }
      // One connection per address: the connectors on it must agree on its TLS.
      for (int j = 0; j < i; ++j) {
        const v1::ServeTransport& o = c.connectors(j).transport();
        if (o.tcp() == t.tcp() &&
            (o.tls_ca() != t.tls_ca() || o.tls_cert() != t.tls_cert() ||
             o.tls_key() != t.tls_key() || o.tls_server_name() != t.tls_server_name())) {
          return invalid_argument_error(at + ".transport: the TLS fields differ from connectors[" +
                                        std::to_string(j) + "]'s for the same tcp " + q(a));
        }
      }
    } else {
      if (!t.tls_ca().empty() || !t.tls_cert().empty() || !t.tls_key().empty() ||
          !t.tls_server_name().empty()) {
        return invalid_argument_error(at + ".transport.tls_ca: TLS is for a tcp transport");
      }
      conn.socket = resolve(base_dir, t.unix());
    }
    conn.channel = sc.transport().channel();
    s.connectors.push_back(std::move(conn));
  }

  engine::EngineConfig& e = s.engine;
  const v1::ServeEngine& se = c.engine();
  CHAKONG_RETURN_IF_ERROR(
      duration_field(se.control_deadline(), "engine.control_deadline", &e.control_deadline));
  CHAKONG_RETURN_IF_ERROR(duration_field(se.query_delay(), "engine.query_delay", &e.query_delay));
  CHAKONG_RETURN_IF_ERROR(
      duration_field(se.deduct_delay(), "engine.deduct_delay", &e.deduct_delay));
  CHAKONG_RETURN_IF_ERROR(
      duration_field(se.in_doubt_retry(), "engine.in_doubt_retry", &e.in_doubt_retry));
  if (se.has_termination_min_days()) {
    if (se.termination_min_days() < 0) {
      return invalid_argument_error("engine.termination_min_days: " +
                                    std::to_string(se.termination_min_days()) + " must be >= 0");
    }
    e.termination.min_days_since_filing = se.termination_min_days();
  }

  for (int i = 0; i < c.dispatch_size(); ++i) {
    const std::string at = "dispatch[" + std::to_string(i) + "]";
    const v1::ServeDispatch& d = c.dispatch(i);
    if (d.connector().empty()) return invalid_argument_error(at + ".connector: required");
    if (d.connector() != "*" && names.count(d.connector()) == 0) {
      return invalid_argument_error(at + ".connector: " + q(d.connector()) +
                                    " is not a configured connector");
    }
    engine::DispatcherConfig dc =
        d.connector() == "*" ? e.dispatch : e.dispatch_overrides[d.connector()];
    if (d.rate_per_second() != 0) dc.rate_per_second = d.rate_per_second();
    if (d.burst() != 0) dc.burst = d.burst();
    if (d.max_in_flight() != 0) dc.max_in_flight = d.max_in_flight();
    if (d.max_batch() != 0) dc.max_batch = d.max_batch();
    if (d.max_attempts() != 0) dc.max_attempts = d.max_attempts();
    if (d.breaker_failures() != 0) dc.breaker_failures = d.breaker_failures();
    CHAKONG_RETURN_IF_ERROR(
        duration_field(d.breaker_cooldown(), at + ".breaker_cooldown", &dc.breaker_cooldown));
    CHAKONG_RETURN_IF_ERROR(duration_field(d.linger(), at + ".linger", &dc.linger));
    CHAKONG_RETURN_IF_ERROR(duration_field(d.timeout(), at + ".timeout", &dc.timeout));
    if (Status v = engine::validate(dc); !v.ok()) {
      return invalid_argument_error(at + ": " + std::string(v.message()));
    }
    if (d.connector() == "*") {
      e.dispatch = dc;
    } else {
      e.dispatch_overrides[d.connector()] = dc;
    }
  }
  if (Status v = engine::validate(e); !v.ok()) {
    return invalid_argument_error("engine: " + std::string(v.message()));
  }
  return ok_status();
}

}  // namespace

StatusOr<TimeUs> parse_service_duration(std::string_view text) {
  const Status bad =
      invalid_argument_error(q(text) + " is not a duration (use 250ms, 90s, 30m, 6h or 2d)");
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return bad;
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  if (unit == "ms") return n * 1000;
  if (unit == "s") return n * kMicrosPerSecond;
  if (unit == "m") return n * kMicrosPerMinute;
  if (unit == "h") return n * kMicrosPerHour;
  if (unit == "d") return n * kMicrosPerDay;
  return bad;
}

bool is_loopback_address(std::string_view address) {
  if (address.starts_with("unix:")) return true;
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = address.substr(0, colon);
  return host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

StatusOr<ServeSettings> parse_serve_config(std::string_view yaml, const std::string& file,
                                           const std::string& base_dir,
                                           const connectors::ConnectorRegistry& registry) {
  ServeSettings s;
  s.file = file;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return invalid_argument_error(file + ": not valid YAML: " + e.what());
  }
  if (Status st = parse(root, base_dir, registry, s); !st.ok()) {
    return Status(st.code(), file + ": " + std::string(st.message()));
  }
  return s;
}

StatusOr<ServeSettings> load_serve_config(const std::string& path,
                                          const connectors::ConnectorRegistry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found_error(path + ": cannot read the config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_serve_config(ss.str(), path, std::filesystem::path(path).parent_path().string(),
                            registry);
}

}  // namespace chakong::service
