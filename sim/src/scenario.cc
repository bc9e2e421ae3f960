#include "chakong/sim/scenario.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace chakong::sim {
namespace {

namespace pb = google::protobuf;

std::string scalar_text(const YAML::Node& n) {
  try {
    return n.as<std::string>();
  } catch (const YAML::Exception&) {
    return "<not a scalar>";
  }
}

// A scenario's integers are decimal. yaml-cpp reads them through a stream that guesses the
// base, so `010` would be 8 (as in YAML 1.1) where YAML 1.2's core schema reads 10, and `0x10`
// 16; YAML 1.2's `0o10` it does not read at all. Refused rather than guessed: the value is
// named with what it would mean.
Status check_decimal_integer(const std::string& text, const std::string& at) {
  const size_t sign = !text.empty() && (text[0] == '+' || text[0] == '-') ? 1 : 0;
  const std::string body = text.substr(sign);
  if (body.size() < 2 || body[0] != '0') return ok_status();
  const std::string quoted = at + ": '" + text + "' ";
  const auto value = [&](const std::string& digits, int base) -> std::string {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(digits, &used, base);
    } catch (const std::exception&) {
      return "";
    }
    if (used != digits.size() || digits.empty()) return "";
    return (sign == 1 && text[0] == '-' ? "-" : "") + std::to_string(v);
  };
  const char b = body[1];
  const char* name = b == 'x' || b == 'X'   ? "a hexadecimal"
                     : b == 'o' || b == 'O' ? "an octal"
                     : b == 'b' || b == 'B' ? "a binary"
                                            : nullptr;
  if (name != nullptr) {
    const std::string v = value(body.substr(2), b == 'x' || b == 'X'   ? 16
                                                : b == 'b' || b == 'B' ? 2
                                                                       : 8);
    return invalid_argument_error(quoted + "is " + name + " integer: write integers in decimal" +
                                  (v.empty() ? "" : " (" + v + ")"));
  }
  const std::string decimal = value(body, 10), octal = value(body, 8);
  if (decimal.empty()) return ok_status();  // Not an integer at all: the type's own refusal.
  if (octal.empty()) {
    return invalid_argument_error(quoted + "has a leading zero: write " + decimal);
  }
  return invalid_argument_error(quoted + "has a leading zero, which YAML 1.1 reads as octal (" +
                                octal + ") and YAML 1.2 as decimal (" + decimal + "): write " +
                                octal + " or " + decimal);
}

// Maps a YAML mapping onto `msg` by field name; `path` names where we are.
Status fill(const YAML::Node& node, pb::Message* msg, const std::string& path) {
  if (!node.IsMap()) {
    return invalid_argument_error((path.empty() ? "the file" : path) + " must be a mapping");
  }
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  std::map<std::string, int> seen;  // Key -> its line (1-based), to refuse a repeated key.
  for (const auto& kv : node) {
    const std::string key = scalar_text(kv.first);
    const std::string at = path.empty() ? key : path + "." + key;
    const int line = kv.first.Mark().line + 1;
    if (auto [it, fresh] = seen.emplace(key, line); !fresh) {
      // YAML says a mapping's keys are unique; yaml-cpp would keep the last one silently.
      return invalid_argument_error(at + ": given twice (lines " + std::to_string(it->second) +
                                    " and " + std::to_string(line) + ")");
    }
    const pb::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      std::string known;
      for (int i = 0; i < d->field_count(); ++i) known += (i ? ", " : "") + d->field(i)->name();
      return invalid_argument_error(at + ": unknown field (known here: " + known + ")");
    }
    const YAML::Node& v = kv.second;
    if (f->is_repeated()) {
      if (!v.IsSequence()) return invalid_argument_error(at + ": must be a list");
      if (v.size() == 0) {  // As with '': `starts: []` would have meant the default dates.
        return invalid_argument_error(
            at + ": [] is an empty list: give items, or leave the field out for its default");
      }
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string item = at + "[" + std::to_string(i) + "]";
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
          if (!v[i].IsScalar()) return invalid_argument_error(item + ": must be a single value");
          r->AddString(msg, f, v[i].as<std::string>());
          continue;
        }
        if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          return invalid_argument_error(at + ": lists of numbers are not supported");
        }
        CHAKONG_RETURN_IF_ERROR(
            fill(v[i], r->AddMessage(msg, f), at + "[" + std::to_string(i) + "]"));
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
        case pb::FieldDescriptor::CPPTYPE_STRING:
          // An empty text would silently mean the default (a string has no presence): a value
          // given must be a value.
          if (text.empty()) {
            return invalid_argument_error(at + ": '' is empty (leave the field out for its " +
                                          "default)");
          }
          r->SetString(msg, f, text);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT32:
        case pb::FieldDescriptor::CPPTYPE_INT64:
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          CHAKONG_RETURN_IF_ERROR(check_decimal_integer(text, at));
          if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32) {
            r->SetInt32(msg, f, v.as<int32_t>());
          } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT64) {
            r->SetInt64(msg, f, v.as<int64_t>());
          } else {
            r->SetUInt64(msg, f, v.as<uint64_t>());
          }
          break;
        case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
          const double x = v.as<double>();
          if (!std::isfinite(x)) {  // .nan, .inf: YAML numbers that no rate or share can be.
            return invalid_argument_error(at + ": '" + text + "' is not a finite number");
          }
          r->SetDouble(msg, f, x);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(msg, f, v.as<bool>()); break;
        default: return invalid_argument_error(at + ": unsupported field type");
      }
    } catch (const YAML::Exception&) {
      return invalid_argument_error(at + ": '" + text + "' is not a valid " +
                                    std::string(f->cpp_type_name()));
    }
  }
  return ok_status();
}

}  // namespace

