// The user documents against the core's name tables (gateway/core/resolution_names.cpp):
//  * docs/EVENTS.md lists, between markers, exactly the event types, reason codes and anomaly
//    reasons that core::to_string produces (every enum value from 0 to k...Count - 1, the empty
//    name of kNone excepted), each once, both ways;
//  * docs/RECOVERY.md names every schedule step and every report kind (as `name`).
// A failure names the missing, extra or repeated name.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/resolution.h"

namespace brokergw::core {
namespace {

std::string read_doc(std::string_view relative) {
  const std::string path = std::string(BROKERGW_SOURCE_DIR) + "/" + std::string(relative);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The cells of a Markdown table row ("| a | b |" -> {"a", "b"}).
std::vector<std::string_view> cells(std::string_view line) {
  line = trim(line);
  if (!line.empty() && line.front() == '|') line.remove_prefix(1);
  if (!line.empty() && line.back() == '|') line.remove_suffix(1);
  std::vector<std::string_view> out;
  while (true) {
    const auto bar = line.find('|');
    out.push_back(trim(line.substr(0, bar)));
    if (bar == std::string_view::npos) break;
    line.remove_prefix(bar + 1);
  }
  return out;
}

bool is_separator(std::string_view line) {
  for (std::string_view c : cells(line)) {
    if (c.empty()) return false;
    for (char ch : c) {
      if (ch != '-' && ch != ':') return false;
    }
  }
  return true;
}

struct DocTable {
  bool found = false;
  std::vector<std::string> names;      // first cell of every body row, backticks removed
  std::vector<std::string> malformed;  // body rows whose first cell is not one `name`
};

// The table between "<!-- marker -->" and "<!-- /marker -->": the header row (the one before
// the separator) and the separator are skipped; every other row's first cell is `name`.
DocTable table_between(const std::string& doc, std::string_view marker) {
  DocTable t;
  const std::string begin = "<!-- " + std::string(marker) + " -->";
  const std::string end = "<!-- /" + std::string(marker) + " -->";
  const auto b = doc.find(begin);
  if (b == std::string::npos) return t;
  const auto from = b + begin.size();
  const auto e = doc.find(end, from);
  if (e == std::string::npos) return t;
  t.found = true;
  std::istringstream lines(doc.substr(from, e - from));
  std::vector<std::string> rows;
  std::string line;
  while (std::getline(lines, line)) {
    if (trim(line).empty() || trim(line).front() != '|') continue;
    if (is_separator(line)) {
      if (!rows.empty()) rows.pop_back();  // the header
      continue;
    }
    rows.push_back(line);
  }
  for (const std::string& row : rows) {
    const std::string_view first = cells(row).front();
    if (first.size() < 3 || first.front() != '`' || first.back() != '`' ||
        first.substr(1, first.size() - 2).find('`') != std::string_view::npos) {
      t.malformed.push_back(row);
      continue;
    }
    t.names.emplace_back(first.substr(1, first.size() - 2));
  }
  return t;
}

template <class E>
std::set<std::string> names_of_every_value(int count) {
  std::set<std::string> out;
  for (int i = 0; i < count; ++i) {
    const std::string_view name = to_string(static_cast<E>(i));
    EXPECT_NE(name, "?") << "value " << i << " has no entry in its name table";
    if (!name.empty()) out.emplace(name);  // kNone
  }
  return out;
}

void expect_same_names(const std::string& doc, std::string_view marker, std::string_view what,
                       const std::set<std::string>& code) {
  const DocTable t = table_between(doc, marker);
  ASSERT_TRUE(t.found) << "docs/EVENTS.md: no <!-- " << marker << " --> ... <!-- /" << marker
                       << " --> block (" << what << ")";
  for (const std::string& row : t.malformed) {
    ADD_FAILURE() << "docs/EVENTS.md, " << what << ": the first cell of this row is not one "
                  << "`name`:\n"
                  << row;
  }
  std::map<std::string, int> listed;
  for (const std::string& n : t.names) ++listed[n];
  for (const auto& [n, times] : listed) {
    if (times > 1) {
      ADD_FAILURE() << "docs/EVENTS.md, " << what << ": `" << n << "` is listed " << times
                    << " times";
    }
    if (!code.contains(n)) {
      ADD_FAILURE() << "docs/EVENTS.md, " << what << ": lists `" << n
                    << "`, which core::to_string never produces (extra name)";
    }
  }
  for (const std::string& n : code) {
    if (!listed.contains(n)) {
      ADD_FAILURE() << "docs/EVENTS.md, " << what << ": `" << n
                    << "` is missing (core::to_string produces it)";
    }
  }
}

TEST(EventsDoc, ListsEveryEventType) {
  const std::string doc = read_doc("docs/EVENTS.md");
  const auto code = names_of_every_value<EventType>(kEventTypeCount);
  EXPECT_EQ(code.size(), static_cast<std::size_t>(kEventTypeCount - 1));  // all but kNone
  expect_same_names(doc, "event-types", "Event types", code);
}

TEST(EventsDoc, ListsEveryReasonCode) {
  const std::string doc = read_doc("docs/EVENTS.md");
  const auto code = names_of_every_value<Reason>(kReasonCount);
  EXPECT_EQ(code.size(), static_cast<std::size_t>(kReasonCount - 1));
  expect_same_names(doc, "reason-codes", "Reason codes", code);
}

TEST(EventsDoc, ListsEveryAnomalyReason) {
  const std::string doc = read_doc("docs/EVENTS.md");
  const auto code = names_of_every_value<AnomalyReason>(kAnomalyReasonCount);
  EXPECT_EQ(code.size(), static_cast<std::size_t>(kAnomalyReasonCount - 1));
  expect_same_names(doc, "anomaly-reasons", "Anomaly reasons", code);
}

TEST(EventsDoc, EventTypeNamesReadBack) {
  for (int i = 1; i < kEventTypeCount; ++i) {
    const auto t = static_cast<EventType>(i);
    EXPECT_EQ(event_type_from_string(to_string(t)), t) << to_string(t);
  }
}

TEST(RecoveryDoc, NamesEveryStepAndReportKind) {
  const std::string doc = read_doc("docs/RECOVERY.md");
  for (const std::string& n : names_of_every_value<Step>(kStepCount)) {
    EXPECT_NE(doc.find("`" + n + "`"), std::string::npos)
        << "docs/RECOVERY.md does not name the schedule step `" << n << "`";
  }
  for (const std::string& n : names_of_every_value<ReportKind>(kReportKindCount)) {
    EXPECT_NE(doc.find("`" + n + "`"), std::string::npos)
        << "docs/RECOVERY.md does not name the report kind `" << n << "`";
  }
}

}  // namespace
}  // namespace brokergw::core
