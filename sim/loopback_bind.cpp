#include "sim/loopback_bind.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace brokergw::sim::loopback_bind {
namespace {

std::atomic<std::uint32_t> g_address{0};  // network order; 0 = not armed
std::atomic<std::uint16_t> g_port{0};     // host order
std::atomic<bool> g_rewritten{false};

using BindFn = int (*)(int, const sockaddr*, socklen_t);

BindFn real_bind() {
  static const BindFn fn = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  return fn;
}

}  // namespace

void arm(std::uint32_t ipv4_loopback_network_order, std::uint16_t port) {
  g_port.store(port);
  g_address.store(ipv4_loopback_network_order);
}

bool listener_was_rewritten() { return g_rewritten.load(); }

}  // namespace brokergw::sim::loopback_bind

// Interposes libc's bind() for the whole process (see loopback_bind.h for why).
extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  using namespace brokergw::sim::loopback_bind;
  const BindFn real = real_bind();
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const std::uint32_t address = g_address.load();
  if (address != 0 && addr != nullptr && addr->sa_family == AF_INET &&
      len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    if (in.sin_addr.s_addr == htonl(INADDR_ANY) && ntohs(in.sin_port) == g_port.load()) {
      in.sin_addr.s_addr = address;
      const int rc = real(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
      if (rc == 0) g_rewritten.store(true);
      return rc;
    }
  }
  return real(fd, addr, len);
}
