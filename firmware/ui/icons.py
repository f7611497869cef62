"""Hand-drawn status icons, 7 pixels high so they sit on the small font's cap height.

Each icon is a tuple of rows; '#' is a lit pixel. Pure data: the renderer turns them
into bitmaps once.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from firmware.ui.drawing import IconName

ICON_HEIGHT = 7

ICONS: Mapping[IconName, tuple[str, ...]] = MappingProxyType(
    {
        IconName.REGISTERED: (
            "..###..",
            ".#####.",
            "#######",
            "#######",
            "#######",
            ".#####.",
            "..###..",
        ),
        IconName.REGISTERING: (
            "..###..",
            ".###.#.",
            "####..#",
            "####..#",
            "####..#",
            ".###.#.",
            "..###..",
        ),
        IconName.REG_ERROR: (
            "##...##",
            "###.###",
            ".#####.",
            "..###..",
            ".#####.",
            "###.###",
            "##...##",
        ),
        IconName.UNCONFIGURED: (
            "..###..",
            ".#...#.",
            "#.....#",
            "#.###.#",
            "#.....#",
            ".#...#.",
            "..###..",
        ),
        IconName.HANDSET: (
            ".........",
            ".#######.",
            "#########",
            "##.....##",
            "###...###",
            "###...###",
            ".........",
        ),
        IconName.SPEAKER: (
            "...#..#.",
            "..##...#",
            "####.#.#",
            "####.#.#",
            "####.#.#",
            "..##...#",
            "...#..#.",
        ),
        IconName.HOLD: (
            "##..##",
            "##..##",
            "##..##",
            "##..##",
            "##..##",
            "##..##",
            "##..##",
        ),
        IconName.BELL: (
            "...#...",
            "..###..",
            ".#####.",
            ".#####.",
            ".#####.",
            "#######",
            "...#...",
        ),
        IconName.NO_AUDIO: (
            "...#....",
            "..##....",
            "####.#.#",
            "####..#.",
            "####.#.#",
            "..##....",
            "...#....",
        ),
        IconName.MESSAGE: (
            "#########",
            "##.....##",
            "#.#...#.#",
            "#..#.#..#",
            "#...#...#",
            "#.......#",
            "#########",
        ),
        IconName.AVAILABLE: (
            "..###..",
            ".#####.",
            "#######",
            "#######",
            "#######",
            ".#####.",
            "..###..",
        ),
        IconName.AWAY: (
            "..###..",
            ".#.#.#.",
            "#..#..#",
            "#..##.#",
            "#.....#",
            ".#...#.",
            "..###..",
        ),
        IconName.XA: (
            "..###..",
            ".##....",
            "##.....",
            "##.....",
            "##.....",
            ".##....",
            "..###..",
        ),
        IconName.DND: (
            "..###..",
            ".#####.",
            "#######",
            "#.....#",
            "#######",
            ".#####.",
            "..###..",
        ),
        IconName.OFFLINE: (
            "..###..",
            ".#...#.",
            "#.....#",
            "#.....#",
            "#.....#",
            ".#...#.",
            "..###..",
        ),
        IconName.MORE_UP: (
            ".......",
            "...#...",
            "..###..",
            ".#####.",
            "#######",
            ".......",
            ".......",
        ),
        IconName.MORE_DOWN: (
            ".......",
            ".......",
            "#######",
            ".#####.",
            "..###..",
            "...#...",
            ".......",
        ),
        IconName.ROOM: (
            "..#.#..",
            "..#.#..",
            "#######",
            "..#.#..",
            "#######",
            "..#.#..",
            "..#.#..",
        ),
    }
)


def icon_size(name: IconName) -> tuple[int, int]:
    rows = ICONS[name]
    return len(rows[0]), len(rows)
