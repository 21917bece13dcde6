// Issue 16 item 19: TcpInfo (stack/tcp/tcp_info.h) has the kernel's layout. This file
// includes <linux/tcp.h> (the kernel's uapi struct) and not glibc's <netinet/tcp.h>, whose
// struct tcp_info of the same name is the older 104 bytes.
#include <gtest/gtest.h>
#include <linux/tcp.h>

#include <cstddef>

#include "stack/tcp/tcp_info.h"

namespace pytcp::testing {
namespace {

#define PYTCP_SAME_OFFSET(field) \
  EXPECT_EQ(offsetof(TcpInfo, field), offsetof(struct tcp_info, field)) << #field

TEST(TcpInfoLayoutTest, FieldsSitWhereTheKernelHeaderPutsThem) {
  // Debian 12's header ends at tcpi_snd_wnd (232 bytes); newer ones are longer, and their
  // first 232 bytes are the same.
  ASSERT_GE(sizeof(struct tcp_info), kTcpInfoDebian12Size);
  PYTCP_SAME_OFFSET(tcpi_rto);
  PYTCP_SAME_OFFSET(tcpi_unacked);
  PYTCP_SAME_OFFSET(tcpi_last_data_sent);
  PYTCP_SAME_OFFSET(tcpi_pmtu);
  PYTCP_SAME_OFFSET(tcpi_rcv_rtt);
  PYTCP_SAME_OFFSET(tcpi_total_retrans);
  PYTCP_SAME_OFFSET(tcpi_pacing_rate);
  PYTCP_SAME_OFFSET(tcpi_max_pacing_rate);
  PYTCP_SAME_OFFSET(tcpi_bytes_acked);
  PYTCP_SAME_OFFSET(tcpi_bytes_received);
  PYTCP_SAME_OFFSET(tcpi_segs_out);
  PYTCP_SAME_OFFSET(tcpi_segs_in);
  PYTCP_SAME_OFFSET(tcpi_notsent_bytes);
  PYTCP_SAME_OFFSET(tcpi_min_rtt);
  PYTCP_SAME_OFFSET(tcpi_data_segs_in);
  PYTCP_SAME_OFFSET(tcpi_data_segs_out);
  PYTCP_SAME_OFFSET(tcpi_delivery_rate);
  PYTCP_SAME_OFFSET(tcpi_busy_time);
  PYTCP_SAME_OFFSET(tcpi_rwnd_limited);
  PYTCP_SAME_OFFSET(tcpi_sndbuf_limited);
  PYTCP_SAME_OFFSET(tcpi_delivered);
  PYTCP_SAME_OFFSET(tcpi_delivered_ce);
  PYTCP_SAME_OFFSET(tcpi_bytes_sent);
  PYTCP_SAME_OFFSET(tcpi_bytes_retrans);
  PYTCP_SAME_OFFSET(tcpi_dsack_dups);
  PYTCP_SAME_OFFSET(tcpi_reord_seen);
  PYTCP_SAME_OFFSET(tcpi_rcv_ooopack);
  PYTCP_SAME_OFFSET(tcpi_snd_wnd);
  // The bit fields: the byte after tcpi_options holds both window scales.
  TcpInfo ours{};
  ours.tcpi_snd_wscale = 7;
  ours.tcpi_rcv_wscale = 9;
  struct tcp_info theirs{};
  theirs.tcpi_snd_wscale = 7;
  theirs.tcpi_rcv_wscale = 9;
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(&ours)[6], reinterpret_cast<const uint8_t*>(&theirs)[6]);
}

}  // namespace
}  // namespace pytcp::testing
