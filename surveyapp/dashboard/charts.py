"""Charts drawn on the server as SVG: bar charts and country maps, no script, no CDN.

Every chart prints its numbers as text beside the marks (and the pages put the same
figures in a table), so nothing depends on telling colours apart. The map's geometry is
shipped with the package (``data/world.json``; see ``data/README.md`` for its source).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from markupsafe import Markup, escape

from surveyapp.paths import PACKAGE_DIR

MAP_FILE = PACKAGE_DIR / "dashboard" / "data" / "world.json"
Region = Literal["world", "europe"]
VIEW_BOXES: dict[Region, tuple[float, float, float, float]] = {
    "world": (0, 0, 1010, 666),
    "europe": (400, 170, 215, 200),
}
# Light to dark steps of one hue; the legend names each step's range in words and digits.
SHADES = ("#e8eef6", "#b9cde6", "#7ea6d3", "#3f77b8", "#1c4f8a")
NO_DATA = "#f4f4f4"
MAP_CREDIT = "Map: @svg-maps/world by Victor Cazanave (CC BY 4.0), simplified."
# The geometry is a Mercator projection; fitted (least squares, residuals under one map
# unit) to the outlines' extremes of 16 countries with known bounds: x = X0 + SCALE * lon,
# y = Y0 - SCALE * 180/pi * ln(tan(pi/4 + lat/2)).
PROJECTION_X0, PROJECTION_Y0, PROJECTION_SCALE = 474.79, 462.76, 2.8045
# A point's radius for one entry, in map units; it grows with the square root of the count.
POINT_RADIUS: dict[Region, float] = {"world": 2.4, "europe": 1.1}


def bar_chart(rows: list[tuple[str, int]], *, label: str, width: int = 640) -> Markup:
    """A horizontal bar chart with each value printed at the end of its bar."""
    if not rows:
        return Markup("")
    row_height, label_width, number_width = 24, 230, 70
    bar_space = width - label_width - number_width
    top = max(value for _, value in rows) or 1
    height = row_height * len(rows) + 4
    parts = [
        Markup(
            '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
            'width="100%" preserveAspectRatio="xMinYMin meet">'
        ).format(label, width, height)
    ]
    for index, (name, value) in enumerate(rows):
        y = index * row_height + 2
        length = round(bar_space * value / top, 1)
        parts.append(
            Markup(
                "<g><title>{name}: {value}</title>"
                '<text x="{lx}" y="{ty}" text-anchor="end">{short}</text>'
                '<rect x="{bx}" y="{by}" width="{length}" height="{bh}" class="bar"></rect>'
                '<text x="{vx}" y="{ty}">{value}</text></g>'
            ).format(
                name=name,
                value=value,
                short=name if len(name) <= 34 else name[:33] + "…",
                lx=label_width - 8,
                ty=y + 16,
                bx=label_width,
                by=y + 3,
                length=length,
                bh=row_height - 8,
                vx=label_width + length + 6,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


@dataclass(frozen=True)
class Shape:
    """A country's outline and where to print its figure."""

    path: str
    label_x: float
    label_y: float
    bounds: tuple[float, float, float, float]


@cache
def shapes() -> dict[str, Shape]:
    """Country outlines by upper-case ISO code, with a label point in the largest part."""
    world = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    found = {}
    for code, country in world["countries"].items():
        parts = re.findall(r"M([^Z]*)Z", country["d"])
        best: tuple[float, float, float, float, float] | None = None
        every_x: list[float] = []
        every_y: list[float] = []
        for part in parts:
            points = [tuple(map(float, p.split(","))) for p in part.split()]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            every_x += xs
            every_y += ys
            area = (max(xs) - min(xs)) * (max(ys) - min(ys))
            if best is None or area > best[0]:
                best = (area, min(xs), min(ys), max(xs), max(ys))
        if best is None:
            continue
        _, x0, y0, x1, y1 = best
        found[code.upper()] = Shape(
            country["d"],
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            (min(every_x), min(every_y), max(every_x), max(every_y)),
        )
    return found


