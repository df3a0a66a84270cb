#include "media/audio_track.h"

#include <cstring>
#include <string>

extern "C" {
#include <libavutil/channel_layout.h>
}

#include "media/encoder_timing.h"

namespace trickle {

AudioTrack::AudioTrack(const StreamEncoderOptions& options, EncoderReport* report, SegmentMuxer* muxer)
    : opts_(options), report_(report), muxer_(muxer) {}

void AudioTrack::OpenEncoder(const AudioFrame& a) {
  const bool opus = opts_.audio == AudioMode::kOpus;
  const char* name = opus ? "libopus" : "aac";
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (!codec) throw NativeException("ERR_ENCODER_UNAVAILABLE", std::string("audio encoder ") + name + " is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  if (opus && a.sample_rate() != 48000 && a.sample_rate() != 24000 && a.sample_rate() != 16000 && a.sample_rate() != 12000 &&
      a.sample_rate() != 8000) {
    throw NativeException("ERR_ENCODE", "Opus needs 48000, 24000, 16000, 12000 or 8000 Hz audio, got " + std::to_string(a.sample_rate()), "libopus");
  }
  if (a.channels() < 1 || a.channels() > 8 || a.sample_rate() <= 0) {
    throw NativeException("ERR_ENCODE", "unsupported audio: " + std::to_string(a.channels()) + " channels at " + std::to_string(a.sample_rate()) + " Hz", name);
  }
  UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
  ctx->sample_rate = a.sample_rate();
  av_channel_layout_default(&ctx->ch_layout, a.channels());
  ctx->sample_fmt = opus ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
  ctx->bit_rate = opts_.audio_bitrate;
  ctx->time_base = AVRational{1, a.sample_rate()};
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
    if (a.channels() != ctx_->ch_layout.nb_channels || a.sample_rate() != ctx_->sample_rate) {
      report_->Warn("ERR_ENCODE", "audio frame dropped: its format changed (" + std::to_string(a.channels()) + " ch, " +
                                      std::to_string(a.sample_rate()) + " Hz) and the audio encoder is not re-opened", "audio");
      return;
    }
    if (next_pts_ == AV_NOPTS_VALUE && a.pts() != AV_NOPTS_VALUE) {
      next_pts_ = av_rescale_q(a.pts(), a.time_base(), AVRational{1, a.sample_rate()}) +
                  av_rescale_q(pts_offset, kTsTimeBase, AVRational{1, a.sample_rate()});
    }
    if (next_pts_ == AV_NOPTS_VALUE) next_pts_ = 0;
    for (int c = 0; c < a.channels(); ++c) fifo_[c].insert(fifo_[c].end(), a.channel(c), a.channel(c) + a.samples());
    const int frame_size = ctx_->frame_size > 0 ? ctx_->frame_size : 1024;
    while (static_cast<int>(fifo_[0].size()) >= frame_size) SendFrame(frame_size);
  } catch (const NativeException& e) {
    failed_ = true;
    report_->Warn(e.error().code, "audio encoding disabled: " + e.error().message, e.error().op);
  }
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
