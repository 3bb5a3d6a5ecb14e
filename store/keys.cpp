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

Result<std::string> exec_key(std::string_view broker, std::string_view client_order_id,
                             std::string_view exec_id) {
  std::string id(client_order_id);
  id.push_back('\0');
  id.append(exec_id);
  return broker_key(broker, id);
}

bool matches(const OrderFilter& f, const core::Order& o) {
  if (f.discrepancy) {
    const bool missing = core::fills_missing(o);
    switch (*f.discrepancy) {
      case Discrepancy::kAny:
        if (!missing && !o.unverified) return false;
        break;
      case Discrepancy::kFillsMissing:
        if (!missing) return false;
        break;
      case Discrepancy::kUnverified:
        if (!o.unverified) return false;
        break;
    }
  }
  return (!f.account || *f.account == o.request.account) &&
         (!f.broker || *f.broker == o.request.broker) &&
         (!f.symbol || *f.symbol == o.request.symbol) && (!f.state || *f.state == o.state);
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
