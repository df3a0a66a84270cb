#include "frame/audio_convert.h"

#include <algorithm>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include "common/ffmpeg_handles.h"
#include "common/native_error.h"

namespace trickle {

void SwrContextDeleter::operator()(SwrContext* s) const { swr_free(&s); }

UniqueSwrContext OpenAudioConverter(int in_channels, int in_rate, int out_channels, int out_rate) {
  if (in_channels < 1 || in_channels > 8 || out_channels < 1 || out_channels > 8 || in_rate <= 0 || out_rate <= 0) {
    throw NativeException("ERR_INVALID_ARG",
                          "audio conversion takes 1 to 8 channels at a positive rate: " + std::to_string(in_channels) + " ch " +
                              std::to_string(in_rate) + " Hz -> " + std::to_string(out_channels) + " ch " + std::to_string(out_rate) + " Hz",
                          "swresample");
  }
  AVChannelLayout in_layout, out_layout;
  av_channel_layout_default(&in_layout, in_channels);
  av_channel_layout_default(&out_layout, out_channels);
  SwrContext* raw = nullptr;
  const int ret = swr_alloc_set_opts2(&raw, &out_layout, AV_SAMPLE_FMT_FLTP, out_rate, &in_layout, AV_SAMPLE_FMT_FLTP, in_rate, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  av_channel_layout_uninit(&out_layout);
  ThrowIfAvError(ret, "ERR_ENCODE", "swr_alloc_set_opts2");
  UniqueSwrContext swr(raw);
  ThrowIfAvError(av_opt_set_double(swr.get(), "rematrix_maxval", 1.0, 0), "ERR_ENCODE", "av_opt_set_double(rematrix_maxval)");
  if (in_channels == 1 && out_channels == 2) {
    const double duplicate[2] = {1.0, 1.0};
    ThrowIfAvError(swr_set_matrix(swr.get(), duplicate, 1), "ERR_ENCODE", "swr_set_matrix");
  }
  ThrowIfAvError(swr_init(swr.get()), "ERR_ENCODE", "swr_init");
  return swr;
}

AudioFramePtr ConvertAudioFrame(const AudioFrame& in, int channels, int sample_rate) {
  UniqueSwrContext swr = OpenAudioConverter(in.channels(), in.sample_rate(), channels, sample_rate);
  const int capacity = swr_get_out_samples(swr.get(), in.samples()) + 64;
  std::vector<std::vector<float>> out(channels, std::vector<float>(capacity));
  std::vector<uint8_t*> out_ptrs(channels);
  std::vector<const uint8_t*> in_ptrs(in.channels());
  for (int c = 0; c < in.channels(); ++c) in_ptrs[c] = reinterpret_cast<const uint8_t*>(in.channel(c));
  int total = 0;
  for (int pass = 0; pass < 2; ++pass) {  // the samples, then what the filter still holds
    for (int c = 0; c < channels; ++c) out_ptrs[c] = reinterpret_cast<uint8_t*>(out[c].data() + total);
    const int n = pass == 0 ? swr_convert(swr.get(), out_ptrs.data(), capacity - total, in_ptrs.data(), in.samples())
                            : swr_convert(swr.get(), out_ptrs.data(), capacity - total, nullptr, 0);
    ThrowIfAvError(n, "ERR_ENCODE", "swr_convert");
    total += n;
  }
  UniqueAVFrame f = AudioFrame::AllocateFltp(channels, total, sample_rate, in.pts());
  for (int c = 0; c < channels; ++c) std::copy(out[c].begin(), out[c].begin() + total, reinterpret_cast<float*>(f->extended_data[c]));
  return std::make_shared<const AudioFrame>(std::move(f), in.time_base());
}

}  // namespace trickle
