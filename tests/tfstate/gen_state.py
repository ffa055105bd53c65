#!/usr/bin/env python3
"""Writes realistic Terraform state files (format version 4) for tfsnap's tests.

Deterministic for a given --seed: root and nested modules (including a module for_each),
count and for_each instances (int and string index keys, some needing JSON escaping), data
sources, sensitive and plain outputs, dependencies and plausible attributes.

  gen_state.py --out base.tfstate --summary base.json --resources 200 --seed 1
  gen_state.py --out next.tfstate --summary next.json --changes changes.json \
      --resources 200 --seed 1 --mutate
  gen_state.py --out big.tfstate --summary big.json --size-mb 100

--mutate writes the "next version" of the state the same options give without it: some
resources and instances added, removed and changed, outputs added, removed and changed, serial
+1. --changes reports those differences, found by comparing the two states' instances by
address (canonical JSON), in the order tfsnap reports them.

--summary reports what was written: version, serial, lineage, terraform_version, resource
counts (managed, data), instances, modules (distinct non-root module paths), sorted output
names, and the values of sensitive outputs (so tests can check they never leak).
"""

import argparse
import json
import random
import sys

MODULES = [
    "",
    "",
    "module.net",
    "module.app",
    "module.app.module.db",
    'module.regional["us-east-1"]',
    'module.regional["eu-west-1"]',
]

FOR_EACH_KEYS = ["a", "b", "us-east-1a", 'with "quote"', "back\\slash", "tab\there", "zone-\u00e9", "line\nbreak"]

MANAGED = [
    ("aws_instance", "count"),
    ("aws_subnet", "for_each"),
    ("aws_security_group", "single"),
    ("aws_s3_bucket", "single"),
    ("aws_iam_role", "for_each"),
    ("aws_route53_record", "count"),
    ("random_id", "single"),
]
DATA = [
    ("aws_ami", "single"),
    ("aws_availability_zones", "single"),
    ("aws_iam_policy_document", "for_each"),
]


def hexid(rng, n=17):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def attributes(rng, rtype, name, key):
    rid = f"{rtype.split('_', 1)[-1][:3]}-{hexid(rng)}"
    return {
        "id": rid,
        "arn": f"arn:aws:{rtype.split('_')[1]}:us-east-1:123456789012:{name}/{rid}",
        "tags": {"Name": f"{name}-{key}" if key is not None else name, "Env": rng.choice(["prod", "stage"])},
        "tags_all": {"ManagedBy": "terraform"},
        "cidr_block": f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24",
        "instance_type": rng.choice(["t3.micro", "m6i.large", None]),
        "enabled": rng.random() < 0.5,
        "port": rng.randrange(1, 65536),
        "ratio": round(rng.random(), 4),
        "ingress": [
            {"from_port": p, "to_port": p, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}
            for p in rng.sample([22, 80, 443, 5432, 8080], rng.randrange(0, 3))
        ],
        "timeouts": None,
    }


def make_resource(rng, i, modules=MODULES, prefix=""):
    data = rng.random() < 0.2
    rtype, style = rng.choice(DATA if data else MANAGED)
    name = f"{prefix}{rtype.split('_')[-1]}_{i}"
    if style == "count":
        keys = list(range(rng.randrange(1, 4)))
    elif style == "for_each":
        keys = sorted(rng.sample(FOR_EACH_KEYS, rng.randrange(1, 4)))
    else:
        keys = [None]
    module = rng.choice(modules)
    deps = [] if data else [f"{module + '.' if module else ''}aws_iam_role.role_{rng.randrange(max(i, 1))}"]
    res = {
        "module": module,
        "mode": "data" if data else "managed",
        "type": rtype,
        "name": name,
        "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": [],
    }
    if not module:
        del res["module"]
    for k in keys:
        inst = {"schema_version": 1 if not data else 0, "attributes": attributes(rng, rtype, name, k)}
        if k is not None:
            inst["index_key"] = k
        if not data:
            inst["sensitive_attributes"] = []
            inst["private"] = "eyJzY2hlbWFfdmVyc2lvbiI6IjEifQ=="
            inst["dependencies"] = deps
        res["instances"].append(inst)
    return res


def make_outputs(rng, seed):
    return {
        "vpc_id": {"value": f"vpc-{hexid(rng)}", "type": "string"},
        "subnet_ids": {"value": [f"subnet-{hexid(rng)}" for _ in range(3)], "type": ["list", "string"]},
        "instance_count": {"value": rng.randrange(1, 10), "type": "number"},
        "db_password": {"value": f"pw-SENSITIVE-{seed}-{hexid(rng, 12)}", "type": "string", "sensitive": True},
        "api_token": {"value": {"token": f"tok-SENSITIVE-{hexid(rng, 20)}"}, "type": ["object", {"token": "string"}],
                      "sensitive": True},
    }


def address(res, inst):
    out = res.get("module", "")
    out = out + "." if out else ""
    if res["mode"] == "data":
        out += "data."
    out += f"{res['type']}.{res['name']}"
    if "index_key" in inst:
        k = inst["index_key"]
        out += f"[{k}]" if isinstance(k, int) else "[" + json.dumps(k, ensure_ascii=False) + "]"
    return out


def index(resources):
    out = {}
    for r in resources:
        rest = json.dumps(r.get("provider"))
        for inst in r["instances"]:
            out[address(r, inst)] = rest + json.dumps(inst, sort_keys=True)
    return out


