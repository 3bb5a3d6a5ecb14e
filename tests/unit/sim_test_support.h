// Helpers shared by the simulator's unit tests (tests/unit/sim_*_test.cpp): requests as the
// FIX adapter would hand them to the engine, and a compact trace of what the engine produced.
// Test code only; no QuickFIX, no clock.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sim/config.h"
#include "sim/decimal.h"
#include "sim/engine.h"
#include "sim/rules.h"

namespace brokergw::sim {
// Lets GoogleTest print decimals as "187.25" instead of their bytes.
inline void PrintTo(Fixed value, std::ostream* os) { *os << value.to_string(); }
}  // namespace brokergw::sim

namespace brokergw::sim::simtest {

inline Fixed D(std::string_view text) {
  const auto value = Fixed::parse(text, true);
  EXPECT_TRUE(value) << text;
  return value.value_or(Fixed{});
}

inline NewOrderIn new_order(std::string cl_ord_id, std::string symbol = "AAPL",
                            std::string qty = "10",
                            std::optional<std::string> price = std::nullopt) {
  NewOrderIn in;
  in.cl_ord_id = std::move(cl_ord_id);
  in.account = "ACC1";
  in.symbol = std::move(symbol);
  in.side = kSideBuy;
  in.ord_type = price ? '2' : '1';
  in.order_qty = std::move(qty);
  in.price = std::move(price);
  return in;
}

inline CancelIn cancel(std::string cl_ord_id, std::string orig) {
  CancelIn in;
  in.cl_ord_id = std::move(cl_ord_id);
  in.orig_cl_ord_id = std::move(orig);
  in.symbol = "AAPL";
  return in;
}

inline StatusIn status(std::string cl_ord_id) {
  StatusIn in;
  in.cl_ord_id = std::move(cl_ord_id);
  in.symbol = "AAPL";
  in.ord_status_req_id = "Q1";
  return in;
}

inline const ExecReportOut& er(const std::vector<Outgoing>& out, std::size_t i) {
  return std::get<ExecReportOut>(out.at(i));
}

inline Rule rule_for(std::string symbol, Action action) {
  Rule rule;
  rule.name = symbol;
  rule.match.symbol = std::move(symbol);
  rule.action = std::move(action);
  return rule;
}

inline MassStatusIn mass_status_all() {
  MassStatusIn in;
  in.mass_status_req_id = "M0";
  in.mass_status_req_type = 7;
  return in;
}

inline std::vector<const ExecReportOut*> reports(const std::vector<Outgoing>& out) {
  std::vector<const ExecReportOut*> r;
  for (const Outgoing& o : out) {
    if (const auto* e = std::get_if<ExecReportOut>(&o)) r.push_back(e);
  }
  return r;
}

// A compact trace of what the engine produced: "0" ack, "F" fill, "8" reject, "4" canceled,
// "I" status, "H" bust, "G" correction, "D" restatement (ExecType letters), "+p" plain copy, "+d"
// PossDup copy, "X" disconnect, "S<n>" skip, "j" business reject, "9" cancel reject, "n" and
// "w" a log notice (info, warning).
inline std::string trace(const std::vector<Outgoing>& out) {
  std::string t;
  for (const Outgoing& o : out) {
    if (!t.empty()) t += ' ';
    if (const auto* e = std::get_if<ExecReportOut>(&o)) {
      t += e->copy == ReportCopy::kPlainCopy     ? "+p"
           : e->copy == ReportCopy::kPossDupCopy ? "+d"
                                                 : std::string(1, e->exec_type);
    } else if (std::holds_alternative<DisconnectOut>(o)) {
      t += 'X';
    } else if (const auto* skip = std::get_if<SkipSeqNumsOut>(&o)) {
      t += "S" + std::to_string(skip->count);
    } else if (std::holds_alternative<BusinessRejectOut>(o)) {
      t += 'j';
    } else if (const auto* notice = std::get_if<NoticeOut>(&o)) {
      t += notice->warning ? "w" : "n";
    } else {
      t += '9';
    }
  }
  return t;
}

inline Engine engine_with(Action action, std::string symbol = "AAPL") {
  EngineOptions options;
  options.rules.push_back(rule_for(std::move(symbol), std::move(action)));
  return Engine(std::move(options));
}

// Configuration text as brokersim reads it, from /etc/brokersim/test.toml.
inline tl::expected<SimConfig, std::string> parse(const std::string& text) {
  return parse_config(text, "/etc/brokersim", "test.toml");
}

inline const std::string kMinimal =
    "port = 9878\n"
    "data_dictionary = \"dict.xml\"\n"
    "state_dir = \"/tmp/sim-state\"\n";

// The configuration is refused with an error containing `fragment` (the key and the reason).
inline void expect_error(const std::string& text, const std::string& fragment) {
  const auto c = parse(text);
  ASSERT_FALSE(c) << "accepted: " << text;
  EXPECT_NE(c.error().find(fragment), std::string::npos) << c.error();
}

}  // namespace brokergw::sim::simtest
