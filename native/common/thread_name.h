// Names the calling thread (as `top -H`, `ps -L`, perf and /proc/<pid>/task/<tid>/comm show it).
// Threads a named thread starts (libavcodec's and x264's workers) inherit its name on Linux, so a
// decoder's or encoder's CPU time can be told apart from the JS thread's. Best effort: a no-op
// where the platform has no thread names. Names are cut to 15 bytes (the Linux limit).
#pragma once

#if defined(__linux__)
#include <pthread.h>
#endif

namespace trickle {

inline void NameCurrentThread(const char* name) {
#if defined(__linux__)
  char cut[16] = {0};
  for (int i = 0; i < 15 && name[i] != '\0'; ++i) cut[i] = name[i];
  pthread_setname_np(pthread_self(), cut);
#else
  (void)name;
#endif
}

}  // namespace trickle
