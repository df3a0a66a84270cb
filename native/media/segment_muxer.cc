#include "media/segment_muxer.h"

#include <chrono>

#include "media/encoder_timing.h"

namespace trickle {

namespace {

constexpr int kIoBufferSize = 64 * 1024;
// Audio held while no segment declares the audio stream (see held_audio_): ~10 s of AAC at 48 kHz.
constexpr size_t kMaxHeldAudioPackets = 512;

}  // namespace

SegmentMuxer::SegmentMuxer(EncoderReport* report) : report_(report) {}

void SegmentMuxer::SetPassthroughAudio(std::shared_ptr<const AudioStreamInfo> passthrough) {
  passthrough_ = std::move(passthrough);
  encoded_audio_ = nullptr;
}

void SegmentMuxer::SetEncodedAudio(const AVCodecContext* encoded) {
  encoded_audio_ = encoded;
  passthrough_.reset();
}

int SegmentMuxer::WritePacket(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<SegmentMuxer*>(opaque);
  self->pending_.insert(self->pending_.end(), buf, buf + size);
  return size;
}

// Hands the bytes the muxer wrote so far to the sink as one chunk.
void SegmentMuxer::EmitPending() {
  if (pending_.empty()) return;
  const int64_t n = static_cast<int64_t>(pending_.size());
  report_->Update([&](StreamEncoderStats& s) {
    s.bytes_out += n;
    ++s.chunks_out;
  });
  const bool start = segment_first_chunk_;
  segment_first_chunk_ = false;
  std::vector<uint8_t> chunk;
  chunk.swap(pending_);
  pending_.reserve(64 * 1024);
  if (!report_->sink()->OnChunk(segment_, start, std::move(chunk))) {
    throw NativeException("ERR_CLOSED", "the encoder's output consumer went away", "encoder");
  }
}

void SegmentMuxer::OpenSegment() {
  AVFormatContext* ctx = nullptr;
  int ret = avformat_alloc_output_context2(&ctx, nullptr, "mpegts", nullptr);
  ThrowIfAvError(ret, "ERR_MUX", "avformat_alloc_output_context2");
  mux_.reset(ctx);
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
  if (!buffer) throw NativeException("ERR_OUT_OF_MEMORY", "av_malloc failed", "av_malloc");
  mux_io_.reset(avio_alloc_context(buffer, kIoBufferSize, 1, this, nullptr, &SegmentMuxer::WritePacket, nullptr));
  if (!mux_io_) {
    av_free(buffer);
    throw NativeException("ERR_OUT_OF_MEMORY", "avio_alloc_context failed", "avio_alloc_context");
  }
  ctx->pb = mux_io_.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  mux_video_ = avformat_new_stream(ctx, nullptr);
  if (!mux_video_) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_new_stream failed", "avformat_new_stream");
  ThrowIfAvError(avcodec_parameters_from_context(mux_video_->codecpar, video_), "ERR_MUX", "avcodec_parameters_from_context");
  mux_video_->time_base = kTsTimeBase;
  mux_audio_ = nullptr;
  mux_audio_info_.reset();
  if (passthrough_) {
    mux_audio_ = avformat_new_stream(ctx, nullptr);
    if (!mux_audio_) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_new_stream failed", "avformat_new_stream");
    ThrowIfAvError(avcodec_parameters_copy(mux_audio_->codecpar, passthrough_->par.get()), "ERR_MUX", "avcodec_parameters_copy");
    mux_audio_->codecpar->codec_tag = 0;
    mux_audio_->time_base = kTsTimeBase;
    mux_audio_info_ = passthrough_;
  } else if (encoded_audio_) {
    mux_audio_ = avformat_new_stream(ctx, nullptr);
    if (!mux_audio_) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_new_stream failed", "avformat_new_stream");
    ThrowIfAvError(avcodec_parameters_from_context(mux_audio_->codecpar, encoded_audio_), "ERR_MUX", "avcodec_parameters_from_context");
    mux_audio_->time_base = kTsTimeBase;
  }
  AVDictionary* o = nullptr;
  // No initial muxing delay: output timestamps equal the encoder's (derived from input pts).
  av_dict_set(&o, "max_delay", "0", 0);
  ret = avformat_write_header(ctx, &o);
  av_dict_free(&o);
  ThrowIfAvError(ret, "ERR_MUX", "avformat_write_header");
  ++segment_;
  segment_first_chunk_ = true;
  last_audio_dts_ = AV_NOPTS_VALUE;
  last_mux_video_dts_ = AV_NOPTS_VALUE;
  report_->Update([](StreamEncoderStats& s) { ++s.segments; });
  WriteHeldAudio();
}

void SegmentMuxer::CloseSegment() {
  if (!mux_) return;
  const auto t0 = std::chrono::steady_clock::now();
  int ret = av_write_trailer(mux_.get());
  avio_flush(mux_io_.get());
  report_->Update([&](StreamEncoderStats& s) { s.mux_ms += MsSince(t0); });
  mux_.reset();
  mux_io_.reset();
  mux_video_ = mux_audio_ = nullptr;
  ThrowIfAvError(ret, "ERR_MUX", "av_write_trailer");
  EmitPending();
  if (!report_->sink()->OnSegmentEnd(segment_)) {
    throw NativeException("ERR_CLOSED", "the encoder's output consumer went away", "encoder");
  }
}

void SegmentMuxer::WriteVideo(AVPacket* pkt) {
  const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (key || !mux_) {
    if (!key) {  // cannot happen with a forced first IDR; never start a segment without one
      av_packet_unref(pkt);
      return;
    }
    CloseSegment();
    OpenSegment();
  }
  pkt->stream_index = mux_video_->index;
  av_packet_rescale_ts(pkt, video_->time_base, mux_video_->time_base);
  if (pkt->dts != AV_NOPTS_VALUE && last_mux_video_dts_ != AV_NOPTS_VALUE && pkt->dts <= last_mux_video_dts_) {
    pkt->dts = last_mux_video_dts_ + 1;  // defensive; encoder output is monotonic with no B-frames
    if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts) pkt->pts = pkt->dts;
  }
  last_mux_video_dts_ = pkt->dts;
  const auto t0 = std::chrono::steady_clock::now();
  int ret = av_write_frame(mux_.get(), pkt);
  avio_flush(mux_io_.get());
  report_->Update([&](StreamEncoderStats& s) { s.mux_ms += MsSince(t0); });
  av_packet_unref(pkt);
  ThrowIfAvError(ret, "ERR_MUX", "av_write_frame");
  EmitPending();
}

