#include "media/stream_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "common/fault_injection.h"
#include "common/thread_name.h"
#include "media/audio_track.h"
#include "media/segment_muxer.h"
#include "media/video_encoder.h"

namespace trickle {

StreamEncoder::StreamEncoder(const StreamEncoderOptions& options, StreamEncoderSink* sink)
    : options_(options), sink_(sink), report_(sink) {
  if (options_.encoder != "libx264" && options_.encoder != "h264_nvenc" && options_.encoder != "auto") {
    throw NativeException("ERR_INVALID_ARG", "unknown encoder " + options_.encoder, "encoder");
  }
  if (options_.encoder != "h264_nvenc" && !avcodec_find_encoder_by_name("libx264")) {
    throw NativeException("ERR_ENCODER_UNAVAILABLE", "libx264 is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  }
  if (options_.encoder == "h264_nvenc") {
    std::string why;
    if (!NvencAvailable(&why)) {
      throw NativeException("ERR_NVENC_UNAVAILABLE", "h264_nvenc is not available: " + why + " (use encoder 'libx264' or 'auto')", "h264_nvenc");
    }
  }
  if (options_.audio == AudioMode::kOpus && !avcodec_find_encoder_by_name("libopus")) {
    throw NativeException("ERR_ENCODER_UNAVAILABLE", "libopus is not in this FFmpeg build (use audio 'aac')", "avcodec_find_encoder_by_name");
  }
  if (options_.audio == AudioMode::kAac && !avcodec_find_encoder_by_name("aac")) {
    throw NativeException("ERR_ENCODER_UNAVAILABLE", "the aac encoder is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  }
  if (options_.max_queue < 1) options_.max_queue = 1;
}

StreamEncoder::~StreamEncoder() {
  Cancel();
  Join();
}

void StreamEncoder::Start() {
  thread_ = std::thread([this] {
    NameCurrentThread("trt-encode");
    Run();
  });
}

bool StreamEncoder::Submit(Item item) {
  bool has_room = true;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (ended_ || cancelled_) return true;
    queue_.push_back(std::move(item));
    if (static_cast<int>(queue_.size()) >= options_.max_queue) {
      producer_waiting_ = true;
      has_room = false;
    }
  }
  // Woken after the lock is released (the encoder thread would otherwise block on it at once).
  queue_cv_.notify_all();
  return has_room;
}

bool StreamEncoder::SubmitVideo(VideoFramePtr frame) { return Submit(Item{std::move(frame), nullptr, nullptr}); }
bool StreamEncoder::SubmitAudio(AudioFramePtr audio) { return Submit(Item{nullptr, std::move(audio), nullptr}); }
bool StreamEncoder::SubmitAudioPacket(AudioPacketPtr packet) { return Submit(Item{nullptr, nullptr, std::move(packet)}); }

void StreamEncoder::End() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  ended_ = true;
  queue_cv_.notify_all();
}

void StreamEncoder::Cancel() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  cancelled_ = true;
  queue_.clear();  // releases the queued frames (and their pool slots) now
  queue_cv_.notify_all();
}

void StreamEncoder::Join() {
  if (thread_.joinable()) thread_.join();
}

StreamEncoderStats StreamEncoder::Stats() const { return report_.Snapshot(); }

void StreamEncoder::Run() {
  NativeError error;
  bool failed = false;
  try {
    SegmentMuxer muxer(&report_);
    VideoEncoder video(options_, &report_);
    AudioTrack audio(options_, &report_, &muxer);
    const VideoEncoder::PacketFn write_video = [&muxer](AVPacket* pkt) { muxer.WriteVideo(pkt); };
    // Tests of the stream pipeline's restart path: this encoder fails at its 25th video frame.
    const bool inject_failure = FaultInjected("encoder-fails-at-frame-25");
    int video_frames = 0;
    for (;;) {
      Item item;
      bool notify = false;
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return cancelled_ || ended_ || !queue_.empty(); });
        if (cancelled_) break;
        if (queue_.empty()) {  // ended and drained
          lock.unlock();
          video.Flush(write_video);
          audio.Flush();
          muxer.Finish();
          break;
        }
        item = std::move(queue_.front());
        queue_.pop_front();
        if (producer_waiting_ && static_cast<int>(queue_.size()) <= options_.max_queue / 2) {
          producer_waiting_ = false;
          notify = true;
        }
      }
      if (notify) sink_->OnWritable();
      if (item.video) {
        report_.Update([](StreamEncoderStats& s) { ++s.frames_in; });
        if (inject_failure && ++video_frames == 25) {
          throw NativeException("ERR_ENCODE", "injected encoder failure at frame 25 (TRICKLE_RT_INJECT)", "encoder");
        }
        if (!video.context()) {
          video.Open(*item.video);
          muxer.AttachVideo(video.context());
        }
        // Held audio waits for a segment that declares it: this frame becomes an IDR (a new segment).
        const bool cut = muxer.cut_requested();
        if (video.Encode(*item.video, cut, write_video) && cut) muxer.ClearCutRequest();
      } else if (item.audio) {
        audio.Encode(*item.audio, video.pts_offset());
      } else if (item.packet) {
        audio.Remux(*item.packet, video.pts_offset());
      }
    }
  } catch (const NativeException& e) {
    error = e.error();
    failed = true;
  } catch (const std::exception& e) {
    error = NativeError{"ERR_NATIVE", e.what(), "encoder", 0, false};
    failed = true;
  }
  {
    // Frames still queued (after an error) are released here, on the encoder thread.
    std::lock_guard<std::mutex> lock(queue_mu_);
    ended_ = true;  // later submissions are dropped
    queue_.clear();
  }
  sink_->OnEnd(failed && !cancelled_ ? &error : nullptr);
}

}  // namespace trickle
