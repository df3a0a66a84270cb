#include "media/audio_track.h"

#include <cstring>
#include <string>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include "media/encoder_timing.h"

namespace trickle {

AudioTrack::AudioTrack(const StreamEncoderOptions& options, EncoderReport* report, SegmentMuxer* muxer)
    : opts_(options), report_(report), muxer_(muxer) {}

namespace {
bool OpusRate(int rate) { return rate == 48000 || rate == 24000 || rate == 16000 || rate == 12000 || rate == 8000; }
}  // namespace

void AudioTrack::OpenEncoder(const AudioFrame& a) {
  const bool opus = opts_.audio == AudioMode::kOpus;
  const char* name = opus ? "libopus" : "aac";
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (!codec) throw NativeException("ERR_ENCODER_UNAVAILABLE", std::string("audio encoder ") + name + " is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  if (a.channels() < 1 || a.channels() > 8 || a.sample_rate() <= 0) {
    throw NativeException("ERR_ENCODE", "unsupported audio: " + std::to_string(a.channels()) + " channels at " + std::to_string(a.sample_rate()) + " Hz", name);
  }
  // Opus takes only some rates: other input is resampled to 48 kHz.
  const int rate = opus && !OpusRate(a.sample_rate()) ? 48000 : a.sample_rate();
  UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
  ctx->sample_rate = rate;
  av_channel_layout_default(&ctx->ch_layout, a.channels());
  ctx->sample_fmt = opus ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
  ctx->bit_rate = opts_.audio_bitrate;
  ctx->time_base = AVRational{1, rate};
  int ret = avcodec_open2(ctx.get(), codec, nullptr);
  ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_open2(audio)");
  ctx_ = std::move(ctx);
  muxer_->SetEncodedAudio(ctx_.get());
  fifo_.assign(a.channels(), {});
}

void AudioTrack::Encode(const AudioFrame& a, int64_t pts_offset) {
  report_->Update([](StreamEncoderStats& s) { ++s.audio_in; });
  if (failed_ || opts_.audio == AudioMode::kNone || opts_.audio == AudioMode::kPassthrough) return;
  try {
    if (!ctx_) OpenEncoder(a);
    const AVRational out_tb{1, ctx_->sample_rate};
    if (next_pts_ == AV_NOPTS_VALUE && a.pts() != AV_NOPTS_VALUE) {
      next_pts_ = av_rescale_q(a.pts(), a.time_base(), out_tb) + av_rescale_q(pts_offset, kTsTimeBase, out_tb);
    }
    if (next_pts_ == AV_NOPTS_VALUE) next_pts_ = 0;
    if (a.channels() == ctx_->ch_layout.nb_channels && a.sample_rate() == ctx_->sample_rate) {
      if (swr_) DrainConverter();  // the input went back to the encoder's format
      for (int c = 0; c < a.channels(); ++c) fifo_[c].insert(fifo_[c].end(), a.channel(c), a.channel(c) + a.samples());
    } else {
      AppendConverted(a);
    }
    const int frame_size = ctx_->frame_size > 0 ? ctx_->frame_size : 1024;
    while (static_cast<int>(fifo_[0].size()) >= frame_size) SendFrame(frame_size);
  } catch (const NativeException& e) {
    failed_ = true;
    report_->Warn(e.error().code, "audio encoding disabled: " + e.error().message, e.error().op);
  }
}

void AudioTrack::AppendConverted(const AudioFrame& a) {
  if (a.channels() < 1 || a.channels() > 8 || a.sample_rate() <= 0) {
    report_->Warn("ERR_ENCODE", "audio frame dropped: " + std::to_string(a.channels()) + " channels at " + std::to_string(a.sample_rate()) + " Hz cannot be converted", "audio");
    return;
  }
  if (!swr_ || swr_in_channels_ != a.channels() || swr_in_rate_ != a.sample_rate()) {
    if (swr_) DrainConverter();
    swr_ = OpenAudioConverter(a.channels(), a.sample_rate(), ctx_->ch_layout.nb_channels, ctx_->sample_rate);
    swr_in_channels_ = a.channels();
    swr_in_rate_ = a.sample_rate();
  }
  const int out_ch = ctx_->ch_layout.nb_channels;
  const int capacity = swr_get_out_samples(swr_.get(), a.samples());
  ThrowIfAvError(capacity, "ERR_ENCODE", "swr_get_out_samples");
  converted_.resize(out_ch);
  std::vector<uint8_t*> out(out_ch);
  for (int c = 0; c < out_ch; ++c) {
    converted_[c].resize(capacity);
    out[c] = reinterpret_cast<uint8_t*>(converted_[c].data());
  }
  std::vector<const uint8_t*> in(a.channels());
  for (int c = 0; c < a.channels(); ++c) in[c] = reinterpret_cast<const uint8_t*>(a.channel(c));
  const int n = swr_convert(swr_.get(), out.data(), capacity, in.data(), a.samples());
  ThrowIfAvError(n, "ERR_ENCODE", "swr_convert");
  for (int c = 0; c < out_ch; ++c) fifo_[c].insert(fifo_[c].end(), converted_[c].begin(), converted_[c].begin() + n);
  report_->Update([](StreamEncoderStats& s) { ++s.audio_converted; });
}

void AudioTrack::DrainConverter() {
  if (!swr_) return;
  const int out_ch = ctx_->ch_layout.nb_channels;
  const int capacity = swr_get_out_samples(swr_.get(), 0);
  if (capacity > 0) {
    converted_.resize(out_ch);
    std::vector<uint8_t*> out(out_ch);
    for (int c = 0; c < out_ch; ++c) {
      converted_[c].resize(capacity);
      out[c] = reinterpret_cast<uint8_t*>(converted_[c].data());
    }
    const int n = swr_convert(swr_.get(), out.data(), capacity, nullptr, 0);
    if (n > 0) {
      for (int c = 0; c < out_ch; ++c) fifo_[c].insert(fifo_[c].end(), converted_[c].begin(), converted_[c].begin() + n);
    }
  }
  swr_.reset();
  swr_in_channels_ = swr_in_rate_ = 0;
}

void AudioTrack::SendFrame(int n) {
  AVFrame* f = frame_.get();
  av_frame_unref(f);
  f->format = ctx_->sample_fmt;
  f->nb_samples = n;
  f->sample_rate = ctx_->sample_rate;
  ThrowIfAvError(av_channel_layout_copy(&f->ch_layout, &ctx_->ch_layout), "ERR_ENCODE", "av_channel_layout_copy");
  ThrowIfAvError(av_frame_get_buffer(f, 0), "ERR_OUT_OF_MEMORY", "av_frame_get_buffer");
  const int ch = ctx_->ch_layout.nb_channels;
  if (ctx_->sample_fmt == AV_SAMPLE_FMT_FLTP) {
    for (int c = 0; c < ch; ++c) std::memcpy(f->extended_data[c], fifo_[c].data(), sizeof(float) * n);
  } else {
    auto* dst = reinterpret_cast<float*>(f->data[0]);
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < ch; ++c) dst[i * ch + c] = fifo_[c][i];
  }
  for (int c = 0; c < ch; ++c) fifo_[c].erase(fifo_[c].begin(), fifo_[c].begin() + n);
  f->pts = next_pts_;
  next_pts_ += n;
  ThrowIfAvError(avcodec_send_frame(ctx_.get(), f), "ERR_ENCODE", "avcodec_send_frame(audio)");
  Drain();
}