void SegmentMuxer::WriteEncodedAudio(AVPacket* p) { WriteAudio(p); }

void SegmentMuxer::WritePassthroughAudio(AVPacket* p, const std::shared_ptr<const AudioStreamInfo>& stream) {
  if (!mux_ || mux_audio_info_ != stream) {
    // Not declared in the open segment (it opened before the first audio packet, or the
    // input's audio changed): held, and the next video frame starts a segment that declares it.
    HoldAudio(p);
    return;
  }
  WriteAudio(p);
}

void SegmentMuxer::WriteAudio(AVPacket* p) {
  if (!mux_ || !mux_audio_) {
    HoldAudio(p);
    return;
  }
  if (p->dts == AV_NOPTS_VALUE) p->dts = p->pts;
  if (p->dts == AV_NOPTS_VALUE || (last_audio_dts_ != AV_NOPTS_VALUE && p->dts <= last_audio_dts_)) {
    report_->Update([](StreamEncoderStats& s) { ++s.audio_dropped; });
    return;
  }
  last_audio_dts_ = p->dts;
  p->stream_index = mux_audio_->index;
  const auto t0 = std::chrono::steady_clock::now();
  int ret = av_write_frame(mux_.get(), p);
  avio_flush(mux_io_.get());
  report_->Update([&](StreamEncoderStats& s) {
    s.mux_ms += MsSince(t0);
    if (ret >= 0) ++s.audio_packets_out; else ++s.audio_dropped;
  });
  if (ret >= 0) EmitPending();
}

// See held_audio_. `p` is in the output time base.
void SegmentMuxer::HoldAudio(const AVPacket* p) {
  if (!video_ && !mux_) {
    // No video yet: the first segment opens with the first video frame and will declare audio.
  } else {
    cut_for_audio_ = true;
  }
  UniqueAVPacket copy(av_packet_clone(p));
  if (!copy) throw NativeException("ERR_OUT_OF_MEMORY", "av_packet_clone failed", "av_packet_clone");
  held_audio_.push_back(std::move(copy));
  while (held_audio_.size() > kMaxHeldAudioPackets) {
    held_audio_.pop_front();
    report_->Update([](StreamEncoderStats& s) { ++s.audio_dropped; });
  }
}

// Writes the held audio into a segment that has just declared the audio stream.
void SegmentMuxer::WriteHeldAudio() {
  if (!mux_audio_) return;
  while (!held_audio_.empty()) {
    UniqueAVPacket p = std::move(held_audio_.front());
    held_audio_.pop_front();
    WriteAudio(p.get());
  }
}

void SegmentMuxer::DropHeldAudio() {
  if (held_audio_.empty()) return;
  const auto n = static_cast<long>(held_audio_.size());
  report_->Update([n](StreamEncoderStats& s) { s.audio_dropped += n; });
  held_audio_.clear();
}

void SegmentMuxer::Finish() {
  CloseSegment();
  DropHeldAudio();
}

}  // namespace trickle
