// Writes Ethernet frames to a classic libpcap file (the format tcpdump, tshark and
// Wireshark read): the 24-byte global header with magic 0xa1b2c3d4 (microsecond
// timestamps), version 2.4, LINKTYPE_ETHERNET, then one 16-byte record header per frame.
// Fields are in host byte order; readers tell the order from the magic number.
//
// Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html and
// draft-ietf-opsawg-pcap (the IETF description of the same format).
//
// Not thread-safe: PcapLink (or whoever owns a writer) serializes calls. Writes are
// buffered; Flush() or destruction pushes them to the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "stack/base/bytes.h"
#include "stack/base/clock.h"

namespace pytcp {

struct PcapOptions {
  // Frames longer than this are truncated in the file (their original length is kept).
  uint32_t snaplen = 262144;
  // true: timestamps are wall-clock time (the clock's offset from CLOCK_REALTIME is taken
  // when the file is opened), which is what people reading a live capture expect.
  // false: timestamps are the clock's own Instants, so a VirtualClock gives a file that is
  // identical from run to run.
  bool wall_clock_timestamps = true;
};

class PcapWriter {
 public:
  static constexpr uint32_t kMagicMicroseconds = 0xa1b2c3d4;
  static constexpr uint32_t kLinkTypeEthernet = 1;
  static constexpr size_t kFileHeaderSize = 24;
  static constexpr size_t kRecordHeaderSize = 16;

  // Creates (or truncates) `path` and writes the file header. `clock` must outlive the writer.
  static absl::StatusOr<std::unique_ptr<PcapWriter>> Open(const std::string& path,
                                                          const Clock& clock,
                                                          PcapOptions options = {});
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one frame stamped with clock.Now(). After a write error, further writes are
  // ignored and status() reports the error.
  void Write(ByteSpan frame);
  void Flush();

  const std::string& path() const { return path_; }
  uint64_t frames_written() const { return frames_; }
  const absl::Status& status() const { return status_; }

 private:
  PcapWriter(std::FILE* file, std::string path, const Clock& clock, PcapOptions options,
             int64_t offset_ns);
  void Put(const void* data, size_t size);

  std::FILE* file_;
  std::string path_;
  const Clock* clock_;
  PcapOptions options_;
  int64_t offset_ns_;  // added to clock.Now() to get the timestamp
  uint64_t frames_ = 0;
  absl::Status status_;
};

}  // namespace pytcp
