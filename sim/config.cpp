#include "sim/config.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <toml++/toml.h>

namespace brokergw::sim {
namespace {

// Internal only: thrown by the readers below, caught in parse_config and returned as a value.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::array kTopLevelKeys{
    "listen_address",
    "port",
    "sender_comp_id",
    "target_comp_id",
    "data_dictionary",
    "state_dir",
    "journal_file",
    "log_file",
    "log_level",
    "reset_on_logon",
    "logon_username",
    "logon_password",
    "max_orders",
    "max_inbound_queue",
    "poss_resend_duplicate",
    "status_requests",
    "resent_cancel",
    "skip_seq_nums",
    "exec_ids",
    "status_exec_id",
    "resend",
    "reset_seq_on_start",
    "control_file",
    "rules",
};

constexpr std::array kRuleKeys{
    "name",
    "symbol",
    "account",
    "side",
    "min_qty",
    "max_qty",
    "action",
    "fills",
    "fill_price",
    "price_step",
    "reason",
    "ord_rej_reason",
    "ack_delay_ms",
    "fill_interval_ms",
    "duplicate_reports",
    "out_of_order",
    "disconnect",
    "disconnect_every",
    "skip_seq_after",
    "answer_status",
    "extra_tags",
    "field_order",
};

constexpr std::array<std::pair<std::string_view, ExecIdStyle>, 2> kExecIdNames{{
    {"unique", ExecIdStyle::kUnique},
    {"restart", ExecIdStyle::kRestart},
}};

constexpr std::array<std::pair<std::string_view, StatusExecId>, 2> kStatusExecIdNames{{
    {"fresh", StatusExecId::kFresh},
    {"zero", StatusExecId::kZero},
}};

constexpr std::array<std::pair<std::string_view, ResendPolicy>, 2> kResendNames{{
    {"replay", ResendPolicy::kReplay},
    {"gap_fill", ResendPolicy::kGapFill},
}};

template <std::size_t N>
void reject_unknown_keys(const toml::table& table, const std::array<const char*, N>& known,
                         const std::string& where) {
  for (const auto& [key, node] : table) {
    bool ok = false;
    for (const char* k : known) ok = ok || key.str() == k;
    if (!ok) {
      throw ConfigError(where + std::string(key.str()) + ": unknown key");
    }
  }
}

class Reader {
 public:
  Reader(const toml::table& table, std::string prefix)
      : table_(table), prefix_(std::move(prefix)) {}

  bool has(std::string_view key) const { return table_.contains(key); }
  std::string name(std::string_view key) const { return prefix_ + std::string(key); }
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw ConfigError(name(key) + ": " + what);
  }

  std::optional<std::string> string(std::string_view key, bool allow_empty = false) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    const auto value = node->value<std::string>();
    if (!node->is_string() || !value) fail(key, "must be a string");
    if (!allow_empty && value->empty()) fail(key, "must not be empty");
    return value;
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                      std::int64_t max) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    if (!node->is_integer()) fail(key, "must be an integer");
    const std::int64_t v = *node->value<std::int64_t>();
    if (v < min || v > max) {
      fail(key, "must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                    std::to_string(v));
    }
    return v;
  }

  std::optional<bool> boolean(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    if (!node->is_boolean()) fail(key, "must be true or false");
    return *node->value<bool>();
  }

  // One of a fixed set of names; the error lists them.
  template <typename Enum, std::size_t N>
  std::optional<Enum> choice(std::string_view key,
                             const std::array<std::pair<std::string_view, Enum>, N>& names) const {
    const auto text = string(key);
    if (!text) return std::nullopt;
    for (const auto& [name, value] : names) {
      if (name == *text) return value;
    }
    std::string list;
    for (std::size_t i = 0; i < N; ++i) {
      list += (i == 0       ? ""
               : i + 1 == N ? " or "
                            : ", ") +
              ("\"" + std::string(names[i].first) + "\"");
    }
    fail(key, "must be " + list + ", got \"" + *text + "\"");
  }

  // A decimal as a string ("187.25") or an integer (100). Floats are refused: 0.1 is not exact.
  std::optional<Fixed> decimal(std::string_view key, bool allow_negative) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    std::string text;
    if (node->is_integer()) {
      text = std::to_string(*node->value<std::int64_t>());
    } else if (node->is_string()) {
      text = *node->value<std::string>();
    } else if (node->is_floating_point()) {
      fail(key, "write decimals as strings (e.g. \"0.01\"): TOML floats are not exact");
    } else {
      fail(key, "must be a decimal string such as \"187.25\"");
    }
    const auto value = Fixed::parse(text, allow_negative);
    if (!value) {
      fail(key, "\"" + text + "\" is not a " + (allow_negative ? "" : "non-negative ") +
                    "decimal with at most 8 fraction digits");
    }
    return value;
  }

 private:
  const toml::table& table_;
  std::string prefix_;
};