def mutate(rng, resources, outputs, n):
    resources = json.loads(json.dumps(resources))
    outputs = json.loads(json.dumps(outputs))
    order = list(range(len(resources)))
    rng.shuffle(order)
    k = max(1, len(resources) // 10)
    change, remove, trim, grow = order[:k], set(order[k:k + k // 2 + 1]), order[2 * k:3 * k], order[3 * k:4 * k]
    for i in change:
        inst = rng.choice(resources[i]["instances"])
        inst["attributes"]["tags"]["Revision"] = hexid(rng, 8)
    for i in trim:
        if len(resources[i]["instances"]) > 1:
            resources[i]["instances"].pop()
    for i in grow:
        r = resources[i]
        if any(isinstance(x.get("index_key"), int) for x in r["instances"]):
            extra = json.loads(json.dumps(r["instances"][-1]))
            extra["index_key"] = len(r["instances"])
            r["instances"].append(extra)
    resources = [r for i, r in enumerate(resources) if i not in remove]
    resources += [make_resource(rng, n + j, prefix="new_") for j in range(max(1, n // 20))]
    del outputs["instance_count"]
    outputs["vpc_id"]["value"] = f"vpc-{hexid(rng)}"
    outputs["db_password"]["value"] = f"pw-SENSITIVE-next-{hexid(rng, 12)}"
    outputs["lb_dns_name"] = {"value": f"lb-{hexid(rng, 8)}.elb.amazonaws.com", "type": "string"}
    outputs["new_secret"] = {"value": f"new-SENSITIVE-{hexid(rng, 12)}", "type": "string", "sensitive": True}
    return resources, outputs


def changes(old_res, new_res, old_out, new_out):
    a, b = index(old_res), index(new_res)
    rows = [{"address": x, "kind": "removed"} for x in a if x not in b]
    rows += [{"address": x, "kind": "added"} for x in b if x not in a]
    rows += [{"address": x, "kind": "changed"} for x in a if x in b and a[x] != b[x]]
    rows.sort(key=lambda r: r["address"].encode("utf-8"))
    outs = []
    for name in sorted(set(old_out) | set(new_out), key=lambda s: s.encode("utf-8")):
        o, n = old_out.get(name), new_out.get(name)
        sensitive = bool((o or {}).get("sensitive")) or bool((n or {}).get("sensitive"))
        if o is None:
            outs.append({"name": name, "kind": "added", "sensitive": sensitive})
        elif n is None:
            outs.append({"name": name, "kind": "removed", "sensitive": sensitive})
        elif json.dumps(o, sort_keys=True) != json.dumps(n, sort_keys=True):
            outs.append({"name": name, "kind": "changed", "sensitive": sensitive})
    return {"resources": rows, "outputs": outs}


def sensitive_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from sensitive_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from sensitive_strings(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--summary")
    ap.add_argument("--changes")
    ap.add_argument("--resources", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--serial", type=int, default=1)
    ap.add_argument("--lineage", default="5f0c6c3e-7d1a-4b7e-9a53-3d1c2b4a6e10")
    ap.add_argument("--terraform-version", default="1.9.8")
    ap.add_argument("--mutate", action="store_true")
    ap.add_argument("--size-mb", type=float, default=0)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    resources = [make_resource(rng, i) for i in range(args.resources)]
    outputs = make_outputs(rng, args.seed)
    serial = args.serial
    if args.mutate:
        new_res, new_out = mutate(random.Random(args.seed * 7919 + 1), resources, outputs, args.resources)
        if args.changes:
            with open(args.changes, "w", encoding="utf-8") as f:
                json.dump(changes(resources, new_res, outputs, new_out), f, indent=2, ensure_ascii=False)
        resources, outputs, serial = new_res, new_out, serial + 1

    counts = {"managed": 0, "data": 0, "instances": 0}
    modules = set()

    def count(r):
        counts[r["mode"]] += 1
        counts["instances"] += len(r["instances"])
        if r.get("module"):
            modules.add(r["module"])

    target = int(args.size_mb * 1024 * 1024)
    with open(args.out, "w", encoding="utf-8") as f:
        head = {"version": 4, "terraform_version": args.terraform_version, "serial": serial,
                "lineage": args.lineage, "outputs": outputs}
        text = json.dumps(head, indent=2, ensure_ascii=False)
        f.write(text[:-2] + ',\n  "resources": [')
        written = len(text)
        first = True
        for r in resources:
            count(r)
            chunk = ("\n" if first else ",\n") + json.dumps(r, indent=2, ensure_ascii=False)
            f.write(chunk)
            written += len(chunk)
            first = False
        bulk_modules = [f"module.bulk_{m}" for m in range(40)] + [""]
        pad_rng = random.Random(args.seed + 1000003)
        i = 0
        while written < target:
            r = make_resource(pad_rng, i, modules=bulk_modules, prefix="bulk_")
            count(r)
            chunk = ("\n" if first else ",\n") + json.dumps(r, ensure_ascii=False, separators=(",", ":"))
            f.write(chunk)
            written += len(chunk)
            first = False
            i += 1
        f.write('\n  ],\n  "check_results": null\n}\n')

    if args.summary:
        summary = {
            "version": 4,
            "serial": serial,
            "lineage": args.lineage,
            "terraform_version": args.terraform_version,
            "managed_resources": counts["managed"],
            "data_resources": counts["data"],
            "instances": counts["instances"],
            "modules": len(modules),
            "outputs": sorted(outputs, key=lambda s: s.encode("utf-8")),
            "sensitive_values": sorted(
                s for o in outputs.values() if o.get("sensitive") for s in sensitive_strings(o["value"])),
        }
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
