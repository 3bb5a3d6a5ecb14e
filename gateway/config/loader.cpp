// Loading and validation: load_config_file and load_config_string (config.h). Reads the file
// (at most 1 MiB), parses the TOML, walks the key table (key_table.h) for every section and
// broker, resolves relative paths against the file's directory, probes the files that must
// exist, and checks that no two brokers share a FIX session.
//
// Threads: the main thread at start-up (and --check-config); one Loader per call, nothing
// shared or cached across calls except the immutable tables.
//
// Invariants: every error is collected, not only the first, in table order; a TOML syntax
// error is reported alone (key ""); a Config is returned only when there is no error; values
// quoted in messages are escaped and truncated by printable(); secret files are opened but
// never read.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "gateway/config/config.h"
#include "gateway/config/key_table.h"

namespace brokergw::config {
namespace {

using detail::broker_section;
using detail::global_sections;
using detail::is_broker_name;
using detail::KeySpec;
using detail::KeyType;
using detail::PathCheck;
using detail::Presence;
using detail::Value;

namespace fs = std::filesystem;

// A config file larger than this is surely not a config file; refuse before parsing.
constexpr std::uintmax_t kMaxConfigBytes = 1024 * 1024;

// ---- Loading --------------------------------------------------------------------------------

// Keys and values come from the file; keep them printable and short in messages.
std::string printable(std::string_view s, std::size_t max_len = 64) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == max_len) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string quote_value(std::string_view s) { return "\"" + printable(s) + "\""; }

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown key", with the nearest known name when the key looks like a typo of it.
std::string unknown_key_reason(std::string_view key, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_distance = 3;  // more than two edits away is not a typo
  if (key.size() <= 64) {
    for (const auto& candidate : known) {
      // A truncated name ("password" for "password_file") is as likely a slip as a typo.
      const bool prefix = key.size() >= 4 && candidate.starts_with(key);
      const std::size_t d = prefix ? 1 : edit_distance(key, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    }
  }
  std::string reason = "unknown key";
  if (!best.empty()) reason += " (did you mean \"" + std::string(best) + "\"?)";
  return reason;
}

class Loader {
 public:
  explicit Loader(fs::path base_dir) : base_dir_(std::move(base_dir)) {}

  tl::expected<Config, std::vector<ConfigError>> load(const toml::table& root) {
    Config config;
    std::vector<std::string_view> top_names{"brokers"};
    for (const auto& section : global_sections()) top_names.push_back(section.name);

    for (const auto& [key, node] : root) {
      if (std::find(top_names.begin(), top_names.end(), key.str()) == top_names.end()) {
        error(printable(key.str()), unknown_key_reason(key.str(), top_names));
      } else if (!node.is_table()) {
        error(printable(key.str()), "must be a table, got " + std::string(type_name(node.type())));
      }
    }
    for (const auto& section : global_sections()) {
      const toml::node* node = root.get(section.name);
      load_table(node ? node->as_table() : nullptr, std::string(section.name) + ".", section.keys,
                 config);
    }
    load_brokers(root.get("brokers"), config);

    if (!errors_.empty()) return tl::unexpected(std::move(errors_));
    return config;
  }

 private:
  void error(std::string key, std::string reason) {
    errors_.push_back(ConfigError{std::move(key), std::move(reason)});
  }

  void load_brokers(const toml::node* node, Config& config) {
    constexpr std::string_view kNone =
        "at least one broker is required: add a [brokers.<name>] table";
    if (node == nullptr) return error("brokers", std::string(kNone));
    const toml::table* brokers = node->as_table();
    if (brokers == nullptr) return;  // already reported as "must be a table"
    if (brokers->empty()) return error("brokers", std::string(kNone));

    // QuickFIX identifies a session by BeginString:Sender->Target; two brokers must not share.
    std::map<std::string, std::string> session_owner;
    for (const auto& [key, value] : *brokers) {
      const std::string name(key.str());
      const std::string prefix = "brokers." + printable(name);
      const bool name_ok = is_broker_name(name);
      if (!name_ok) error(prefix, "broker name must be 1 to 32 characters of a-z 0-9 _ -");
      const toml::table* table = value.as_table();
      if (table == nullptr) {
        error(prefix, "must be a table, got " + std::string(type_name(value.type())));
        continue;
      }
      BrokerConfig broker;
      broker.name = name;
      const std::size_t errors_before = errors_.size();
      load_table(table, prefix + ".", broker_section().keys, broker);
      if (!name_ok || errors_.size() != errors_before) continue;

      const std::string session =
          broker.fix_version + ":" + broker.sender_comp_id + "->" + broker.target_comp_id;
      const auto [it, inserted] = session_owner.emplace(session, name);
      if (!inserted) {
        error(prefix,
              "FIX session " + printable(session) + " is already used by broker " + it->second);
      }
      config.brokers.push_back(std::move(broker));
    }
  }

  template <class Target>
  void load_table(const toml::table* table, const std::string& prefix,
                  const std::vector<KeySpec<Target>>& specs, Target& target) {
    if (table != nullptr) {
      std::vector<std::string_view> known;
      for (const auto& spec : specs) known.push_back(spec.name);
      for (const auto& [key, node] : *table) {
        if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
          error(prefix + printable(key.str()), unknown_key_reason(key.str(), known));
        }
      }
    }
    for (const auto& spec : specs) {
      const std::string full = prefix + std::string(spec.name);
      const toml::node* node = table != nullptr ? table->get(spec.name) : nullptr;
      if (node == nullptr) {
        if (spec.presence == Presence::kRequired) {
          error(full, "is required");
        } else if (spec.presence == Presence::kDefault) {
          spec.apply(target, default_value(spec));
        }
        continue;
      }
      if (auto value = read_value(spec, *node, full)) spec.apply(target, *value);
    }
  }

  template <class Target>
  Value default_value(const KeySpec<Target>& spec) const {
    Value v;
    v.integer = spec.default_int;
    v.boolean = spec.default_text == "true";
    v.text = spec.type == KeyType::kPath ? absolute(spec.default_text) : spec.default_text;
    return v;
  }

  std::string absolute(std::string_view path) const {
    fs::path p = (base_dir_ / fs::path(path)).lexically_normal();
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // "dir/" -> "dir"
    return p.string();
  }

  template <class Target>
  std::optional<Value> read_value(const KeySpec<Target>& spec, const toml::node& node,
                                  const std::string& full) {
    const std::string got = std::string(type_name(node.type()));
    Value v;
    switch (spec.type) {
      case KeyType::kInteger: {
        const auto* integer = node.as_integer();
        if (integer == nullptr) {
          error(full, "must be an integer, got " + got);
          return std::nullopt;
        }
        v.integer = integer->get();
        if (v.integer < spec.min || v.integer > spec.max) {
          error(full, "must be between " + std::to_string(spec.min) + " and " +
                          std::to_string(spec.max) + ", got " + std::to_string(v.integer));
          return std::nullopt;
        }
        return v;
      }
      case KeyType::kBool: {
        const auto* boolean = node.as_boolean();
        if (boolean == nullptr) {
          error(full, "must be true or false, got " + got);
          return std::nullopt;
        }
        v.boolean = boolean->get();
        return v;
      }
      case KeyType::kString:
      case KeyType::kPath:
        break;
    }
    const auto* string = node.as_string();
    if (string == nullptr) {
      error(full, "must be a string, got " + got);
      return std::nullopt;
    }
    const std::string& text = string->get();
    if (spec.type == KeyType::kPath) return read_path(spec, text, full);

    if (!spec.allowed.empty() &&
        std::find(spec.allowed.begin(), spec.allowed.end(), text) == spec.allowed.end()) {
      error(full, "must be one of " + join(spec.allowed, ", ") + ", got " + quote_value(text));
      return std::nullopt;
    }
    if (spec.check != nullptr && !spec.check(text)) {
      // allowed_doc is Markdown for the reference; messages read better without backticks.
      std::string rule(spec.allowed_doc);
      std::erase(rule, '`');
      error(full, "must be " + rule + ", got " + quote_value(text));
      return std::nullopt;
    }
    v.text = text;
    return v;
  }

  template <class Target>
  std::optional<Value> read_path(const KeySpec<Target>& spec, const std::string& text,
                                 const std::string& full) {
    if (text.empty()) {
      error(full, "must not be empty");
      return std::nullopt;
    }
    if (text.find('\0') != std::string::npos) {
      error(full, "must not contain NUL characters");
      return std::nullopt;
    }
    Value v;
    v.text = absolute(text);
    if (spec.path_check == PathCheck::kNone) return v;

    std::error_code ec;
    const auto status = fs::status(v.text, ec);
    if (!fs::exists(status)) {
      error(full, "file " + printable(v.text, 256) + " does not exist");
      return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
      error(full, printable(v.text, 256) + " is not a regular file");
      return std::nullopt;
    }
    // Opened only to prove the service can read it; the content (a secret) is not read.
    std::ifstream probe(v.text, std::ios::binary);
    if (!probe) {
      error(full, "file " + printable(v.text, 256) + " cannot be read: " + std::strerror(errno));
      return std::nullopt;
    }
    if (spec.path_check == PathCheck::kNonEmptyFile && fs::file_size(v.text, ec) == 0) {
      error(full, "file " + printable(v.text, 256) + " is empty");
      return std::nullopt;
    }
    return v;
  }

  fs::path base_dir_;
  std::vector<ConfigError> errors_;
};

tl::expected<Config, std::vector<ConfigError>> single_error(std::string reason) {
  return tl::unexpected(std::vector<ConfigError>{ConfigError{"", std::move(reason)}});
}

}  // namespace

