"""PNG plots for docs/: latencies (medians with spread bars, phone next to baresip) and RSS over the
consecutive calls of the soak. matplotlib without pyplot: a bare `matplotlib.figure.Figure` saves
through the Agg backend (no display, no global state)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure as Canvas

from bench.soak import kib_per_call
from bench.stats import Figure, summarize

PHONE_COLOUR, BARESIP_COLOUR = "#1f77b4", "#ff7f0e"


def _bars(
    figures: list[Figure], unit: str, path: Path, *, width: float, log: bool, title: str, xlabel: str
) -> Path:
    """One row per figure in `unit` (table order, top to bottom): a horizontal bar per side at the
    median, whiskers from low to high of its spread (min-max or p10-p90, as in the table); phone and
    baresip side by side where both were measured."""
    rows = [f for f in figures if f.unit == unit][::-1]
    height = 0.38
    fig = Canvas(figsize=(width, 0.42 * len(rows) + 1.6), dpi=110)
    ax = fig.subplots()
    for i, f in enumerate(rows):
        for side, samples, colour, offset in (
            ("phone", f.phone, PHONE_COLOUR, height / 2 if f.baresip else 0.0),
            ("baresip", f.baresip, BARESIP_COLOUR, -height / 2),
        ):
            if not samples:
                continue
            s = summarize(samples)
            ax.barh(
                i + offset,
                s.median,
                height=height,
                color=colour,
                xerr=[[s.median - s.low], [s.high - s.median]],
                error_kw={"ecolor": "black", "capsize": 3, "elinewidth": 1},
                label=side,
            )
            ax.annotate(
                f"{s.median:.3g}",
                (s.high, i + offset),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
    ax.set_yticks(range(len(rows)), [f"{f.key}  {_short(f.name)}" for f in rows], fontsize=8)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))  # one entry per side
    ax.legend(list(unique.values()), list(unique.keys()), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")  # the legend sits right of the bars, clear of them
    return path


def latency(figures: list[Figure], path: Path) -> Path:
    """Every figure in ms, on a log scale (0.04 ms to 0.5 s on one axis)."""
    return _bars(
        figures,
        "ms",
        path,
        width=11,
        log=True,
        title="Latencies: phone (firmware) vs baresip, same run",
        xlabel="ms (log scale); bar = median, whiskers = spread (min-max for N < 20, else p10-p90)",
    )


def memory(figures: list[Figure], path: Path) -> Path:
    """Every process RSS figure (MiB)."""
    return _bars(
        figures,
        "MiB",
        path,
        width=9,
        log=False,
        title="Process memory: phone agent vs baresip, same run",
        xlabel="VmRSS, MiB; bar = median, whiskers = spread (min-max for N < 20, else p10-p90)",
    )


def _short(name: str, width: int = 60) -> str:
    return name if len(name) <= width else name[: width - 1] + "\u2026"


def rss(soak: dict[str, list[float]], path: Path) -> Path:
    """VmRSS of both phones after each counted call of the soak."""
    fig = Canvas(figsize=(9, 4.5), dpi=110)
    ax = fig.subplots()
    for who, colour in (("caller", PHONE_COLOUR), ("callee", BARESIP_COLOUR)):
        values = soak[who]
        ax.plot(
            range(1, len(values) + 1),
            values,
            color=colour,
            linewidth=1.2,
            label=f"{who}: {values[0]:.1f} -> {values[-1]:.1f} MiB, {kib_per_call(values):+.1f} KiB/call",
        )
    calls = len(soak["caller"])
    ax.set_xlabel("consecutive calls (after 3 warm-up calls)")
    ax.set_ylabel("VmRSS (MiB)")
    ax.set_title(f"Phone agents' RSS over {calls:,} consecutive calls (G.722, RTP both ways)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    return path
