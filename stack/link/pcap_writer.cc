#include "stack/link/pcap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "stack/base/private_file.h"

namespace pytcp {
namespace {

int64_t RealtimeNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PcapWriter>> PcapWriter::Open(const std::string& path,
                                                             const Clock& clock,
                                                             PcapOptions options) {
  // A capture holds every frame, so it is owner-only, and a symlink or someone else's file
  // at `path` is refused rather than truncated (private_file.h).
  auto fd = OpenOwnFile(path, O_WRONLY, /*truncate=*/true);
  if (!fd.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot create pcap file: ", fd.status().message()));
  }
  std::FILE* file = fdopen(*fd, "wb");
  if (file == nullptr) {
    const int err = errno;
    close(*fd);
    return absl::UnavailableError(
        absl::StrCat("cannot create pcap file ", path, ": ", std::strerror(err)));
  }
  const int64_t offset =
      options.wall_clock_timestamps ? RealtimeNanos() - clock.Now().nanos() : 0;
  std::unique_ptr<PcapWriter> writer(new PcapWriter(file, path, clock, options, offset));

  // Global header: magic, version 2.4, thiszone, sigfigs, snaplen, linktype.
  const uint32_t magic = kMagicMicroseconds;
  const uint16_t version[2] = {2, 4};
  const int32_t thiszone = 0;
  const uint32_t sigfigs = 0;
  const uint32_t snaplen = options.snaplen;
  const uint32_t linktype = kLinkTypeEthernet;
  writer->Put(&magic, 4);
  writer->Put(version, 4);
  writer->Put(&thiszone, 4);
  writer->Put(&sigfigs, 4);
  writer->Put(&snaplen, 4);
  writer->Put(&linktype, 4);
  writer->Flush();
  if (!writer->status().ok()) return writer->status();
  return writer;
}

PcapWriter::PcapWriter(std::FILE* file, std::string path, const Clock& clock, PcapOptions options,
                       int64_t offset_ns)
    : file_(file), path_(std::move(path)), clock_(&clock), options_(options), offset_ns_(offset_ns) {}

PcapWriter::~PcapWriter() { std::fclose(file_); }

void PcapWriter::Put(const void* data, size_t size) {
  if (!status_.ok()) return;
  if (std::fwrite(data, 1, size, file_) != size) {
    const int err = errno;
    status_ = absl::DataLossError(absl::StrCat("writing pcap file ", path_, ": ", std::strerror(err)));
  }
}

void PcapWriter::Write(ByteSpan frame) {
  if (!status_.ok()) return;
  const int64_t ns = std::max<int64_t>(0, clock_->Now().nanos() + offset_ns_);
  const uint32_t caplen = static_cast<uint32_t>(std::min<size_t>(frame.size(), options_.snaplen));
  const uint32_t record[4] = {
      static_cast<uint32_t>(ns / 1'000'000'000),
      static_cast<uint32_t>((ns % 1'000'000'000) / 1000),
      caplen,
      static_cast<uint32_t>(frame.size()),
  };
  Put(record, sizeof(record));
  Put(frame.data(), caplen);
  ++frames_;
}

void PcapWriter::Flush() {
  if (status_.ok() && std::fflush(file_) != 0) {
    const int err = errno;
    status_ = absl::DataLossError(absl::StrCat("writing pcap file ", path_, ": ", std::strerror(err)));
  }
}

}  // namespace pytcp
