#include "media/ts_demuxer.h"

#include <algorithm>
#include <cstring>

extern "C" {
#include <libavutil/crc.h>
}

namespace trickle {

namespace {

constexpr size_t kMaxPesBytes = 16 * 1024 * 1024;  // a PES that never ends is dropped beyond this

uint32_t Tag(const uint8_t* d) {
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
}
constexpr uint32_t kTagOpus = 0x4f707573;  // 'Opus'
constexpr uint32_t kTagAc3 = 0x41432d33;   // 'AC-3'
constexpr uint32_t kTagEac3 = 0x45414333;  // 'EAC3'
constexpr uint32_t kTagHevc = 0x48455643;  // 'HEVC'

int64_t ReadTimestamp(const uint8_t* d) {
  return (int64_t{d[0] & 0x0e} << 29) | (int64_t{d[1]} << 22) | (int64_t{d[2] & 0xfe} << 14) |
         (int64_t{d[3]} << 7) | (d[4] >> 1);
}

// Stream type (and, for private data, the descriptors) to codec.
void MapStream(TsStream& s, uint32_t registration, bool ac3_descriptor, bool eac3_descriptor) {
  switch (s.stream_type) {
    case 0x1b: s.type = AVMEDIA_TYPE_VIDEO; s.codec_id = AV_CODEC_ID_H264; return;
    case 0x24: s.type = AVMEDIA_TYPE_VIDEO; s.codec_id = AV_CODEC_ID_HEVC; return;
    case 0x01:
    case 0x02: s.type = AVMEDIA_TYPE_VIDEO; s.codec_id = AV_CODEC_ID_MPEG2VIDEO; return;
    case 0x10: s.type = AVMEDIA_TYPE_VIDEO; s.codec_id = AV_CODEC_ID_MPEG4; return;
    case 0x0f: s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_AAC; return;
    case 0x11: s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_AAC_LATM; return;
    case 0x03:
    case 0x04: s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_MP3; return;
    case 0x81: s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_AC3; return;
    case 0x87: s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_EAC3; return;
    case 0x06:
      if (registration == kTagOpus) { s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_OPUS; }
      else if (registration == kTagAc3 || ac3_descriptor) { s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_AC3; }
      else if (registration == kTagEac3 || eac3_descriptor) { s.type = AVMEDIA_TYPE_AUDIO; s.codec_id = AV_CODEC_ID_EAC3; }
      return;
    default:
      if (registration == kTagHevc) { s.type = AVMEDIA_TYPE_VIDEO; s.codec_id = AV_CODEC_ID_HEVC; }
      return;
  }
}

bool CrcOk(const uint8_t* sec, size_t size) {
  return av_crc(av_crc_get_table(AV_CRC_32_IEEE), UINT32_MAX, sec, size) == 0;
}

}  // namespace

bool TsDemuxer::LooksLikeTs(const uint8_t* data, size_t size) {
  if (size < 3 * kTsPacketSize) return false;
  return data[0] == 0x47 && data[kTsPacketSize] == 0x47 && data[2 * kTsPacketSize] == 0x47;
}

bool TsDemuxer::Feed(const uint8_t* data, size_t size) {
  partial_.insert(partial_.end(), data, data + size);
  const uint8_t* buf = partial_.data();
  const size_t n = partial_.size();
  size_t i = 0;
  bool ok = true;
  while (ok && n - i >= kTsPacketSize) {
    // In sync: a 0x47 here, and at the next packet when those bytes are already in.
    if (buf[i] != 0x47 || (n - i > kTsPacketSize && buf[i + kTsPacketSize] != 0x47)) {
      ++i;
      ++stats_.bytes_skipped;
      continue;
    }
    ok = Packet(buf + i);
    i += kTsPacketSize;
  }
  partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(i));
  return ok;
}

bool TsDemuxer::Finish() {
  for (auto& [pid, st] : pes_) {
    if (st.active && !Emit(st, PesEnd::kInputEnd)) return false;
  }
  return true;
}

