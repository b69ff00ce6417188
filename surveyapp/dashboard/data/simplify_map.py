"""Regenerate world.json from the npm package @svg-maps/world (run by hand, not by the app).

    npm pack @svg-maps/world@2.0.0 && tar xzf svg-maps-world-2.0.0.tgz
    python surveyapp/dashboard/data/simplify_map.py package/index.js 0.35 > world.json

The package's paths use only relative moves ("m") and closes ("z"). They are turned into
absolute polygons, simplified with Douglas-Peucker at the given tolerance (map units of the
1010 x 666 view box), and rounded to one decimal: 1.2 MB become about 240 kB, enough for a
country map. Tiny islands and states keep a small triangle so they stay visible.
"""

from __future__ import annotations

import json
import math
import re
import sys

TOKEN = re.compile(r"[mzMZ]|-?\d*\.?\d+(?:e-?\d+)?")
Point = tuple[float, float]


def polygons(path: str) -> list[list[Point]]:
    """Absolute polygons of a path made of relative moves and closes."""
    tokens = TOKEN.findall(path)
    shapes: list[list[Point]] = []
    x = y = 0.0
    start = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        command = tokens[i]
        i += 1
        if command in "zZ":
            x, y = start
            continue
        if command not in "mM":
            raise ValueError(f"unexpected path command {command!r}")
        current: list[Point] = []
        while i < len(tokens) and tokens[i] not in "mMzZ":
            x, y = x + float(tokens[i]), y + float(tokens[i + 1])
            i += 2
            current.append((x, y))
        if current:
            start = current[0]
            shapes.append(current)
    return shapes


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker: drop points closer than ``tolerance`` to the line they lie on."""
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy)
    best, index = -1.0, 0
    for k in range(1, len(points) - 1):
        px, py = points[k]
        if length > 1e-9:
            distance = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / length
        else:
            distance = math.hypot(px - x1, py - y1)
        if distance > best:
            best, index = distance, k
    if best > tolerance:
        return simplify(points[: index + 1], tolerance)[:-1] + simplify(points[index:], tolerance)
    return [points[0], points[-1]]


def main(source: str, tolerance: float) -> None:
    """Print the simplified map as JSON: view box, source, and a path per ISO code."""
    text = open(source, encoding="utf-8").read()  # noqa: SIM115 - a one-off tool
    world = json.loads(text[text.index("{") :].rstrip().rstrip(";"))
    countries = {}
    for location in world["locations"]:
        parts = []
        for shape in polygons(location["path"]):
            kept = simplify(shape, tolerance)
            if len(kept) < 3:
                if len(shape) < 3:
                    continue
                kept = shape[:: max(1, len(shape) // 3)][:3]
            parts.append(
                "M" + " ".join(f"{round(px, 1):g},{round(py, 1):g}" for px, py in kept) + "Z"
            )
        countries[location["id"]] = {"name": location["name"], "d": "".join(parts)}
    json.dump(
        {
            "viewBox": world["viewBox"],
            "source": "@svg-maps/world 2.0.0 by Victor Cazanave, CC BY 4.0, simplified",
            "countries": countries,
        },
        sys.stdout,
        separators=(",", ":"),
    )


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