// One extra_tags entry, "<tag>=<value>": the tag in decimal without sign or leading zero, the
// value everything after the first '=' (it may contain '=' and '|').
ExtraTag parse_extra_tag(const std::string& text, const std::string& where) {
  const std::string quoted = where + ": \"" + text + "\": ";
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) throw ConfigError(quoted + "must be \"<tag>=<value>\"");
  const std::string digits = text.substr(0, eq);
  ExtraTag extra;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), extra.tag);
  if (digits.empty() || digits.front() < '1' || digits.front() > '9' || ec != std::errc() ||
      end != digits.data() + digits.size()) {
    throw ConfigError(quoted + "the tag must be a positive integer without leading zeros");
  }
  if (const auto refusal = extra_tag_refusal(extra.tag)) throw ConfigError(quoted + *refusal);
  extra.value = text.substr(eq + 1);
  if (extra.value.empty()) throw ConfigError(quoted + "the value must not be empty");
  if (extra.value.find('\x01') != std::string::npos) {
    throw ConfigError(quoted + "the value must not contain SOH");
  }
  return extra;
}

std::vector<ExtraTag> parse_extra_tags(const toml::table& table, const std::string& where) {
  std::vector<ExtraTag> out;
  const toml::node* node = table.get("extra_tags");
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array) throw ConfigError(where + ": must be an array of \"<tag>=<value>\" strings");
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string entry = where + "[" + std::to_string(i) + "]";
    const auto text = (*array)[i].value<std::string>();
    if (!(*array)[i].is_string() || !text) {
      throw ConfigError(entry + ": must be a string \"<tag>=<value>\"");
    }
    ExtraTag extra = parse_extra_tag(*text, entry);
    for (const ExtraTag& earlier : out) {
      if (earlier.tag == extra.tag) {
        throw ConfigError(entry + ": tag " + std::to_string(extra.tag) + " given twice");
      }
    }
    out.push_back(std::move(extra));
  }
  return out;
}

std::filesystem::path resolve(const std::filesystem::path& base_dir, const std::string& value) {
  std::filesystem::path p(value);
  if (p.is_relative()) p = std::filesystem::absolute(base_dir) / p;
  return p.lexically_normal();
}