def steps(top: int) -> list[int]:
    """Lower bounds of the shading steps for counts up to ``top`` (1 always first)."""
    bounds = [1]
    for candidate in (2, 3, 5, 10, 20, 50, 100, 200, 500, 1000):
        if candidate <= top and len(bounds) < len(SHADES):
            bounds.append(candidate)
    return bounds


def _shade(value: int, bounds: list[int]) -> str:
    if value <= 0:
        return NO_DATA
    index = max(i for i, bound in enumerate(bounds) if value >= bound)
    return SHADES[index + len(SHADES) - len(bounds)]


def legend(counts: dict[str, int]) -> list[tuple[str, str]]:
    """(fill colour, range in digits) for each step used by the map of these counts."""
    bounds = steps(max(counts.values(), default=1))
    items = [(NO_DATA, "0")]
    for index, low in enumerate(bounds):
        high = bounds[index + 1] - 1 if index + 1 < len(bounds) else None
        text = f"{low}" if high == low else (f"{low}\u2013{high}" if high else f"{low}+")
        items.append((_shade(low, bounds), text))
    return items


@dataclass(frozen=True)
class MapPoint:
    """A facility drawn at its place: ``title`` is its accessible name and tooltip."""

    latitude: float
    longitude: float
    count: int
    title: str


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """Map coordinates of a place, in the geometry's view box."""
    phi = math.radians(max(-85.0, min(85.0, latitude)))
    y = PROJECTION_Y0 - PROJECTION_SCALE * 180 / math.pi * math.log(math.tan(math.pi / 4 + phi / 2))
    return PROJECTION_X0 + PROJECTION_SCALE * longitude, y


def point_radius(count: int, region: Region) -> float:
    """A point's radius: its area grows with the number of entries it stands for."""
    return round(POINT_RADIUS[region] * math.sqrt(max(count, 1)), 2)


def _points(points: list[MapPoint], region: Region) -> list[Markup]:
    """Circles, largest first so smaller ones stay visible on top, each with its title."""
    x, y, w, h = VIEW_BOXES[region]
    drawn = []
    for point in sorted(points, key=lambda p: (-p.count, p.title)):
        px, py = project(point.latitude, point.longitude)
        if not (x <= px <= x + w and y <= py <= y + h):
            continue
        drawn.append(
            Markup(
                '<circle cx="{:.2f}" cy="{:.2f}" r="{}" class="facility"><title>{}</title></circle>'
            ).format(px, py, point_radius(point.count, region), point.title)
        )
    return drawn


def country_map(
    counts: dict[str, int],
    *,
    region: Region,
    names: dict[str, str],
    label: str,
    points: list[MapPoint] | None = None,
) -> Markup:
    """A map of counts per country code; each counted country shows its number on it, and
    each point (a facility at its city) is drawn above, sized by its count."""
    x, y, w, h = VIEW_BOXES[region]
    bounds = steps(max(counts.values(), default=1))
    outlines = shapes()
    parts = [
        Markup(
            '<svg class="map" role="img" aria-label="{}" viewBox="{} {} {} {}" '
            'width="100%" preserveAspectRatio="xMidYMid meet">'
        ).format(label, x, y, w, h)
    ]
    size = 2.6 if region == "europe" else 6.5
    labels = []
    for code, shape in outlines.items():
        x0, y0, x1, y1 = shape.bounds
        if x1 < x or x0 > x + w or y1 < y or y0 > y + h:
            continue
        value = counts.get(code, 0)
        name = names.get(code, code)
        parts.append(
            Markup('<path d="{}" fill="{}" class="country"><title>{}: {}</title></path>').format(
                shape.path, _shade(value, bounds), name, value
            )
        )
        if value:
            labels.append(
                Markup(
                    '<text x="{:.1f}" y="{:.1f}" font-size="{}" class="count" '
                    'text-anchor="middle">{}</text>'
                ).format(shape.label_x, shape.label_y + size / 3, size, value)
            )
    parts += labels
    parts += _points(points or [], region)
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def credit() -> Markup:
    """The attribution the map geometry's licence asks for."""
    return escape(MAP_CREDIT)
