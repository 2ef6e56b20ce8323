"""Derives ipatlas's embedded basemap from Natural Earth 1:10m admin-0 countries (public domain).

Step 1 (this script): every country code a geolocation database returns gets its own
polygon. Natural Earth draws 11 territories as parts of another country's shape
(French Guiana, Guadeloupe, Martinique, Reunion and Mayotte inside France; Svalbard and
Jan Mayen, and Bouvet Island inside Norway; the Caribbean Netherlands inside the
Netherlands; Christmas and Cocos Islands inside "Indian Ocean Ter."; Tokelau inside New
Zealand). Each ring whose bounding box lies inside one of the boxes below becomes a feature of
its own with that code. Step 2 (build-basemap.sh) simplifies with mapshaper.

Use: python3 basemap.py NE_10M_SHP_WITHOUT_EXTENSION OUT_SHP_WITHOUT_EXTENSION
"""
import sys
import shapefile

# code, name, (lon_min, lat_min, lon_max, lat_max), the codes it is carved out of
TERRITORIES = [
    ("GF", "French Guiana", (-54.7, 2.0, -51.4, 6.0), ("FR",)),
    ("GP", "Guadeloupe", (-62.0, 15.7, -60.8, 16.6), ("FR",)),
    ("MQ", "Martinique", (-61.4, 14.3, -60.7, 15.0), ("FR",)),
    ("RE", "Reunion", (55.1, -21.5, 56.0, -20.7), ("FR",)),
    ("YT", "Mayotte", (44.9, -13.1, 45.4, -12.5), ("FR",)),
    ("SJ", "Svalbard and Jan Mayen", (-9.5, 70.5, 36.0, 81.5), ("NO",)),
    ("BV", "Bouvet Island", (3.2, -54.6, 3.6, -54.3), ("NO",)),
    ("BQ", "Caribbean Netherlands", (-68.5, 11.9, -62.8, 17.7), ("NL",)),
    ("CX", "Christmas Island", (105.4, -10.7, 105.9, -10.3), ("AU",)),
    ("CC", "Cocos (Keeling) Islands", (96.7, -12.3, 97.0, -11.7), ("AU",)),
    ("TK", "Tokelau", (-172.7, -9.6, -171.0, -8.4), ("NZ",)),
]
FIELDS = ["NAME", "ISO_A2_EH", "ISO_A2", "WB_A2", "ADM0_A3", "POP_EST"]


def ring_bbox(points):
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def inside(b, box):
    return b[0] >= box[0] and b[1] >= box[1] and b[2] <= box[2] and b[3] <= box[3]


def main(src, dst):
    r = shapefile.Reader(src, encoding="utf-8")
    w = shapefile.Writer(dst, shapeType=shapefile.POLYGON, encoding="utf-8")
    w.field("NAME", "C", 60)
    w.field("ISO_A2_EH", "C", 3)
    w.field("ISO_A2", "C", 6)
    w.field("WB_A2", "C", 3)
    w.field("ADM0_A3", "C", 3)
    w.field("POP_EST", "N", 18, 0)
    carved = {code: [] for code, *_ in TERRITORIES}
    for shape, rec in zip(r.shapes(), r.records()):
        d = rec.as_dict()
        parts = list(shape.parts) + [len(shape.points)]
        rings = [shape.points[parts[i]:parts[i + 1]] for i in range(len(parts) - 1)]
        keep = []
        for ring in rings:
            b = ring_bbox(ring)
            for code, _, box, hosts in TERRITORIES:
                if d["ISO_A2_EH"] in hosts and inside(b, box):
                    carved[code].append(ring)
                    break
            else:
                keep.append(ring)
        if keep:
            w.poly(keep)
            w.record(*[d[f] for f in FIELDS])
    for code, name, _, _ in TERRITORIES:
        if not carved[code]:
            sys.exit(f"no part of the source lies in the box of {code}")
        w.poly(carved[code])
        w.record(name, code, code, code, "", 0)
    w.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