void AudioTrack::Drain() {
  for (;;) {
    int ret = avcodec_receive_packet(ctx_.get(), pkt_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_receive_packet(audio)");
    av_packet_rescale_ts(pkt_.get(), ctx_->time_base, kTsTimeBase);
    muxer_->WriteEncodedAudio(pkt_.get());
    av_packet_unref(pkt_.get());
  }
}

void AudioTrack::Remux(const AudioPacket& ap, int64_t pts_offset) {
  report_->Update([](StreamEncoderStats& s) { ++s.audio_in; });
  if (opts_.audio != AudioMode::kPassthrough) return;
  if (!passthrough_info_ || passthrough_info_->generation != ap.stream->generation) {
    // The input's audio changed: what is held belongs to the old stream parameters.
    muxer_->DropHeldAudio();
    passthrough_info_ = ap.stream;
    muxer_->SetPassthroughAudio(passthrough_info_);
  }
  UniqueAVPacket p(av_packet_clone(ap.packet.get()));
  if (!p) throw NativeException("ERR_OUT_OF_MEMORY", "av_packet_clone failed", "av_packet_clone");
  av_packet_rescale_ts(p.get(), ap.stream->time_base, kTsTimeBase);
  if (p->pts != AV_NOPTS_VALUE) p->pts += pts_offset;
  if (p->dts != AV_NOPTS_VALUE) p->dts += pts_offset;
  muxer_->WritePassthroughAudio(p.get(), ap.stream);
}

void AudioTrack::Flush() {
  if (!ctx_ || failed_) return;
  try {
    const int frame_size = ctx_->frame_size > 0 ? ctx_->frame_size : 1024;
    DrainConverter();
    while (static_cast<int>(fifo_[0].size()) >= frame_size) SendFrame(frame_size);
    if (!fifo_.empty() && !fifo_[0].empty()) {
      for (auto& ch : fifo_) ch.resize(frame_size, 0.0f);  // pad the tail with silence
      SendFrame(frame_size);
    }
    if (avcodec_send_frame(ctx_.get(), nullptr) >= 0) Drain();
  } catch (const NativeException&) {
    // the tail of the audio is lost; video is complete
  }
}

}  // namespace trickle
