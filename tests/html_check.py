#!/usr/bin/python3
"""Check the DOM of a ctlab report page as Chromium rendered it (--dump-dom)
against the results.json it was made from.

Usage: html_check.py RESULTS.json DOM.html [RUN] [--step N]
       html_check.py --screenshot PNG
For every run in RESULTS: its section is there with its outcome, and its
diagram has one arrow (g.hop) per wire copy that arrived (or per observed
packet, where the wire was not captured).  For RUN (default
invalid-not-unnated/ipv4): the INVALID badge with conntrack's reason, and the
hop that reached the client from the server's own address, marked as a DNAT
not undone.  With --step N: the panel shows the N-th hop and it is the current
one (the page's keyboard step-through, opened at #step=N).  --screenshot: the
PNG is a page, not a blank (its pixels take many values).  Exit 1 with the
first problem.
"""
import html.parser
import json
import struct
import sys
import zlib


class Dom(html.parser.HTMLParser):
    """The sections, hops and texts of a rendered page, as a list of elements."""

    def __init__(self):
        super().__init__()
        self.stack = []         # open elements: (tag, attrs, text parts)
        self.sections = {}      # run name -> {"outcome", "hops": [...], "badges": [...]}
        self.section = None
        self.panel = None
        self.void = {"meta", "br", "img", "input", "link", "hr"}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.void:
            return
        self.stack.append((tag, attrs, []))
        if tag == "section" and "data-name" in attrs:
            self.section = {"outcome": attrs.get("data-outcome"), "hops": [], "badges": [],
                            "reasons": []}
            self.sections[attrs["data-name"]] = self.section

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_data(self, data):
        for _, _, parts in self.stack:
            parts.append(data)

    def handle_endtag(self, tag):
        if tag in self.void or not self.stack:
            return
        while self.stack:
            open_tag, attrs, parts = self.stack.pop()
            if open_tag == tag:
                break
        words = "".join(parts)
        classes = attrs.get("class", "").split()
        if tag == "title" and self.stack and "hop" in self.stack[-1][1].get("class", "").split():
            self.stack[-1][1].setdefault("_title", words)
        elif tag == "g" and "hop" in classes and self.section is not None:
            self.section["hops"].append({"attrs": attrs, "text": words, "classes": classes})
        elif tag == "g" and "b" in classes and self.section is not None:
            self.section["badges"].append({"classes": classes, "text": words})
        elif tag == "text" and "reason" in classes and self.section is not None:
            self.section["reasons"].append(words)
        elif tag == "div" and attrs.get("id") == "panel":
            self.panel = words
        elif tag == "section":
            self.section = None


def fail(message):
    print(f"html_check: {message}")
    sys.exit(1)


def arrivals(run):
    """The arrows a run's diagram must have: wire copies that arrived, else packets."""
    if run.get("wire"):
        return [c for c in run["wire"] if c["direction"] == "in"]
    return run["packets"]


def screenshot(path):
    """Width, height and the number of distinct byte values of a PNG's pixels."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    pixels = zlib.decompress(idat)
    return width, height, len(set(pixels))


def main():
    if sys.argv[1] == "--screenshot":
        width, height, values = screenshot(sys.argv[2])
        # A blank page is one colour: its rows hold a handful of values.
        if values < 64:
            fail(f"{sys.argv[2]}: {width}x{height}, {values} distinct values: blank")
        print(f"{width}x{height}, {values} distinct byte values")
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    step = None
    if "--step" in sys.argv:
        step = int(sys.argv[sys.argv.index("--step") + 1])
        args.remove(str(step))
    doc = json.load(open(args[0]))
    dom = Dom()
    dom.feed(open(args[1], encoding="utf-8").read())
    focus = args[2] if len(args) > 2 else "invalid-not-unnated/ipv4"
    hops = 0
    for run in doc["runs"]:
        section = dom.sections.get(run["name"])
        if section is None:
            fail(f"{run['name']}: no section")
        if section["outcome"] != run["outcome"]:
            fail(f"{run['name']}: outcome {section['outcome']}, the results say {run['outcome']}")
        want = min(len(arrivals(run)), 400)
        if len(section["hops"]) != want:
            fail(f"{run['name']}: {len(section['hops'])} arrows, {want} packets arrived")
        hops += want
    run = next((r for r in doc["runs"] if r["name"] == focus), None)
    if run is None:
        fail(f"{focus}: not in the results")
    section = dom.sections[focus]
    invalid = [p for p in run["packets"] if p["verdict"] == "invalid" and p["reason"]]
    if not invalid:
        fail(f"{focus}: the results have no INVALID packet with a reason")
    if not any("invalid" in b["classes"] and "INVALID" in b["text"] for b in section["badges"]):
        fail(f"{focus}: no INVALID badge")
    reason = invalid[0]["reason"]
    if not any(reason[:60] in r for r in section["reasons"]):
        fail(f"{focus}: the reason '{reason}' is not beside a hop")
    server = next(h["addr"] for h in run["hosts"] if h["name"] == "server")
    leak = [h for h in section["hops"] if h["attrs"].get("data-to") == "client" and
            server in h["text"] and "not undone" in h["text"]]
    if not leak:
        fail(f"{focus}: no hop to the client from the server's address {server} marked as a DNAT not undone")
    if step is not None:
        everything = [h for s in dom.sections.values() for h in s["hops"]]
        current = [h for h in everything if "cur" in h["classes"]]
        if len(current) != 1 or current[0] is not everything[step - 1]:
            fail(f"#step={step}: hop {step} is not the one current ({len(current)} current)")
        if dom.panel != current[0]["attrs"].get("_title"):
            fail(f"#step={step}: the panel shows '{dom.panel}', not the hop's details")
    print(f"{len(doc['runs'])} runs, {hops} arrows as the packets; {focus}: INVALID badge and "
          f"reason, the un-DNATed hop from {server}" + (f"; #step={step} current" if step else ""))


main()
