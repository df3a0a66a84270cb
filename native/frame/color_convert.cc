#include "frame/color_convert.h"

#include "frame/color_math.h"

namespace trickle {

void Nv12ToRgb24Cpu(const uint8_t* y, int y_pitch, const uint8_t* uv, int uv_pitch, uint8_t* rgb, int rgb_pitch,
                    int width, int height) {
  for (int row = 0; row < height; ++row) {
    const uint8_t* yrow = y + row * y_pitch;
    const uint8_t* uvrow = uv + (row / 2) * uv_pitch;
    uint8_t* out = rgb + row * rgb_pitch;
    for (int x = 0; x < width; ++x) {
      Bt601LimitedToRgb(yrow[x], uvrow[(x / 2) * 2], uvrow[(x / 2) * 2 + 1], out + x * 3);
    }
  }
}

}  // namespace trickle