bool TsDemuxer::Packet(const uint8_t* p) {
  ++stats_.packets;
  const bool transport_error = (p[1] & 0x80) != 0;
  const bool unit_start = (p[1] & 0x40) != 0;
  const int pid = ((p[1] & 0x1f) << 8) | p[2];
  const int afc = (p[3] >> 4) & 3;
  const int cc = p[3] & 0x0f;
  if (pid == 0x1fff || afc == 0) return true;

  size_t offset = 4;
  bool stuffed = false, random_access = false, discontinuity = false;
  if (afc & 2) {
    const size_t af_len = p[4];
    if (af_len > 183) return true;  // invalid: skip the packet
    offset = 5 + af_len;
    if (af_len == 0) {
      stuffed = true;  // an empty adaptation field is one byte of stuffing
    } else {
      const uint8_t flags = p[5];
      discontinuity = (flags & 0x80) != 0;
      random_access = (flags & 0x40) != 0;
      size_t needed = 1 + ((flags & 0x10) ? 6 : 0) + ((flags & 0x08) ? 6 : 0) + ((flags & 0x04) ? 1 : 0);
      if ((flags & 0x02) && needed < af_len) needed += 1 + p[5 + needed];
      if ((flags & 0x01) && needed < af_len) needed += 1 + p[5 + needed];
      stuffed = af_len > needed;
    }
  }
  const bool has_payload = (afc & 1) != 0 && offset < kTsPacketSize;
  const uint8_t* payload = p + offset;
  const size_t payload_size = has_payload ? kTsPacketSize - offset : 0;

  if (pid == 0 || pid == pmt_pid_) {
    Section& sec = sections_[pid];
    if ((afc & 1) != 0) {
      const bool gap = sec.last_cc >= 0 && cc != ((sec.last_cc + 1) & 15) && cc != sec.last_cc;
      sec.last_cc = cc;
      if (gap || transport_error) sec.buf.clear();
    }
    if (has_payload && !transport_error) PsiPacket(pid, unit_start, payload, payload_size, sec);
    return true;
  }

  auto it = pes_.find(pid);
  if (it == pes_.end()) return true;  // not a stream of the program
  PesState& st = it->second;

  bool gap = false;
  if ((afc & 1) != 0) {
    if (st.last_cc >= 0 && !discontinuity) {
      if (cc == st.last_cc && !unit_start) return true;  // a duplicate packet (allowed once)
      gap = cc != ((st.last_cc + 1) & 15);
    }
    st.last_cc = cc;
  }
  if (gap) ++stats_.continuity_errors;
  if (transport_error) {
    if (st.active) st.pes.damaged = true;
    else st.pending_gap = true;
    return true;
  }
  if (!has_payload) return true;

  if (unit_start) {
    if (st.active) {
      if (!Emit(st, PesEnd::kNextStart)) return false;
    }
    st.active = true;
    st.header_done = false;
    st.header_size = 0;
    st.total_size = 0;
    st.raw.assign(payload, payload + payload_size);
    st.pes = TsPes{};
    st.pes.pid = pid;
    st.pes.random_access = random_access;
    st.pes.gap_before = gap || st.pending_gap;
    st.pending_gap = false;
  } else if (!st.active) {
    // Bytes of a PES that was already handed out, or whose start we never saw (joined mid-PES,
    // or lost): dropped, and the next PES follows lost data.
    if (st.ended_by_stuffing) st.stuffing_unreliable = true;  // it went on after its stuffed packet
    st.ended_by_stuffing = false;
    st.pending_gap = true;
    st.last_was_stuffed = stuffed;
    return true;
  } else {
    if (st.last_was_stuffed && st.total_size == 0) st.stuffing_unreliable = true;  // stuffing mid-PES
    if (gap) st.pes.damaged = true;
    st.raw.insert(st.raw.end(), payload, payload + payload_size);
  }
  st.ended_by_stuffing = false;
  st.last_was_stuffed = stuffed;

  if (!st.header_done && !ParsePesHeader(st)) return true;
  if (!st.active) return true;  // the header was invalid and the PES dropped
  if (st.total_size != 0 && st.raw.size() >= st.total_size) return Emit(st, PesEnd::kLength);
  if (st.total_size == 0 && stuffed && !st.stuffing_unreliable) {
    st.ended_by_stuffing = true;
    return Emit(st, PesEnd::kStuffing);
  }
  if (st.raw.size() > kMaxPesBytes) {
    st.active = false;
    st.raw.clear();
    st.pending_gap = true;
  }
  return true;
}

