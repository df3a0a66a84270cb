// MPEG-TS demuxer for the live decode path. It hands out each PES as soon as its last byte is in,
// instead of when the next PES of the same PID starts (libavformat's behaviour, one frame of
// latency for video). A PES is known to be complete when:
//   - its header gives a length (PES_packet_length != 0; audio, usually) and that many bytes arrived;
//   - the TS packet carrying it has adaptation-field stuffing: a muxer pads the last packet of a PES
//     that way. A PID whose PES go on after a stuffed packet (a muxer that stuffs elsewhere) loses
//     this signal for the rest of the stream (that one frame is handed out cut);
//   - otherwise (the general path, for streams that say nothing) when the next PES of the PID starts
//     or the input ends.
// Stream parameters come from the PAT and PMT (stream types and descriptors), with no probing
// window. No threads of its own, no N-API: Feed() and Finish() call the listener synchronously.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/codec_id.h>
#include <libavutil/avutil.h>
}

namespace trickle {

constexpr int kTsPacketSize = 188;

// One elementary stream of the program, as the PMT declares it.
struct TsStream {
  int pid = -1;
  uint8_t stream_type = 0;
  AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
  AVCodecID codec_id = AV_CODEC_ID_NONE;  // NONE: a type this demuxer does not map
  bool operator==(const TsStream& o) const {
    return pid == o.pid && stream_type == o.stream_type && codec_id == o.codec_id;
  }
};

// Why a PES was handed out (its completion signal).
enum class PesEnd { kLength, kStuffing, kNextStart, kInputEnd };

struct TsPes {
  int pid = -1;
  int64_t pts = AV_NOPTS_VALUE;  // 90 kHz, 33-bit as carried (no unwrapping)
  int64_t dts = AV_NOPTS_VALUE;
  bool random_access = false;  // random_access_indicator on its first TS packet
  bool damaged = false;        // a continuity gap or transport error inside it
  bool gap_before = false;     // a continuity gap right before its first packet (data lost between PES)
  PesEnd end = PesEnd::kNextStart;
  std::vector<uint8_t> data;   // the elementary-stream payload (PES header removed)
};

class TsDemuxerListener {
 public:
  virtual ~TsDemuxerListener() = default;
  // The program's stream list, on the first PMT and whenever it changes.
  virtual void OnProgram(const std::vector<TsStream>& streams) = 0;
  // A complete PES of a stream of the current program. Returns false to stop demuxing.
  virtual bool OnPes(TsPes& pes) = 0;
};

struct TsDemuxerStats {
  uint64_t packets = 0;
  uint64_t bytes_skipped = 0;   // bytes dropped while searching for packet sync
  int64_t continuity_errors = 0;
  int64_t pes_by_length = 0;
  int64_t pes_by_stuffing = 0;
  int64_t pes_by_next_start = 0;
};

class TsDemuxer {
 public:
  explicit TsDemuxer(TsDemuxerListener* listener) : listener_(listener) {}

  // Whether `data` looks like MPEG-TS: three sync bytes 188 bytes apart at the start.
  static bool LooksLikeTs(const uint8_t* data, size_t size);

  // Any chunking. Returns false when the listener asked to stop.
  bool Feed(const uint8_t* data, size_t size);
  // End of input: hands out the PES still being assembled. Returns false when the listener stopped.
  bool Finish();

  bool has_program() const { return has_program_; }
  const std::vector<TsStream>& streams() const { return streams_; }
  const TsDemuxerStats& stats() const { return stats_; }

 private:
  struct PesState {
    bool active = false;      // assembling a PES
    bool header_done = false;
    size_t header_size = 0;   // bytes of PES header in raw
    size_t total_size = 0;    // 6 + PES_packet_length, 0 when unbounded
    std::vector<uint8_t> raw; // header + payload as received
    TsPes pes;
    int last_cc = -1;
    // Stuffing as an end-of-PES signal: learnt per PID.
    bool last_was_stuffed = false;  // the previous TS packet of this PID ended in stuffing
    bool stuffing_unreliable = false;
    bool ended_by_stuffing = false;  // the last PES was handed out on stuffing
    bool pending_gap = false;        // data was lost before the next PES start
  };
  struct Section {
    std::vector<uint8_t> buf;
    int last_cc = -1;
  };

  bool Packet(const uint8_t* p);
  void PsiPacket(int pid, bool pusi, const uint8_t* payload, size_t size, Section& sec);
  void Table(int pid, const uint8_t* sec, size_t size);
  void Pat(const uint8_t* sec, size_t size);
  void Pmt(const uint8_t* sec, size_t size);
  bool ParsePesHeader(PesState& st);
  bool Emit(PesState& st, PesEnd end);

  TsDemuxerListener* listener_;
  std::vector<uint8_t> partial_;  // an incomplete TS packet carried to the next Feed
  int pmt_pid_ = -1;
  int pmt_version_ = -1;
  bool has_program_ = false;
  std::vector<TsStream> streams_;
  std::map<int, Section> sections_;
  std::map<int, PesState> pes_;
  TsDemuxerStats stats_;
};

}  // namespace trickle
