// sendmsg's and recvmsg's control messages for the shim's two kinds of stack sockets (the
// in-process ones of io_calls.cc and the shared stack's of remote_socket.cc): parsed and
// checked as ip_cmsg_send / ip6_datagram_send_ctl do, written as put_cmsg lays them out.
#pragma once

#include <sys/socket.h>

#include "stack/socket/socket.h"

namespace pytcp::shim {

// msg_control of a send into `anc`; 0 or the errno the kernel gives (EINVAL for a
// malformed or unknown SOL_IP/SOL_IPV6 message, EFAULT for an unreadable buffer).
int ParseSendControlMessages(const msghdr* msg, int domain, SendAncillary* anc);
// The control messages of `anc` into msg_control (msg_controllen set to what was
// written); MSG_CTRUNC into *out_flags when they do not fit.
void WriteControlMessages(const RecvAncillary& anc, int domain, msghdr* msg, int* out_flags);

}  // namespace pytcp::shim
