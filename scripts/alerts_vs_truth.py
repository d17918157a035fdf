#!/usr/bin/python3
"""The demo's last table: the alerts herd-api lists (herd-alerts --json alerts --status all) side by
side with the simulator's ground truth: each episode detected or missed, each alert true or false.

usage: alerts_vs_truth.py ALERTS.json GROUND_TRUTH.jsonl [HERD_REGISTRY.csv]

HERD_REGISTRY.csv (collar_id,animal_id,valid_from; herd-sim --registry-out): the simulated
herd's animals; alerts of other animals (the demo's Modbus base-station group, which the ground
truth does not cover) are listed as "no ground truth".

Matching: an alert is true if an episode of the same animal (device alerts: the same collar too)
makes its kind true and the alert was raised within the episode's window; the windows are
herd-eval's (bench/herd_eval/scoring.cpp, `accepts`), where the scoring of the rules is explained.
Episodes the rules cannot see (heat stress days, silent heats, collar moves) are listed as context.
"""
import json
import sys
from datetime import datetime

H = 3600_000
D = 24 * H


def ms(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000) if s else 0


def window(kind, e):
    first = min(e["prodrome"], e["onset"]) if e["prodrome"] else e["onset"]
    k = e["kind"]
    if kind == "fever" and k == "fever":
        return e["onset"] - 6 * H, e["end"] + 12 * H
    if kind == "estrus" and k == "estrus":
        return e["onset"] - 2 * H, e["end"] + 10 * H
    if kind == "rumination_drop" and k in ("ketosis", "displaced_abomasum", "fever", "lameness", "calving"):
        return first - 24 * H, e["end"] + 24 * H
    if kind == "lameness" and k == "lameness":
        return e["onset"], e["end"] + D
    if kind == "calving" and k == "calving":
        return e["peak"] - 36 * H, e["peak"] + 6 * H
    if kind == "device_offline" and k == "offline":
        return e["onset"], e["end"] + 2 * H
    if kind == "collar_fallen_off" and k == "fall_off":
        return e["onset"], e["end"] + H
    if kind == "low_battery" and k == "low_battery":
        return e["onset"], e["end"] + D
    return None


def main(argv):
    alerts = json.load(open(argv[1]))["alerts"]
    truth = []
    for line in open(argv[2]):
        if line.strip():
            e = json.loads(line)
            for f in ("onset", "prodrome", "peak", "diagnosis", "end"):
                e[f] = ms(e[f])
            truth.append(e)
    herd = None
    if len(argv) > 3:
        herd = set()
        for line in open(argv[3]):
            parts = line.strip().split(",")
            if len(parts) >= 2 and parts[1] and not line.startswith("#"):
                herd.add(parts[1])
    detected = {}
    rows = []
    for a in alerts:
        raised = ms(a["raised_at"])
        hit = None
        for e in truth:
            if e["animal_id"] != a["animal_id"]:
                continue
            if a.get("device_id") and e.get("collar_id") and e["collar_id"] != a["device_id"]:
                continue
            w = window(a["kind"], e)
            if w and w[0] <= raised <= w[1]:
                hit = e
                break
        if hit:
            detected.setdefault(hit["id"], []).append(a)
        if herd is not None and a["animal_id"] not in herd:
            match = "n/a   (not in the simulated herd: no ground truth)"
        elif hit:
            match = "TRUE  " + hit["kind"] + " #" + str(hit["id"])
        elif a["kind"] == "low_battery":
            match = "n/a   (a battery level; the ground truth has no battery episodes)"
        else:
            match = "FALSE"
        rows.append((a["animal_id"], a["kind"], a["raised_at"][:16], match))
    print(f"{'ANIMAL':<16} {'ALERT':<18} {'RAISED (UTC)':<17} MATCH")
    for r in sorted(rows):
        print(f"{r[0]:<16} {r[1]:<18} {r[2]:<17} {r[3]}")
    print()
    print(f"{'EPISODE':<8} {'ANIMAL':<16} {'KIND':<20} {'ONSET (UTC)':<17} RESULT")
    context = ("heat_stress", "collar_move")
    for e in truth:
        onset = datetime.utcfromtimestamp(e["onset"] / 1000).strftime("%Y-%m-%dT%H:%M")
        if e["kind"] in context or e.get("silent"):
            result = "context (" + ("silent heat" if e.get("silent") else "no alert expected") + ")"
        else:
            result = "detected (" + ", ".join(sorted({a["kind"] for a in detected[e["id"]]})) + ")" if e["id"] in detected else "MISSED"
        print(f"{e['id']:<8} {str(e['animal_id'] or '(herd)'):<16} {e['kind']:<20} {onset:<17} {result}")
    false = sum(1 for r in rows if r[3] == "FALSE")
    true = sum(1 for r in rows if r[3].startswith("TRUE"))
    expected = [e for e in truth if e["kind"] not in context and not e.get("silent")]
    missed = sum(1 for e in expected if e["id"] not in detected)
    print(f"\n{len(alerts)} alerts: {true} true, {false} false, {len(alerts) - true - false} without ground truth; "
          f"{len(expected) - missed} of {len(expected)} episodes detected, {missed} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
