"""The display: screens as pure functions of the phone state, and a renderer to a Frame.

frame = render(screen(state, display.size))
"""

from firmware.ui.drawing import Drawing
from firmware.ui.render import render
from firmware.ui.screens import SCREENS, screen

__all__ = ["SCREENS", "Drawing", "render", "screen"]