StatusOr<TimeUs> parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  const Status bad = invalid_argument_error(quoted + " is not a duration (use 90s, 30m, 6h or 2d)");
  if (text.size() < 2) return bad;
  const char unit = text.back();
  TimeUs scale;
  switch (unit) {
    case 's': scale = kMicrosPerSecond; break;
    case 'm': scale = kMicrosPerMinute; break;
    case 'h': scale = kMicrosPerHour; break;
    case 'd': scale = kMicrosPerDay; break;
    default: return bad;
  }
  const std::string number(text.substr(0, text.size() - 1));
  // Decimal only, as integers are: std::stod would also read 0x2 (so "0x2d" was two days),
  // hexadecimal floats, "inf" and "nan".
  if (number.find_first_not_of("0123456789.eE+-") != std::string::npos) return bad;
  size_t used = 0;
  double v;
  try {
    v = std::stod(number, &used);
  } catch (const std::exception&) {
    return bad;
  }
  if (used != number.size() || !(v >= 0)) return bad;
  // Bounded after scaling, whatever the unit: 300000000d must not wrap around to minutes.
  const double us = v * static_cast<double>(scale);
  if (!(us <= 3650.0 * static_cast<double>(kMicrosPerDay))) {
    return invalid_argument_error(quoted + " is longer than 3650d, the longest duration a " +
                                  "scenario takes");
  }
  return static_cast<TimeUs>(std::llround(us));
}

std::optional<OverrideParts> split_override(std::string_view spec) {
  int depth = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == '[') ++depth;
    if (spec[i] == ']') --depth;
    if (spec[i] == '=' && depth == 0) {
      if (i == 0) return std::nullopt;
      return OverrideParts{std::string(spec.substr(0, i)), std::string(spec.substr(i + 1))};
    }
  }
  return std::nullopt;
}