// Returns true once the header is parsed; false while more bytes are needed or when the header is
// invalid (then the PES is dropped: active = false).
bool TsDemuxer::ParsePesHeader(PesState& st) {
  const std::vector<uint8_t>& r = st.raw;
  if (r.size() < 6) return false;
  if (r[0] != 0 || r[1] != 0 || r[2] != 1) {
    st.active = false;
    st.raw.clear();
    st.pending_gap = true;
    return false;
  }
  const uint8_t stream_id = r[3];
  const size_t length = (size_t{r[4]} << 8) | r[5];
  st.total_size = length ? 6 + length : 0;
  const bool no_optional_header = stream_id == 0xbc || stream_id == 0xbe || stream_id == 0xbf ||
                                  stream_id == 0xf0 || stream_id == 0xf1 || stream_id == 0xff ||
                                  stream_id == 0xf2 || stream_id == 0xf8;
  if (no_optional_header) {
    st.header_size = 6;
  } else {
    if (r.size() < 9) return false;
    const size_t header_size = 9 + r[8];
    if (r.size() < header_size) return false;
    const int pts_dts = r[7] >> 6;
    if ((pts_dts & 2) && header_size >= 14) st.pes.pts = ReadTimestamp(&r[9]);
    if (pts_dts == 3 && header_size >= 19) st.pes.dts = ReadTimestamp(&r[14]);
    if (st.pes.dts == AV_NOPTS_VALUE) st.pes.dts = st.pes.pts;
    st.header_size = header_size;
  }
  if (st.total_size != 0 && st.header_size > st.total_size) {
    st.active = false;
    st.raw.clear();
    st.pending_gap = true;
    return false;
  }
  st.header_done = true;
  return true;
}

bool TsDemuxer::Emit(PesState& st, PesEnd end) {
  st.active = false;
  const size_t end_pos = st.total_size ? std::min(st.total_size, st.raw.size()) : st.raw.size();
  if (!st.header_done || st.header_size > end_pos) {
    st.raw.clear();
    st.pending_gap = true;
    return true;
  }
  TsPes pes = std::move(st.pes);
  pes.end = end;
  if (st.total_size != 0 && st.raw.size() < st.total_size) pes.damaged = true;  // cut short
  pes.data.assign(st.raw.begin() + static_cast<std::ptrdiff_t>(st.header_size),
                  st.raw.begin() + static_cast<std::ptrdiff_t>(end_pos));
  st.raw.clear();
  switch (end) {
    case PesEnd::kLength: ++stats_.pes_by_length; break;
    case PesEnd::kStuffing: ++stats_.pes_by_stuffing; break;
    case PesEnd::kNextStart:
    case PesEnd::kInputEnd: ++stats_.pes_by_next_start; break;
  }
  return listener_->OnPes(pes);
}

void TsDemuxer::PsiPacket(int pid, bool unit_start, const uint8_t* payload, size_t size, Section& sec) {
  const uint8_t* data = payload;
  size_t len = size;
  if (unit_start) {
    const size_t pointer = payload[0];
    if (1 + pointer > size) { sec.buf.clear(); return; }
    if (!sec.buf.empty()) {
      sec.buf.insert(sec.buf.end(), payload + 1, payload + 1 + pointer);
      const size_t need = sec.buf.size() >= 3 ? 3 + (((sec.buf[1] & 0x0f) << 8) | sec.buf[2]) : SIZE_MAX;
      if (sec.buf.size() >= need) Table(pid, sec.buf.data(), need);
    }
    sec.buf.clear();
    data = payload + 1 + pointer;
    len = size - 1 - pointer;
    sec.buf.assign(data, data + len);
  } else {
    if (sec.buf.empty()) return;  // no section start seen
    sec.buf.insert(sec.buf.end(), data, data + len);
  }
  // Every complete section in the buffer (several may share a packet).
  while (sec.buf.size() >= 3 && sec.buf[0] != 0xff) {
    const size_t need = 3 + (((sec.buf[1] & 0x0f) << 8) | sec.buf[2]);
    if (sec.buf.size() < need) return;
    std::vector<uint8_t> one(sec.buf.begin(), sec.buf.begin() + static_cast<std::ptrdiff_t>(need));
    sec.buf.erase(sec.buf.begin(), sec.buf.begin() + static_cast<std::ptrdiff_t>(need));
    Table(pid, one.data(), one.size());
    if (pid != 0 && pid != pmt_pid_) return;  // the PAT moved the PMT elsewhere
  }
  if (!sec.buf.empty() && sec.buf[0] == 0xff) sec.buf.clear();
}