// `skip_seq_default`: the value of skip_seq_after when the rule does not set it (true when the
// global skip_seq_nums is set).
Rule parse_rule(const toml::table& table, std::size_t index, bool skip_seq_default) {
  const std::string where = "rules[" + std::to_string(index) + "].";
  reject_unknown_keys(table, kRuleKeys, where);
  const Reader r(table, where);

  Rule rule;
  rule.name = r.string("name").value_or("rules[" + std::to_string(index) + "]");
  rule.match.symbol = r.string("symbol");
  rule.match.account = r.string("account");
  if (const auto side = r.string("side")) {
    rule.match.side = side_from_name(*side);
    if (!rule.match.side) r.fail("side", "must be buy, sell, sell_short or sell_short_exempt");
  }
  rule.match.min_qty = r.decimal("min_qty", false);
  rule.match.max_qty = r.decimal("max_qty", false);
  if (rule.match.min_qty && rule.match.max_qty && *rule.match.min_qty > *rule.match.max_qty) {
    r.fail("min_qty", "must not exceed max_qty");
  }

  const auto action = r.string("action");
  if (!action) r.fail("action", "missing (fill, reject, ack or silent)");
  const auto kind = action_from_name(*action);
  if (!kind) r.fail("action", "\"" + *action + "\" is not one of fill, reject, ack, silent");
  rule.action.kind = *kind;

  // Keys that only make sense for some actions are refused elsewhere, so a rule cannot carry
  // settings that silently do nothing.
  auto only_for = [&](std::string_view key, std::initializer_list<ActionKind> kinds) {
    if (!r.has(key)) return;
    for (ActionKind k : kinds) {
      if (k == rule.action.kind) return;
    }
    r.fail(key, "not used by action \"" + *action + "\"");
  };
  only_for("fills", {ActionKind::kFill});
  only_for("fill_price", {ActionKind::kFill});
  only_for("price_step", {ActionKind::kFill});
  only_for("fill_interval_ms", {ActionKind::kFill});
  only_for("reason", {ActionKind::kReject});
  only_for("ord_rej_reason", {ActionKind::kReject});
  only_for("ack_delay_ms", {ActionKind::kFill, ActionKind::kAck, ActionKind::kReject});
  only_for("out_of_order", {ActionKind::kFill});
  only_for("skip_seq_after", {ActionKind::kFill, ActionKind::kAck, ActionKind::kReject});

  rule.action.fills = static_cast<int>(r.integer("fills", 1, kMaxFills).value_or(1));
  rule.action.fill_price = r.decimal("fill_price", false);
  if (rule.action.fill_price && !rule.action.fill_price->is_positive()) {
    r.fail("fill_price", "must be positive");
  }
  rule.action.price_step = r.decimal("price_step", true).value_or(Fixed{});
  if (const auto reason = r.string("reason")) rule.action.reject_text = *reason;
  rule.action.ord_rej_reason = static_cast<int>(r.integer("ord_rej_reason", 0, 99).value_or(0));
  rule.action.ack_delay_ms = r.integer("ack_delay_ms", 0, kMaxDelayMs).value_or(0);
  rule.action.fill_interval_ms = r.integer("fill_interval_ms", 0, kMaxDelayMs).value_or(0);

  if (const auto mode = r.string("duplicate_reports")) {
    const auto parsed = duplicate_reports_from_name(*mode);
    if (!parsed) r.fail("duplicate_reports", "must be \"plain\", \"possdup\" or \"both\"");
    rule.action.duplicate_reports = *parsed;
  }
  rule.action.out_of_order = r.boolean("out_of_order").value_or(false);
  if (const auto mode = r.string("disconnect")) {
    const auto parsed = disconnect_mode_from_name(*mode);
    if (!parsed || *parsed == DisconnectMode::kNone) {
      r.fail("disconnect", "must be \"before_placing\" or \"after_placing\"");
    }
    rule.action.disconnect = *parsed;
  }
  if (r.has("disconnect_every") && rule.action.disconnect == DisconnectMode::kNone) {
    r.fail("disconnect_every", "needs disconnect = \"before_placing\" or \"after_placing\"");
  }
  rule.action.disconnect_every = r.boolean("disconnect_every").value_or(false);
  rule.action.answer_status = r.boolean("answer_status").value_or(true);
  rule.action.extra_tags = parse_extra_tags(table, r.name("extra_tags"));
  if (const auto order = r.string("field_order")) {
    const auto parsed = field_order_from_name(*order);
    if (!parsed) {
      r.fail("field_order",
             "must be \"tag\", \"reversed\" or \"extra_first\", got \"" + *order + "\"");
    }
    if (*parsed == FieldOrder::kExtraFirst && rule.action.extra_tags.empty()) {
      r.fail("field_order", "\"extra_first\" needs extra_tags");
    }
    rule.action.field_order = *parsed;
  }
  // A silent order sends no ack, so there is nothing to skip after.
  rule.action.skip_seq_after =
      r.boolean("skip_seq_after")
          .value_or(skip_seq_default && rule.action.kind != ActionKind::kSilent);
  return rule;
}

