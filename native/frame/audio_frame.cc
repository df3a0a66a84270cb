#include "frame/audio_frame.h"

#include <atomic>
#include <cstring>

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace trickle {
namespace {
std::atomic<long> g_audio_alive{0};
}

AudioFrame::AudioFrame(UniqueAVFrame frame, AVRational time_base, std::shared_ptr<FramePoolLease> lease)
    : frame_(std::move(frame)), time_base_(time_base), lease_(std::move(lease)) {
  if (!frame_ || frame_->format != AV_SAMPLE_FMT_FLTP || frame_->ch_layout.nb_channels <= 0 ||
      frame_->sample_rate <= 0 || frame_->nb_samples < 0) {
    throw NativeException("ERR_INVALID_ARG", "AudioFrame needs planar float32 samples with channels and a sample rate",
                          "AudioFrame");
  }
  g_audio_alive.fetch_add(1, std::memory_order_relaxed);
}

AudioFrame::~AudioFrame() { g_audio_alive.fetch_sub(1, std::memory_order_relaxed); }

long AudioFrame::alive() { return g_audio_alive.load(std::memory_order_relaxed); }

UniqueAVFrame AudioFrame::AllocateFltp(int channels, int samples, int sample_rate, int64_t pts) {
  if (channels <= 0 || channels > 64 || samples < 0 || sample_rate <= 0) {
    throw NativeException("ERR_INVALID_ARG", "invalid audio frame shape", "AudioFrame::AllocateFltp");
  }
  UniqueAVFrame f = MakeAVFrame();
  f->format = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&f->ch_layout, channels);
  f->sample_rate = sample_rate;
  f->nb_samples = samples;
  f->pts = pts;
  ThrowIfAvError(av_frame_get_buffer(f.get(), 0), "ERR_OUT_OF_MEMORY", "av_frame_get_buffer");
  for (int c = 0; c < channels; ++c) std::memset(f->extended_data[c], 0, sizeof(float) * samples);
  return f;
}

std::shared_ptr<const AudioFrame> AudioFrame::FromAVFrame(UniqueAVFrame in, AVRational time_base,
                                                          std::shared_ptr<FramePoolLease> lease) {
  if (!in) throw NativeException("ERR_INVALID_ARG", "null audio frame", "AudioFrame::FromAVFrame");
  const auto fmt = static_cast<AVSampleFormat>(in->format);
  if (fmt == AV_SAMPLE_FMT_FLTP) return std::make_shared<AudioFrame>(std::move(in), time_base, std::move(lease));
  const int ch = in->ch_layout.nb_channels;
  const int n = in->nb_samples;
  UniqueAVFrame out = AllocateFltp(ch, n, in->sample_rate, in->pts);
  av_channel_layout_uninit(&out->ch_layout);
  ThrowIfAvError(av_channel_layout_copy(&out->ch_layout, &in->ch_layout), "ERR_OUT_OF_MEMORY", "av_channel_layout_copy");
  for (int c = 0; c < ch; ++c) {
    float* dst = reinterpret_cast<float*>(out->extended_data[c]);
    for (int i = 0; i < n; ++i) {
      switch (fmt) {
        case AV_SAMPLE_FMT_FLT: dst[i] = reinterpret_cast<const float*>(in->extended_data[0])[i * ch + c]; break;
        case AV_SAMPLE_FMT_S16: dst[i] = reinterpret_cast<const int16_t*>(in->extended_data[0])[i * ch + c] / 32768.0f; break;
        case AV_SAMPLE_FMT_S16P: dst[i] = reinterpret_cast<const int16_t*>(in->extended_data[c])[i] / 32768.0f; break;
        case AV_SAMPLE_FMT_S32:
          dst[i] = static_cast<float>(reinterpret_cast<const int32_t*>(in->extended_data[0])[i * ch + c] / 2147483648.0);
          break;
        case AV_SAMPLE_FMT_S32P:
          dst[i] = static_cast<float>(reinterpret_cast<const int32_t*>(in->extended_data[c])[i] / 2147483648.0);
          break;
        default:
          throw NativeException("ERR_INVALID_ARG",
                                std::string("unsupported audio sample format ") +
                                    (av_get_sample_fmt_name(fmt) ? av_get_sample_fmt_name(fmt) : "?"),
                                "AudioFrame::FromAVFrame");
      }
    }
  }
  return std::make_shared<AudioFrame>(std::move(out), time_base, std::move(lease));
}

}  // namespace trickle
