"""Split rectangles and counts in proportion to weights."""

from __future__ import annotations

from collections.abc import Sequence

BBox = tuple[float, float, float, float]

# Six decimals is ~0.1 m: exact enough, and keeps the files short.
DECIMALS = 6


def split_rect(bbox: BBox, weights: Sequence[float], lon_scale: float) -> list[BBox]:
    """Tile `bbox` with one rectangle per weight, areas proportional to the weights.

    Recursive halving by weight, always cutting across the longer side, keeps the
    pieces roughly square; neighbours in `weights` end up neighbours on the map.
    Each cut is rounded once and shared by both sides, so the tiling is exact.
    """
    if len(weights) == 1:
        return [bbox]
    total = sum(weights)
    k, acc, best = 1, 0.0, float("inf")
    for i in range(1, len(weights)):
        acc += weights[i - 1]
        if abs(acc - total / 2) < best:
            k, best = i, abs(acc - total / 2)
    frac = sum(weights[:k]) / total
    min_lon, min_lat, max_lon, max_lat = bbox
    if (max_lon - min_lon) * lon_scale >= max_lat - min_lat:
        cut = round(min_lon + (max_lon - min_lon) * frac, DECIMALS)
        if not min_lon < cut < max_lon:
            raise ValueError(f"rectangle {bbox} too small to split")
        first: BBox = (min_lon, min_lat, cut, max_lat)
        second: BBox = (cut, min_lat, max_lon, max_lat)
    else:
        cut = round(min_lat + (max_lat - min_lat) * frac, DECIMALS)
        if not min_lat < cut < max_lat:
            raise ValueError(f"rectangle {bbox} too small to split")
        first = (min_lon, min_lat, max_lon, cut)
        second = (min_lon, cut, max_lon, max_lat)
    return split_rect(first, weights[:k], lon_scale) + split_rect(second, weights[k:], lon_scale)


def centroid(bbox: BBox) -> tuple[float, float]:
    return (round((bbox[0] + bbox[2]) / 2, DECIMALS), round((bbox[1] + bbox[3]) / 2, DECIMALS))


def allocate(total: int, weights: Sequence[float], minimum: int, maximum: int) -> list[int]:
    """Split an exact `total` into integers proportional to `weights` within [min, max].

    Largest-remainder rounding, so the totals in the files are exact whatever the seed.
    """
    n = len(weights)
    if not minimum * n <= total <= maximum * n:
        raise ValueError(f"cannot split {total} into {n} parts of {minimum}..{maximum}")
    counts = [minimum] * n
    free = list(range(n))
    remaining = total - minimum * n
    while remaining > 0 and free:
        w = sum(weights[i] for i in free)
        shares = {i: remaining * weights[i] / w for i in free}
        room = {i: maximum - counts[i] for i in free}
        grant = {i: min(int(shares[i]), room[i]) for i in free}
        given = sum(grant.values())
        if given == 0:
            # Hand out single units by largest remainder (ties broken by position).
            for i in sorted(free, key=lambda j: (-(shares[j] - int(shares[j])), j)):
                if remaining == 0:
                    break
                if counts[i] < maximum:
                    counts[i] += 1
                    remaining -= 1
        else:
            for i, g in grant.items():
                counts[i] += g
            remaining -= given
        free = [i for i in free if counts[i] < maximum]
    return counts