SimConfig parse_table(const toml::table& root, const std::filesystem::path& base_dir) {
  reject_unknown_keys(root, kTopLevelKeys, "");
  const Reader r(root, "");
  SimConfig c;

  c.listen_address = r.string("listen_address").value_or(c.listen_address);
  if (!is_loopback_ipv4(c.listen_address)) {
    r.fail("listen_address",
           "must be an IPv4 loopback address (127.x.y.z), got \"" + c.listen_address + "\"");
  }
  const auto port = r.integer("port", 1, 65535);
  if (!port) r.fail("port", "missing");
  c.port = static_cast<int>(*port);
  c.sender_comp_id = r.string("sender_comp_id").value_or(c.sender_comp_id);
  c.target_comp_id = r.string("target_comp_id").value_or(c.target_comp_id);

  const auto dictionary = r.string("data_dictionary");
  if (!dictionary) r.fail("data_dictionary", "missing (path to fixspec/FIX44.brokergw.xml)");
  c.data_dictionary = resolve(base_dir, *dictionary);
  const auto state_dir = r.string("state_dir");
  if (!state_dir) r.fail("state_dir", "missing");
  c.state_dir = resolve(base_dir, *state_dir);
  c.journal_file = r.has("journal_file") ? resolve(base_dir, *r.string("journal_file"))
                                         : c.state_dir / "journal.jsonl";
  if (r.has("log_file")) c.log_file = resolve(base_dir, *r.string("log_file"));

  c.log_level = r.string("log_level").value_or(c.log_level);
  constexpr std::array kLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || c.log_level == l;
  if (!level_ok) r.fail("log_level", "must be trace, debug, info, warn, error, critical or off");

  c.reset_on_logon = r.boolean("reset_on_logon").value_or(false);
  c.logon_username = r.string("logon_username").value_or("");
  c.logon_password = r.string("logon_password").value_or("");
  c.max_orders = static_cast<std::size_t>(
      r.integer("max_orders", 1, 100'000'000).value_or(static_cast<std::int64_t>(c.max_orders)));
  c.max_inbound_queue =
      static_cast<std::size_t>(r.integer("max_inbound_queue", 1, 1'000'000)
                                   .value_or(static_cast<std::int64_t>(c.max_inbound_queue)));
  if (const auto policy = r.string("poss_resend_duplicate")) {
    if (*policy == "reject") {
      c.poss_resend_duplicate = PossResendDuplicatePolicy::kReject;
    } else if (*policy == "status") {
      c.poss_resend_duplicate = PossResendDuplicatePolicy::kStatus;
    } else {
      r.fail("poss_resend_duplicate", "must be \"reject\" or \"status\"");
    }
  }

  if (const auto policy = r.string("status_requests")) {
    if (*policy == "answer") {
      c.status_requests = StatusRequestPolicy::kAnswer;
    } else if (*policy == "unsupported") {
      c.status_requests = StatusRequestPolicy::kUnsupported;
    } else {
      r.fail("status_requests", "must be \"answer\" or \"unsupported\"");
    }
  }
  if (const auto policy = r.string("resent_cancel")) {
    if (*policy == "too_late") {
      c.resent_cancel = ResentCancelPolicy::kTooLate;
    } else if (*policy == "duplicate") {
      c.resent_cancel = ResentCancelPolicy::kDuplicate;
    } else {
      r.fail("resent_cancel", "must be \"too_late\" or \"duplicate\"");
    }
  }

  if (const auto skip = r.integer("skip_seq_nums", 1, kMaxSkipSeqNums)) {
    c.skip_seq_nums = *skip;
    c.skip_seq_all_orders = true;
  }
  c.exec_ids = r.choice("exec_ids", kExecIdNames).value_or(c.exec_ids);
  c.status_exec_id = r.choice("status_exec_id", kStatusExecIdNames).value_or(c.status_exec_id);
  c.resend = r.choice("resend", kResendNames).value_or(c.resend);
  c.reset_seq_on_start = r.boolean("reset_seq_on_start").value_or(false);
  if (r.has("control_file")) c.control_file = resolve(base_dir, *r.string("control_file"));

  if (const toml::node* rules = root.get("rules")) {
    const toml::array* array = rules->as_array();
    if (!array) r.fail("rules", "must be an array of tables ([[rules]])");
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::table* table = (*array)[i].as_table();
      if (!table) r.fail("rules", "entry " + std::to_string(i) + " is not a table");
      c.rules.push_back(parse_rule(*table, i, c.skip_seq_all_orders));
    }
  }
  return c;
}

}  // namespace

bool is_loopback_ipv4(std::string_view address) {
  int parts = 0;
  int first = -1;
  std::size_t pos = 0;
  while (pos <= address.size()) {
    const std::size_t end = std::min(address.find('.', pos), address.size());
    const std::string_view part = address.substr(pos, end - pos);
    if (part.empty() || part.size() > 3) return false;
    int value = 0;
    for (char ch : part) {
      if (ch < '0' || ch > '9') return false;
      value = value * 10 + (ch - '0');
    }
    if (value > 255) return false;
    if (parts == 0) first = value;
    ++parts;
    pos = end + 1;
  }
  return parts == 4 && first == 127;
}

tl::expected<SimConfig, std::string> parse_config(std::string_view toml_text,
                                                  const std::filesystem::path& base_dir,
                                                  std::string_view source) {
  try {
    const toml::table root = toml::parse(toml_text, source);
    return parse_table(root, base_dir);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return tl::make_unexpected(out.str());
  } catch (const ConfigError& e) {
    return tl::make_unexpected(std::string(source) + ": " + e.what());
  }
}

tl::expected<SimConfig, std::string> load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return tl::make_unexpected(file.string() + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::filesystem::path base_dir = std::filesystem::absolute(file).parent_path();
  return parse_config(text.str(), base_dir, file.string());
}

}  // namespace brokergw::sim
