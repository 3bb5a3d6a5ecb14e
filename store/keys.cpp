#include "store/keys.h"

#include <cstdio>

namespace brokergw::store::keys {

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 128)) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0) {
      out += '/';
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 128) out += "...";
  return out;
}

std::string broker_name_error(std::string_view broker) {
  if (broker.empty() || broker.find('\0') != std::string_view::npos) {
    return "invalid broker name \"" + printable(broker) + "\"";
  }
  return {};
}

Result<std::string> broker_key(std::string_view broker, std::string_view id) {
  if (std::string why = broker_name_error(broker); !why.empty()) {
    return store_error(StoreErrc::kAborted, std::move(why));
  }
  std::string key(broker);
  key.push_back('\0');
  key.append(id);
  return key;
}

std::string retry_id_error(std::string_view id, std::size_t max_key) {
  if (id.empty()) return "empty client_order_id";
  if (8 + id.size() > max_key) {
    return "client_order_id of " + std::to_string(id.size()) + " bytes; a retry key holds " +
           std::to_string(max_key - 8);
  }
  return {};
}

std::string session_id_error(std::string_view id, std::size_t max_key) {
  if (id.empty()) return "empty session id";
  if (id.find('\0') != std::string_view::npos) {
    return "session id \"" + printable(id) + "\" contains \\0";
  }
  if (id.size() + 5 > max_key) {
    return "session id of " + std::to_string(id.size()) + " bytes; a session key holds " +
           std::to_string(max_key - 5);
  }
  return {};
}

}  // namespace brokergw::store::keys
