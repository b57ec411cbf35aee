"""Charts drawn on the server as inline SVG: the pages need no script and nothing from outside (no CDN).

Each function takes plain numbers and returns ``Markup`` ready for a template. Text is escaped; ``None`` values
are drawn as "no data" (hatched), never as zero. Sizes are in SVG user units; the CSS scales them.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

# Colours chosen to stay apart for red-green colour blindness (blue-orange scale).
LOW, HIGH, NONE = (239, 243, 255), (8, 81, 156), "url(#nodata)"
FACE_COLOURS = ("#d7301f", "#fc8d59", "#91bfdb", "#4575b4")
_HATCH = (
    '<defs><pattern id="nodata" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#f4f4f4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/>'
    "</pattern></defs>"
)


def _svg(width: float, height: float, body: str, label: str, cls: str) -> Markup:
    return Markup(
        f'<svg class="chart {cls}" viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{_HATCH}{body}</svg>'
    )


def _mix(t: float) -> str:
    t = min(1.0, max(0.0, t))
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(LOW, HIGH, strict=False))
    return f"rgb({r},{g},{b})"


def heat_strip(values: Sequence[int | None], label: str = "interactions per hour of day") -> Markup:
    """24 cells, one per local hour; darker = more interactions; hatched = no hourly row."""
    cell, h = 30, 34
    top = max([v for v in values if v is not None] or [0])
    parts = []
    for i, v in enumerate(values):
        fill = NONE if v is None else _mix(v / top if top else 0.0)
        title = f"{i:02d}:00 - " + ("no hourly figures" if v is None else f"{v} interactions")
        parts.append(
            f'<rect class="cell" data-hour="{i}" data-value="{"" if v is None else v}" x="{i * cell}" y="0" '
            f'width="{cell - 2}" height="{h}" rx="3" fill="{fill}"><title>{escape(title)}</title></rect>'
        )
        if i % 3 == 0:
            parts.append(f'<text x="{i * cell + 2}" y="{h + 14}" class="tick">{i:02d}</text>')
    return _svg(24 * cell, h + 18, "".join(parts), label, "heat")


def _face(cx: float, cy: float, r: float, value: int) -> str:
    # Mouth curvature goes from frown (1) to smile (4); the faces match the terminal's four buttons.
    bend = (-0.5, -0.2, 0.2, 0.5)[value - 1] * r
    mouth_y = cy + 0.35 * r
    return (
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{FACE_COLOURS[value - 1]}"/>'
        f'<circle cx="{cx - r * 0.35}" cy="{cy - r * 0.25}" r="{r * 0.1}" fill="#fff"/>'
        f'<circle cx="{cx + r * 0.35}" cy="{cy - r * 0.25}" r="{r * 0.1}" fill="#fff"/>'
        f'<path d="M{cx - r * 0.45},{mouth_y} Q{cx},{mouth_y + bend} {cx + r * 0.45},{mouth_y}" '
        f'stroke="#fff" stroke-width="{r * 0.12}" fill="none" stroke-linecap="round"/>'
    )


def rating_faces(counts: Sequence[int], label: str = "ratings by face") -> Markup:
    """Four faces (1 unhappy .. 4 happy), each with a bar as long as its share of the taps."""
    total = sum(counts)
    row, bar_w = 40, 260
    parts = []
    for i, c in enumerate(counts):
        y = i * row
        share = c / total if total else 0.0
        parts.append(_face(18, y + 18, 15, i + 1))
        parts.append(f'<rect x="42" y="{y + 8}" width="{bar_w}" height="20" rx="3" fill="#eee"/>')
        parts.append(
            f'<rect class="bar" data-face="{i + 1}" data-count="{c}" x="42" y="{y + 8}" width="{share * bar_w:.1f}" '
            f'height="20" rx="3" fill="{FACE_COLOURS[i]}"/>'
        )
        parts.append(f'<text x="{42 + bar_w + 8}" y="{y + 23}" class="value">{c} ({share:.0%})</text>')
    return _svg(42 + bar_w + 90, 4 * row, "".join(parts), label, "faces")


def share_bar(share: float | None, label: str) -> Markup:
    """A 0..1 share as a filled bar with its percentage; hatched when unknown."""
    w, h = 200, 16
    if share is None:
        body = f'<rect width="{w}" height="{h}" rx="3" fill="{NONE}"/>'
    else:
        body = (
            f'<rect width="{w}" height="{h}" rx="3" fill="#eee"/>'
            f'<rect class="bar" width="{max(0.0, min(1.0, share)) * w:.1f}" height="{h}" rx="3" fill="{_mix(0.8)}"/>'
        )
    return _svg(w, h, body, label, "share")


def distance_bands(p50: float | None, p90: float | None, edges_m: Sequence[float], label: str = "approach distance") -> Markup:
    """The DESIGN §4 bands on a 0..(last edge + 1) m scale, with markers at the pooled p50 and p90."""
    w, h, top = 420, 56, float(edges_m[-1]) + 1.0
    names = ("intimate", "personal", "social", "public")
    colours = ("#fdd0a2", "#c6dbef", "#9ecae1", "#deebf7")
    x = lambda m: 10 + (w - 20) * min(m, top) / top  # noqa: E731 - a scale, used only here
    parts, lo = [], 0.0
    for name, hi, col in zip(names, [*edges_m, top], colours, strict=False):
        parts.append(f'<rect class="band" data-band="{name}" x="{x(lo):.1f}" y="8" width="{x(hi) - x(lo):.1f}" height="22" fill="{col}"/>')
        if x(hi) - x(lo) > 8 * len(name):  # label only the bands wide enough to hold it
            parts.append(f'<text x="{x(lo) + 3:.1f}" y="23" class="tick">{name}</text>')
        parts.append(f'<text x="{x(hi) - 3:.1f}" y="44" class="tick" text-anchor="middle">{hi:g}</text>')
        lo = hi
    for name, v in (("p50", p50), ("p90", p90)):
        if v is not None:
            parts.append(
                f'<line class="marker" data-stat="{name}" x1="{x(v):.1f}" x2="{x(v):.1f}" y1="2" y2="36" stroke="#222" '
                f'stroke-width="{3 if name == "p50" else 1.5}"><title>{name} {v:.2f} m</title></line>'
            )
    return _svg(w, h, "".join(parts), label, "bands")


def sparkline(values: Sequence[float | None], label: str, width: int = 120, height: int = 28) -> Markup:
    """A small line over weekly values; gaps (None) break the line; the last point is marked."""
    known = [v for v in values if v is not None]
    if not known:
        return _svg(width, height, f'<rect width="{width}" height="{height}" fill="{NONE}"/>', label + " (no data)", "spark")
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = (width - 6) / max(1, len(values) - 1)
    segs: list[list[str]] = [[]]
    last = ""
    for i, v in enumerate(values):
        if v is None:
            segs.append([])
            continue
        px, py = 3 + i * step, height - 3 - (height - 6) * (v - lo) / span
        segs[-1].append(f"{px:.1f},{py:.1f}")
        last = f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{_mix(1)}"/>'
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="{_mix(0.8)}" stroke-width="1.5"/>' for s in segs if s
    )
    return _svg(width, height, lines + last, label, "spark")


def hour_profile(customers: Sequence[int | None], satisfaction: Sequence[float | None], unit: str,
                 label: str = "satisfaction and customers by hour") -> Markup:
    """24 local hours: a bar per hour as tall as its customers, coloured by its satisfaction index (0-100);
    the index is written above the bar. Hatched: no hourly figures."""
    cell, h, top_pad = 30, 90, 16
    top = max([v for v in customers if v is not None] or [0])
    parts = []
    for i in range(24):
        v, s = customers[i], satisfaction[i]
        x = i * cell
        if v is None:
            parts.append(f'<rect class="hour" data-hour="{i}" data-value="" x="{x}" y="{top_pad}" width="{cell - 3}" '
                         f'height="{h}" rx="2" fill="{NONE}"><title>{i:02d}:00 - no hourly figures</title></rect>')
        else:
            bh = max(2.0, h * (v / top if top else 0))
            fill = _mix(0.15 + 0.85 * (s / 100)) if s is not None else "#bbb"
            title = f"{i:02d}:00 - {v} {unit}" + ("" if s is None else f", {s:.0f}/100")
            parts.append(f'<rect class="hour" data-hour="{i}" data-value="{v}" data-satisfaction="{"" if s is None else round(s)}" '
                         f'x="{x}" y="{top_pad + h - bh:.1f}" width="{cell - 3}" height="{bh:.1f}" rx="2" fill="{fill}">'
                         f"<title>{escape(title)}</title></rect>")
            if s is not None:
                parts.append(f'<text x="{x + (cell - 3) / 2}" y="{top_pad + h - bh - 3:.1f}" class="tick" '
                             f'text-anchor="middle">{s:.0f}</text>')
        if i % 3 == 0:
            parts.append(f'<text x="{x + 2}" y="{top_pad + h + 14}" class="tick">{i:02d}</text>')
    return _svg(24 * cell, top_pad + h + 18, "".join(parts), label, "heat")


def week_heat(cells: dict[tuple[int, int], float], satisfaction: dict[tuple[int, int], float],
              weekdays: Sequence[str], label: str) -> Markup:
    """Weekday (rows, Monday first) x local hour (columns): darker = more customers on average; hatched = none."""
    cw, ch, left = 26, 22, 86
    top = max(cells.values(), default=0.0)
    parts = []
    for d in range(7):
        y = d * ch
        parts.append(f'<text x="{left - 6}" y="{y + 15}" class="tick" text-anchor="end">{escape(weekdays[d])}</text>')
        for hr in range(24):
            v = cells.get((d, hr))
            fill = NONE if v is None else _mix(v / top if top else 0.0)
            s = satisfaction.get((d, hr))
            title = f"{weekdays[d]} {hr:02d}:00 - " + ("no hourly figures" if v is None else f"{v:.1f}") + (
                "" if s is None else f", {s:.0f}/100")
            parts.append(f'<rect class="cell" data-day="{d}" data-hour="{hr}" data-value="{"" if v is None else round(v, 2)}" '
                         f'x="{left + hr * cw}" y="{y}" width="{cw - 2}" height="{ch - 2}" rx="2" fill="{fill}">'
                         f"<title>{escape(title)}</title></rect>")
    for hr in range(0, 24, 3):
        parts.append(f'<text x="{left + hr * cw + 2}" y="{7 * ch + 12}" class="tick">{hr:02d}</text>')
    return _svg(left + 24 * cw, 7 * ch + 16, "".join(parts), label, "heat week")