tl::expected<Config, std::vector<ConfigError>> load_config_string(const std::string& text,
                                                                  const std::string& base_dir) {
  std::error_code ec;
  const fs::path base = fs::absolute(base_dir.empty() ? "." : base_dir, ec);
  if (ec) return single_error("cannot resolve directory " + printable(base_dir, 256));

  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view("config"));
  } catch (const toml::parse_error& e) {
    std::ostringstream reason;
    reason << "syntax error at line " << e.source().begin.line << ", column "
           << e.source().begin.column << ": " << e.description();
    return single_error(reason.str());
  }
  return Loader(base.lexically_normal()).load(root);
}

tl::expected<Config, std::vector<ConfigError>> load_config_file(const std::string& path) {
  std::error_code ec;
  const fs::path file = fs::absolute(path, ec).lexically_normal();
  if (ec) return single_error("cannot resolve config file path " + printable(path, 256));
  const std::string shown = printable(file.string(), 256);

  const auto size = fs::file_size(file, ec);
  if (ec) return single_error("cannot read config file " + shown + ": " + ec.message());
  if (size > kMaxConfigBytes) return single_error("config file " + shown + " is over 1 MiB");

  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return single_error("cannot read config file " + shown + ": " + std::strerror(errno));
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return single_error("cannot read config file " + shown);

  auto config = load_config_string(text, file.parent_path().string());
  if (config) config->config_path = file.string();
  return config;
}

}  // namespace brokergw::config
