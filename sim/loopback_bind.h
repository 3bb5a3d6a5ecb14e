// Keeps brokersim's FIX listener on a loopback address.
//
// QuickFIX 1.15.1's SocketAcceptor has no setting for the listen address: it always binds
// INADDR_ANY (0.0.0.0). brokersim must listen on loopback only, so brokersim defines its own
// bind() (loopback_bind.cpp), which the dynamic linker resolves ahead of libc's for
// libquickfix. Once armed, a bind of INADDR_ANY to the armed port is rewritten to the armed
// loopback address; every other bind passes through unchanged. main() checks
// listener_was_rewritten() after the acceptor starts and refuses to run if the rewrite did not
// happen, so brokersim can never listen on a public address by accident.
//
// Thread: arm() is called by main before the acceptor starts; bind() may run on any thread.
#pragma once

#include <cstdint>

namespace brokergw::sim::loopback_bind {

// ipv4_loopback_network_order: e.g. inet_addr("127.0.0.1"). port in host order.
void arm(std::uint32_t ipv4_loopback_network_order, std::uint16_t port);
bool listener_was_rewritten();

}  // namespace brokergw::sim::loopback_bind
