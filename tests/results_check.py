#!/usr/bin/python3
"""Validate a ctlab --json file against docs/results.schema.json (Debian's
python3-jsonschema), and check what the schema cannot say: a send step's packet
is marked crafted and caused by that step, a DNAT run names the service among
its hosts, packets to it say so, and where the wire was captured each judged
packet is one copy at the observing host as it arrived.

Usage: results_check.py SCHEMA FILE [--mutate]
--mutate: take a required field out of the first packet first; the check must
then fail (a negative control).  Exit 1 with the first problem.
"""
import json
import sys

import jsonschema


def fail(message):
    print(f"results_check: {message}")
    sys.exit(1)


def main():
    schema = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
    if "--mutate" in sys.argv[3:]:
        for run in doc["runs"]:
            if run["packets"]:
                del run["packets"][0]["crafted"]
                break
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail(f"{len(errors)} schema errors, first at {list(errors[0].path)}: {errors[0].message}")
    crafted = service_runs = expectations = 0
    for run in doc["runs"]:
        for number, step in enumerate(run["steps"], 1):
            if step["kind"] == "expect" and not step["skipped"]:
                expectations += 1
            if "sent_packet" in step:
                packet = run["packets"][step["sent_packet"] - 1]
                if not packet["crafted"] or packet["step"] != number:
                    fail(f"{run['name']}: packet {packet['index']} of step {number} is not marked as crafted by it")
                crafted += 1
        if run["wire"] and run["outcome"] != "skip" and "wire_left_out" not in run:
            observer = [h["name"] for h in run["hosts"] if h["observing"]][0]
            arrived = [w["judged"] for w in run["wire"] if w.get("judged_as") == "arrived"]
            if sorted(arrived) != [p["index"] for p in run["packets"]]:
                fail(f"{run['name']}: judged packets {[p['index'] for p in run['packets']]}, "
                     f"copies as they arrived {sorted(arrived)}")
            if any(w["host"] != observer for w in run["wire"] if w.get("judged")):
                fail(f"{run['name']}: a judged copy not at the observing host {observer}")
        service = [h for h in run["hosts"] if h.get("service")]
        if service:
            service_runs += 1
            to_service = [p for p in run["packets"] if p["dst"] == service[0]["addr"]]
            if to_service and any(p["to"] != "service" for p in to_service):
                fail(f"{run['name']}: a packet to the service address is not said to go to the service")
    print(f"results_check: {len(doc['runs'])} runs valid; {crafted} crafted packets marked, "
          f"{service_runs} runs name the service, {expectations} expectations")


if __name__ == "__main__":
    main()
