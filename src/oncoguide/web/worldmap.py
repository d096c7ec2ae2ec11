"""The world map for the members map, drawn offline: country outlines from world-atlas 2.0.2
(Natural Earth 1:110m, TopoJSON; shipped in oncoguide/data with its ISC licence), projected with the
Equal Earth projection into SVG path data once per process. Country names and codes come from pycountry
(ISO 3166-1); a member's country is stored as its alpha-2 code, nothing finer."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from oncoguide.site.countries import country_names

ATLAS = Path(__file__).parent.parent / "data" / "world-atlas-countries-110m.json"
ANTARCTICA = "010"  # no members there; leaving it out gives the inhabited world more room
SCALE = 150  # px per projected unit: about 810 x 395 px, integer coordinates
FEWER_THAN = 5  # counts below this are shown as "fewer than 5", never exactly

# Equal Earth (Šavrič, Patterson & Jenny 2018, doi:10.1080/13658816.2018.1504949)
A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
M = math.sqrt(3) / 2


def equal_earth(lon: float, lat: float) -> tuple[float, float]:
    lam, phi = math.radians(lon), math.radians(lat)
    t = math.asin(M * math.sin(phi))
    t2 = t * t
    t6 = t2 * t2 * t2
    x = 2 * math.sqrt(3) * lam * math.cos(t) / (3 * (9 * A4 * t6 * t2 + 7 * A3 * t6 + 3 * A2 * t2 + A1))
    y = t * (A1 + A2 * t2 + t6 * (A3 + A4 * t2))
    return x, y


@dataclass(frozen=True)
class Outline:
    code: str
    name: str
    path: str  # SVG path data in the map's viewBox


@dataclass(frozen=True)
class WorldMap:
    width: int
    height: int
    outlines: tuple[Outline, ...]

    @cached_property
    def drawn(self) -> frozenset[str]:
        return frozenset(o.code for o in self.outlines)

    @cached_property
    def drawn_names(self) -> frozenset[str]:
        return frozenset(o.name for o in self.outlines)


Ring = list[tuple[float, float]]  # (longitude, latitude) in degrees


def _clip(ring: Ring, edge: float, keep_below: bool) -> Ring:
    """Sutherland-Hodgman: the part of a closed ring on one side of the meridian `edge`."""

    def inside(p: tuple[float, float]) -> bool:
        return p[0] <= edge if keep_below else p[0] >= edge

    out: Ring = []
    for i, cur in enumerate(ring):
        prev = ring[i - 1]
        if inside(cur) != inside(prev):
            t = (edge - prev[0]) / (cur[0] - prev[0])
            out.append((edge, prev[1] + t * (cur[1] - prev[1])))
        if inside(cur):
            out.append(cur)
    return out


def split_at_antimeridian(ring: Ring) -> list[Ring]:
    """A ring that crosses the 180° meridian (Fiji, eastern Russia: world-atlas 2 keeps them whole) cut
    into its pieces east and west of it, each closed along the map's edge; any other ring unchanged."""
    if all(abs(a[0] - b[0]) <= 180 for a, b in zip(ring, ring[1:], strict=False)):
        return [ring]
    unwrapped: Ring = [ring[0]]
    for lon, lat in ring[1:]:  # make the longitudes continuous: the ring then runs past 180 (or -180)
        prev = unwrapped[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        unwrapped.append((lon, lat))
    pieces = []
    low = math.floor((min(p[0] for p in unwrapped) + 180) / 360)
    high = math.floor((max(p[0] for p in unwrapped) + 180) / 360)
    for k in range(low, high + 1):
        west, east = -180 + 360 * k, 180 + 360 * k
        piece = _clip(_clip(unwrapped, west, keep_below=False), east, keep_below=True)
        if len(piece) >= 3:
            pieces.append([(lon - 360 * k, lat) for lon, lat in piece])
    return pieces


def densify_meridian(ring: Ring, step: float = 1.0) -> Ring:
    """Points every `step` degrees along a stretch of the ring that runs along the ±180° meridian, which
    Equal Earth draws as a curve."""
    out: Ring = []
    for i, (lon, lat) in enumerate(ring):
        out.append((lon, lat))
        nxt = ring[(i + 1) % len(ring)]
        if abs(lon) == 180 and nxt[0] == lon and abs(nxt[1] - lat) > step:
            n = math.ceil(abs(nxt[1] - lat) / step)
            out += [(lon, lat + (nxt[1] - lat) * j / n) for j in range(1, n)]
    return out


@lru_cache(maxsize=1)
def world() -> WorldMap:
    """Country outlines as SVG paths (relative coordinates, whole pixels); built once per process."""
    import pycountry

    topo = json.loads(ATLAS.read_text(encoding="utf-8"))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # delta-encoded, quantised positions
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))  # longitude, latitude
        arcs.append(points)
    x0 = equal_earth(180, 0)[0]
    top = equal_earth(0, 84)[1]
    bottom = equal_earth(0, -57)[1]

    def pixel(p: tuple[float, float]) -> tuple[int, int]:
        return round((p[0] + x0) * SCALE), round((top - p[1]) * SCALE)

    outlines = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        if numeric is None or numeric == ANTARCTICA:
            continue  # a few disputed areas have no ISO code
        iso = pycountry.countries.get(numeric=numeric)
        if iso is None:
            continue
        polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        parts = []
        for polygon in polygons:
            for ring in polygon:
                points = []
                for index in ring:
                    arc = arcs[index] if index >= 0 else arcs[~index][::-1]
                    points.extend(arc if not points else arc[1:])
                for piece in split_at_antimeridian(points):
                    pixels: list[tuple[int, int]] = []
                    for p in densify_meridian(piece):
                        q = pixel(equal_earth(*p))
                        if not pixels or pixels[-1] != q:
                            pixels.append(q)
                    if len(pixels) < 3:
                        continue  # an island smaller than a pixel
                    steps = [f"M{pixels[0][0]} {pixels[0][1]}"]
                    steps += [f"l{b[0] - a[0]} {b[1] - a[1]}" for a, b in zip(pixels, pixels[1:], strict=False)]
                    parts.append("".join(steps) + "z")
        if parts:
            outlines.append(Outline(iso.alpha_2, country_names().get(iso.alpha_2, iso.name), "".join(parts)))
    width = round(2 * x0 * SCALE)
    height = round((top - bottom) * SCALE)
    return WorldMap(width, height, tuple(sorted(outlines, key=lambda o: o.code)))