std::vector<std::string> split_values(std::string_view list) {
  std::vector<std::string> out(1);
  int depth = 0;
  char quote = 0;
  for (const char ch : list) {
    if (quote != 0) {
      if (ch == quote) quote = 0;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
    } else if (ch == '{' || ch == '[') {
      ++depth;
    } else if (ch == '}' || ch == ']') {
      --depth;
    } else if (ch == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += ch;
  }
  return out;
}

namespace {

// Applies one "path=value" override to the YAML tree (see parse_scenario_yaml).
Status apply_override(YAML::Node& root, const std::string& spec) {
  const std::string where = "--set '" + spec + "'";
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    return invalid_argument_error(where + ": must be path=value, e.g. engine.timeout=2d");
  }
  const std::optional<OverrideParts> parts = split_override(spec);
  if (!parts) return invalid_argument_error(where + ": must be path=value, e.g. engine.timeout=2d");
  const std::string& path = parts->path;
  YAML::Node value;
  try {
    value = YAML::Load(parts->value);
  } catch (const YAML::Exception& e) {
    return invalid_argument_error(where + ": the value is not valid YAML: " + e.what());
  }
  if (!root.IsMap()) return invalid_argument_error(where + ": the file is not a mapping");
  YAML::Node cur = root;  // Node handles: reset() rebinds, `=` would overwrite.
  size_t i = 0;
  while (i < path.size()) {
    size_t end = path.find_first_of(".[", i);
    const std::string key = path.substr(i, end == std::string::npos ? end : end - i);
    if (key.empty()) return invalid_argument_error(where + ": empty field name in '" + path + "'");
    i = end == std::string::npos ? path.size() : end;
    const bool last = i == path.size();
    if (last) {
      cur[key] = value;
      return ok_status();
    }
    if (!cur[key]) cur[key] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = cur[key];
    cur.reset(next);
    while (i < path.size() && path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) return invalid_argument_error(where + ": unclosed '['");
      const std::string sel = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (!cur.IsSequence()) {
        return invalid_argument_error(where + ": " + key + " is not a list");
      }
      YAML::Node item;
      const size_t is = sel.find('=');
      if (is == std::string::npos) {
        size_t used = 0;
        unsigned long n = 0;
        try {
          n = std::stoul(sel, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != sel.size() || sel.empty()) {
          return invalid_argument_error(where + ": [" + sel + "] is not an index or field=value");
        }
        if (n >= cur.size()) {
          return invalid_argument_error(where + ": " + key + " has " + std::to_string(cur.size()) +
                                        " items, no [" + sel + "]");
        }
        item.reset(cur[n]);
      } else {
        const std::string field = sel.substr(0, is), want = sel.substr(is + 1);
        std::vector<size_t> matches;  // (A default YAML::Node is a defined null, not "no node".)
        for (size_t k = 0; k < cur.size(); ++k) {
          const YAML::Node f = cur[k][field];
          if (f && f.IsScalar() && f.Scalar() == want) matches.push_back(k);
        }
        if (matches.empty()) {
          return invalid_argument_error(where + ": no item of " + key + " has " + field + " " +
                                        want);
        }
        if (matches.size() > 1) {
          // The first would be changed and the others silently not: say which are meant.
          std::string list;
          for (size_t m = 0; m < matches.size(); ++m) {
            list += (m == 0                    ? ""
                     : m + 1 == matches.size() ? " and "
                                               : ", ") +
                    std::to_string(matches[m]);
          }
          return invalid_argument_error(where + ": " + key + "[" + sel + "] matches items " + list +
                                        "; name one by its index (" + key + "[" +
                                        std::to_string(matches[0]) + "])");
        }
        item.reset(cur[matches[0]]);
      }
      cur.reset(item);
    }
    if (i == path.size()) {  // The path ends on a list item: replace it.
      cur = value;
      return ok_status();
    }
    if (path[i] != '.') return invalid_argument_error(where + ": expected '.' in '" + path + "'");
    ++i;
    if (!cur.IsMap()) return invalid_argument_error(where + ": " + key + " is not a mapping");
  }
  return invalid_argument_error(where + ": empty path");
}

}  // namespace

StatusOr<v1::Scenario> parse_scenario_yaml(std::string_view text, std::string_view source,
                                           const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return invalid_argument_error(std::string(source) + ": not valid YAML: " + e.what());
  }
  for (const std::string& o : overrides) {
    if (Status st = apply_override(root, o); !st.ok()) {
      return invalid_argument_error(std::string(source) + ": " + st.message());
    }
  }
  v1::Scenario s;
  if (Status st = fill(root, &s, ""); !st.ok()) {
    return invalid_argument_error(std::string(source) + ": " + st.message());
  }
  return s;
}

StatusOr<v1::Scenario> load_scenario_file(const std::string& path,
                                          const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) return not_found_error("cannot read scenario file '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_scenario_yaml(buf.str(), path, overrides);
}

}  // namespace chakong::sim
