"""Board backends: `sim` (pure Python) and `rpi` (RPi.GPIO, luma.oled, ALSA). Chosen by name only."""