@lru_cache(maxsize=16)
def _svg(counts: tuple[tuple[str, int], ...]) -> str:
    from markupsafe import Markup, escape

    by_code = dict(counts)
    m = world()
    parts = [
        f'<svg viewBox="0 0 {m.width} {m.height}" role="img" aria-labelledby="map-title" class="world">'
        '<title id="map-title">World map shaded by how many members share each country; '
        "the table gives the same counts.</title>"
    ]
    for o in m.outlines:
        n = by_code.get(o.code, 0)
        tip = f"<title>{escape(o.name)}: {shown(n)}</title>" if n else ""
        b = band(n)
        parts.append(f'<path class="b{b}" fill="{FILLS[b]}" d="{o.path}">{tip}</path>')
    parts.append("</svg>")
    return Markup("".join(parts))


def members_svg(by_country: dict[str, int]) -> str:
    """The members map as inline SVG markup; the same counts give the same (cached) markup."""
    return _svg(tuple(sorted(by_country.items())))


BANDS = ((FEWER_THAN, "fewer than 5"), (20, "5 to 19"), (100, "20 to 99"), (None, "100 or more"))
# band 0 (no members) then bands 1-4: four steps of viridis (van der Walt & Smith), darker with more members, so
# they differ in lightness as well as hue (safe for each kind of colour blindness; tests/test_map_colours.py
# checks it), and even the first band stands 3:1 against a country with no members
FILLS = ("#e6e9ee", "#21918c", "#31688e", "#443983", "#440154")


def legend() -> list[tuple[str, str]]:
    """The map key: (swatch markup, label) for no members and for each band, filled as the map is."""
    from markupsafe import Markup

    def swatch(fill: str) -> str:
        return Markup(
            '<svg class="swatch" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
            f'<rect x=".5" y=".5" width="15" height="15" fill="{fill}" stroke="#5f6b7a"/></svg>'
        )

    return [(swatch(FILLS[0]), "no members yet")] + [
        (swatch(fill), label) for fill, (_upper, label) in zip(FILLS[1:], BANDS, strict=True)
    ]


def band(count: int) -> int:
    """The shading band (1-4) of a country with this many members; 0 when it has none."""
    if count <= 0:
        return 0
    for i, (upper, _label) in enumerate(BANDS, start=1):
        if upper is None or count < upper:
            return i
    return len(BANDS)


def shown(count: int) -> str:
    """A member count as readers see it: small counts are not given exactly."""
    return "fewer than 5" if 0 < count < FEWER_THAN else f"{count:,}"