void TsDemuxer::Table(int pid, const uint8_t* sec, size_t size) {
  if (size < 12 || !(sec[1] & 0x80) || !(sec[5] & 0x01) || !CrcOk(sec, size)) return;
  if (pid == 0 && sec[0] == 0x00) Pat(sec, size);
  else if (pid == pmt_pid_ && sec[0] == 0x02) Pmt(sec, size);
}

void TsDemuxer::Pat(const uint8_t* sec, size_t size) {
  for (size_t i = 8; i + 4 <= size - 4; i += 4) {
    const int program = (sec[i] << 8) | sec[i + 1];
    const int pid = ((sec[i + 2] & 0x1f) << 8) | sec[i + 3];
    if (program == 0) continue;  // network PID
    if (pid != pmt_pid_) {
      if (pmt_pid_ >= 0) sections_.erase(pmt_pid_);
      pmt_pid_ = pid;
      pmt_version_ = -1;
    }
    return;  // the first program
  }
}

void TsDemuxer::Pmt(const uint8_t* sec, size_t size) {
  // The version alone cannot be trusted: a muxer restarted for each segment (trickle publishers,
  // trickle-rt's own encoder) sends version 0 every time, also when a segment adds a stream. The
  // stream list is compared instead (a PMT every ~100 ms costs nothing to parse).
  const int version = (sec[5] >> 1) & 0x1f;
  const size_t program_info_length = ((sec[10] & 0x0f) << 8) | sec[11];
  size_t i = 12 + program_info_length;
  const size_t end = size - 4;
  std::vector<TsStream> streams;
  while (i + 5 <= end) {
    TsStream s;
    s.stream_type = sec[i];
    s.pid = ((sec[i + 1] & 0x1f) << 8) | sec[i + 2];
    const size_t es_info_length = ((sec[i + 3] & 0x0f) << 8) | sec[i + 4];
    size_t d = i + 5;
    const size_t d_end = std::min(end, d + es_info_length);
    uint32_t registration = 0;
    bool ac3 = false, eac3 = false;
    while (d + 2 <= d_end) {
      const uint8_t tag = sec[d];
      const size_t len = sec[d + 1];
      if (d + 2 + len > d_end) break;
      if (tag == 0x05 && len >= 4) registration = Tag(&sec[d + 2]);
      else if (tag == 0x6a) ac3 = true;
      else if (tag == 0x7a) eac3 = true;
      d += 2 + len;
    }
    MapStream(s, registration, ac3, eac3);
    streams.push_back(s);
    i = d_end;
  }
  pmt_version_ = version;
  const bool changed = !has_program_ || streams != streams_;
  has_program_ = true;
  if (!changed) return;
  // Keep the assembly state of streams that stay as they were; forget the others.
  std::map<int, PesState> kept;
  for (const TsStream& s : streams) {
    const auto old = std::find_if(streams_.begin(), streams_.end(), [&](const TsStream& o) { return o.pid == s.pid; });
    auto it = pes_.find(s.pid);
    if (old != streams_.end() && *old == s && it != pes_.end()) kept.emplace(s.pid, std::move(it->second));
    else kept.emplace(s.pid, PesState{});
  }
  pes_ = std::move(kept);
  streams_ = std::move(streams);
  listener_->OnProgram(streams_);
}

}  // namespace trickle
