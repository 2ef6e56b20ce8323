"""Writes ipatlas's embedded US states (admin-1) shapefile from us-atlas's states-10m.json
(US Census Bureau cartographic state boundaries, 2017 edition, 1:10m; public domain), as
GeoJSON converted by mapshaper (see build-subdivisions.sh).

Fields: ISO_3166_2 (`US-CA`), ISO_A2 (`US`), NAME. The 50 states and the District of
Columbia; the territories (PR, VI, GU, AS, MP) are left out: geolocation databases give
them their own country codes, and the embedded country basemap draws them.

Use: python3 subdivisions.py STATES_GEOJSON OUT_SHP_WITHOUT_EXTENSION
"""
import json
import sys

import shapefile

# Census FIPS state code -> (USPS code = ISO 3166-2:US subdivision code, name)
STATES = {
    "01": ("AL", "Alabama"), "02": ("AK", "Alaska"), "04": ("AZ", "Arizona"),
    "05": ("AR", "Arkansas"), "06": ("CA", "California"), "08": ("CO", "Colorado"),
    "09": ("CT", "Connecticut"), "10": ("DE", "Delaware"),
    "11": ("DC", "District of Columbia"), "12": ("FL", "Florida"), "13": ("GA", "Georgia"),
    "15": ("HI", "Hawaii"), "16": ("ID", "Idaho"), "17": ("IL", "Illinois"),
    "18": ("IN", "Indiana"), "19": ("IA", "Iowa"), "20": ("KS", "Kansas"),
    "21": ("KY", "Kentucky"), "22": ("LA", "Louisiana"), "23": ("ME", "Maine"),
    "24": ("MD", "Maryland"), "25": ("MA", "Massachusetts"), "26": ("MI", "Michigan"),
    "27": ("MN", "Minnesota"), "28": ("MS", "Mississippi"), "29": ("MO", "Missouri"),
    "30": ("MT", "Montana"), "31": ("NE", "Nebraska"), "32": ("NV", "Nevada"),
    "33": ("NH", "New Hampshire"), "34": ("NJ", "New Jersey"), "35": ("NM", "New Mexico"),
    "36": ("NY", "New York"), "37": ("NC", "North Carolina"), "38": ("ND", "North Dakota"),
    "39": ("OH", "Ohio"), "40": ("OK", "Oklahoma"), "41": ("OR", "Oregon"),
    "42": ("PA", "Pennsylvania"), "44": ("RI", "Rhode Island"),
    "45": ("SC", "South Carolina"), "46": ("SD", "South Dakota"), "47": ("TN", "Tennessee"),
    "48": ("TX", "Texas"), "49": ("UT", "Utah"), "50": ("VT", "Vermont"),
    "51": ("VA", "Virginia"), "53": ("WA", "Washington"), "54": ("WV", "West Virginia"),
    "55": ("WI", "Wisconsin"), "56": ("WY", "Wyoming"),
}
TERRITORIES = {"60", "66", "69", "72", "78"}


def rings_of(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    raise ValueError(geometry["type"])


def main(src, dst):
    with open(src, encoding="utf-8") as f:
        features = json.load(f)["features"]
    w = shapefile.Writer(dst, shapeType=shapefile.POLYGON, encoding="utf-8")
    w.field("ISO_3166_2", "C", 6)
    w.field("ISO_A2", "C", 2)
    w.field("NAME", "C", 40)
    seen = set()
    for feat in sorted(features, key=lambda f: str(f.get("id") or f["properties"].get("id"))):
        fips = str(feat.get("id") or feat["properties"].get("id")).zfill(2)
        name = feat["properties"].get("name")
        if fips in TERRITORIES:
            continue
        code, expected = STATES[fips]
        assert name == expected, (fips, name, expected)
        parts = []
        for polygon in rings_of(feat["geometry"]):
            for i, ring in enumerate(polygon):
                # Shapefiles want outer rings clockwise and holes counter-clockwise.
                area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
                clockwise = area < 0
                if clockwise != (i == 0):
                    ring = ring[::-1]
                parts.append(ring)
        w.poly(parts)
        w.record(f"US-{code}", "US", name)
        seen.add(fips)
    w.close()
    missing = set(STATES) - seen
    assert not missing, missing
    print(f"{len(seen)} states written to {dst}.shp")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
