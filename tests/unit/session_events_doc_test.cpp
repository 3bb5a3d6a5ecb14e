// docs/EVENTS.md lists, between <!-- session-event-types --> markers, exactly the session event
// types of gateway/events/session_events.h (its one name table), each once; the names read back.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "gateway/events/session_events.h"

namespace brokergw::events {
namespace {

std::map<std::string, int> listed_types() {
  std::ifstream in(std::string(BROKERGW_SOURCE_DIR) + "/docs/EVENTS.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- session-event-types -->", end = "<!-- /session-event-types -->";
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  std::map<std::string, int> out;
  if (b == std::string::npos || e == std::string::npos || e < b) return out;
  std::istringstream lines(doc.substr(b + begin.size(), e - b - begin.size()));
  std::string line;
  while (std::getline(lines, line)) {
    // Body rows start with "| `name` |"; the header and separator rows do not.
    if (line.rfind("| `", 0) != 0) continue;
    const auto close = line.find('`', 3);
    if (close != std::string::npos) ++out[line.substr(3, close - 3)];
  }
  return out;
}

TEST(SessionEventsDoc, listsEverySessionEventTypeOnce) {
  const auto listed = listed_types();
  ASSERT_FALSE(listed.empty()) << "docs/EVENTS.md: no <!-- session-event-types --> table";
  for (int i = 0; i < kSessionEventTypeCount; ++i) {
    const std::string name(to_string(static_cast<SessionEventType>(i)));
    EXPECT_NE(name, "?") << "value " << i << " has no name";
    auto it = listed.find(name);
    EXPECT_TRUE(it != listed.end()) << "docs/EVENTS.md does not list `" << name << "`";
    if (it != listed.end()) EXPECT_EQ(it->second, 1) << "`" << name << "` listed more than once";
  }
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kSessionEventTypeCount))
      << "docs/EVENTS.md lists a session event type the code never produces";
}

TEST(SessionEventsDoc, namesReadBack) {
  for (int i = 0; i < kSessionEventTypeCount; ++i) {
    const auto t = static_cast<SessionEventType>(i);
    EXPECT_EQ(session_event_type_from_string(to_string(t)), t);
  }
  EXPECT_FALSE(session_event_type_from_string("order.fill"));
}

}  // namespace
}  // namespace brokergw::events
