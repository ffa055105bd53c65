#!/usr/bin/env python3
"""Writes a realistic history of Terraform states (format version 4) for environments, the
way a team's applies would have written them: one lineage per environment, the serial
+1 per version, resources from modules (module.network, module.app["api"], module.db), count
and for_each instances, data sources, plain and sensitive outputs, and a Terraform upgrade
on the way. Deterministic for a given --seed.

  gen_history.py --out DIR [--seed 42] [--env prod:8 --env staging:7 --env dev:6]
                 [--incident prod]

For each environment NAME:N it writes DIR/NAME/001.tfstate ... DIR/NAME/00N.tfstate, the
first N steps of one story (at most 10):

   1  bootstrap: VPC, subnets, NAT gateways, a bastion host
   2  ECS cluster, load balancer and the api service
   3  the web frontend, with DNS records
   4  the PostgreSQL database (module.db)
   5  api v1.5.0, scaled out
   6  a worker service and its job queues, CPU alarms
   7  Terraform upgrade, one more NAT gateway
   8  the bastion host replaced by SSM Session Manager
   9  the database on a bigger instance class, longer backups
  10  the web frontend moved to CloudFront

--incident NAME also writes DIR/NAME/incident.tfstate, the version after the last one in
which someone ran `terraform state rm module.db` by mistake (serial +1, the module's
resources gone, everything else as it was; without module.db, the last module.app instance
is removed instead).

DIR/NAME/history.json lists every file with its serial, lineage, Terraform version, counts,
the story line ("message") and what changed since the previous version (instances added,
removed and changed, by address). A table of the same goes to standard output.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import uuid

STORY = [
    "bootstrap: VPC, subnets, NAT gateways, a bastion host",
    "ECS cluster, load balancer and the api service",
    "the web frontend, with DNS records",
    "the PostgreSQL database (module.db)",
    "api v1.5.0, scaled out",
    "a worker service and its job queues, CPU alarms",
    "Terraform {tf_new}, one more NAT gateway",
    "the bastion host replaced by SSM Session Manager",
    "the database on a bigger instance class, 14-day backups",
    "the web frontend moved to CloudFront",
]
INCIDENT = "terraform state rm {module} (by mistake)"

# per environment: network number, availability zones, NAT gateways, api tasks, DB classes
PROFILES = {
    "prod": dict(net=10, azs=3, nat=2, api=(4, 6), db=("db.r6g.large", "db.r6g.xlarge"), domain="example.com"),
    "staging": dict(net=20, azs=2, nat=1, api=(2, 3), db=("db.t4g.medium", "db.t4g.large"),
                    domain="staging.example.com"),
    "dev": dict(net=30, azs=2, nat=1, api=(1, 1), db=("db.t4g.micro", "db.t4g.small"), domain="dev.example.com"),
}
REGION = "us-east-1"
ACCOUNT = "123456789012"
TF_OLD, TF_NEW = "1.8.5", "1.9.8"
AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
RANDOM = 'provider["registry.terraform.io/hashicorp/random"]'
PRIVATE = "eyJlMmJmYjczMC1lY2FhLTExZTYtOGY4OC0zNDM2M2JjN2M0YzAiOnsiY3JlYXRlIjo2MDAwMDAwMDAwMDB9fQ=="


class Env:
    """One environment's infrastructure, changed step by step."""

    def __init__(self, name, seed):
        digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
        self.rng = random.Random(int.from_bytes(digest[:8], "big"))
        self.name = name
        p = PROFILES.get(name)
        if p is None:
            p = dict(net=40 + self.rng.randrange(200), azs=2, nat=1, api=(1, 2),
                     db=("db.t4g.small", "db.t4g.medium"), domain=f"{name}.example.com")
        self.p = p
        self.azs = [f"{REGION}{c}" for c in "abcdef"[: p["azs"]]]
        self.lineage = str(uuid.UUID(bytes=digest[8:24], version=4))
        self.serial = self.rng.randrange(20, 140)
        self.tf = TF_OLD
        self.resources = {}  # (module, mode, type, name) -> {"provider", "instances": {key: inst}}
        self.outputs = {}

    # ------------------------------------------------------------------ ids and helpers
    def hexid(self, n=17):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def arn(self, service, what):
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{what}"

    def tags(self, name, **extra):
        t = {"Name": f"{self.name}-{name}", "Environment": self.name, "ManagedBy": "terraform"}
        t.update(extra)
        return t

    def put(self, module, rtype, name, key, attrs, mode="managed", deps=(), provider=AWS, schema=0,
            sensitive=None):
        r = self.resources.setdefault((module, mode, rtype, name), {"provider": provider, "instances": {}})
        inst = {"schema_version": schema, "attributes": attrs}
        if mode == "managed":
            inst["sensitive_attributes"] = sensitive or []
            inst["private"] = PRIVATE
            if deps:
                inst["dependencies"] = sorted(set(deps))
        r["instances"][key] = inst
        return attrs

    def get(self, module, rtype, name, key=None, mode="managed"):
        return self.resources[(module, mode, rtype, name)]["instances"][key]["attributes"]

    def drop(self, module, rtype=None, name=None, key=None, mode="managed"):
        for k in list(self.resources):
            if k[0] != module or (rtype is not None and (k[1], k[2], k[3]) != (mode, rtype, name)):
                continue
            if key is None:
                del self.resources[k]
            else:
                self.resources[k]["instances"].pop(key, None)
                if not self.resources[k]["instances"]:
                    del self.resources[k]

    def modules(self):
        return {k[0] for k in self.resources if k[0]}

    # ------------------------------------------------------------------ the story
    def step(self, n):
        getattr(self, f"step{n}")()
        self.serial += 1

    def step1(self):
        m = "module.network"
        net = self.p["net"]
        self.put(m, "aws_availability_zones", "available", None, mode="data", attrs={
            "id": REGION, "all_availability_zones": None, "exclude_names": None, "filter": None,
            "group_names": [REGION], "names": list(self.azs), "state": "available",
            "zone_ids": [f"use1-az{i + 1}" for i in range(len(self.azs))]})
        vpc = self.put(m, "aws_vpc", "this", None, schema=1, attrs={
            "id": f"vpc-{self.hexid()}", "arn": self.arn("ec2", "vpc/"), "cidr_block": f"10.{net}.0.0/16",
            "enable_dns_hostnames": True, "enable_dns_support": True, "instance_tenancy": "default",
            "main_route_table_id": f"rtb-{self.hexid()}", "owner_id": ACCOUNT, "tags": self.tags("vpc"),
            "tags_all": self.tags("vpc")})
        vpc["arn"] += vpc["id"]
        self.put(m, "aws_internet_gateway", "this", None, deps=[f"{m}.aws_vpc.this"], attrs={
            "id": f"igw-{self.hexid()}", "owner_id": ACCOUNT, "vpc_id": vpc["id"], "tags": self.tags("igw")})
        for i, az in enumerate(self.azs):
            for tier, base in (("public", 0), ("private", 100)):
                sid = f"subnet-{self.hexid()}"
                self.put(m, "aws_subnet", tier, az, schema=1, deps=[f"{m}.aws_vpc.this"], attrs={
                    "id": sid, "arn": self.arn("ec2", f"subnet/{sid}"), "availability_zone": az,
                    "cidr_block": f"10.{net}.{base + i * 16}.0/20", "map_public_ip_on_launch": tier == "public",
                    "vpc_id": vpc["id"], "tags": self.tags(f"{tier}-{az}", Tier=tier)})
        for i in range(self.p["nat"]):
            self.add_nat(i)
        for i, az in enumerate(self.azs):
            self.put(m, "aws_route_table", "private", az, deps=[f"{m}.aws_nat_gateway.this", f"{m}.aws_vpc.this"],
                     attrs={"id": f"rtb-{self.hexid()}", "vpc_id": vpc["id"], "route": [],
                            "tags": self.tags(f"private-{az}")})
            self.route_via_nat(i % self.p["nat"], az)
        self.put("", "aws_ami", "ubuntu", None, mode="data", attrs={
            "id": f"ami-{self.hexid()}", "architecture": "x86_64", "most_recent": True,
            "name": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240614", "owners": ["099720109477"]})
        sg = self.put("", "aws_security_group", "bastion", None, schema=1, deps=["module.network.aws_vpc.this"],
                      attrs={"id": f"sg-{self.hexid()}", "name": f"{self.name}-bastion", "vpc_id": vpc["id"],
                             "ingress": [{"from_port": 22, "to_port": 22, "protocol": "tcp",
                                          "cidr_blocks": ["203.0.113.0/24"], "description": "office"}],
                             "egress": [{"from_port": 0, "to_port": 0, "protocol": "-1",
                                         "cidr_blocks": ["0.0.0.0/0"], "description": ""}],
                             "tags": self.tags("bastion")})
        ip = f"198.51.100.{self.rng.randrange(2, 250)}"
        self.put("", "aws_instance", "bastion", None, schema=1,
                 deps=["aws_security_group.bastion", "data.aws_ami.ubuntu", "module.network.aws_subnet.public"],
                 attrs={"id": f"i-{self.hexid()}", "ami": self.get("", "aws_ami", "ubuntu", mode="data")["id"],
                        "instance_type": "t3.micro", "public_ip": ip,
                        "subnet_id": self.get(m, "aws_subnet", "public", self.azs[0])["id"],
                        "vpc_security_group_ids": [sg["id"]], "tags": self.tags("bastion")})
        self.outputs["vpc_id"] = {"value": vpc["id"], "type": "string"}
        self.outputs["private_subnet_ids"] = {
            "value": [self.get(m, "aws_subnet", "private", az)["id"] for az in self.azs], "type": ["list", "string"]}
        self.outputs["bastion_ip"] = {"value": ip, "type": "string"}

    def add_nat(self, i):
        m = "module.network"
        eip = self.put(m, "aws_eip", "nat", i, attrs={
            "id": f"eipalloc-{self.hexid()}", "domain": "vpc", "public_ip": f"52.{self.rng.randrange(256)}."
            f"{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}", "tags": self.tags(f"nat-{i}")})
        self.put(m, "aws_nat_gateway", "this", i, deps=[f"{m}.aws_eip.nat", f"{m}.aws_subnet.public"], attrs={
            "id": f"nat-{self.hexid()}", "allocation_id": eip["id"], "connectivity_type": "public",
            "subnet_id": self.get(m, "aws_subnet", "public", self.azs[i % len(self.azs)])["id"],
            "tags": self.tags(f"nat-{i}")})

    def route_via_nat(self, i, az):
        nat = self.get("module.network", "aws_nat_gateway", "this", i)
        self.get("module.network", "aws_route_table", "private", az)["route"] = [
            {"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat["id"], "gateway_id": "", "vpc_endpoint_id": ""}]

    def add_app(self, app, image, tasks, port, public):
        m = f'module.app["{app}"]'
        cluster = self.get("", "aws_ecs_cluster", "main")
        vpc = self.get("module.network", "aws_vpc", "this")
        log = self.put(m, "aws_cloudwatch_log_group", "this", None, attrs={
            "id": f"/ecs/{self.name}/{app}", "name": f"/ecs/{self.name}/{app}", "retention_in_days": 30,
            "arn": self.arn("logs", f"log-group:/ecs/{self.name}/{app}"), "tags": self.tags(app)})
        sg = self.put(m, "aws_security_group", "this", None, schema=1, deps=["module.network.aws_vpc.this"],
                      attrs={"id": f"sg-{self.hexid()}", "name": f"{self.name}-{app}", "vpc_id": vpc["id"],
                             "ingress": [{"from_port": port, "to_port": port, "protocol": "tcp",
                                          "cidr_blocks": [vpc["cidr_block"]], "description": "from the VPC"}],
                             "tags": self.tags(app)})
        rev = self.rng.randrange(3, 40)
        self.put(m, "aws_ecs_task_definition", "this", None, schema=1,
                 deps=["aws_iam_role.task_execution", f"{m}.aws_cloudwatch_log_group.this"], attrs={
                     "id": f"{self.name}-{app}", "family": f"{self.name}-{app}", "revision": rev,
                     "arn": self.arn("ecs", f"task-definition/{self.name}-{app}:{rev}"),
                     "cpu": "512", "memory": "1024", "network_mode": "awsvpc",
                     "container_definitions": json.dumps([{
                         "name": app, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{app}:{image}",
                         "portMappings": [{"containerPort": port}], "essential": True,
                         "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": log["name"]}}}]),
                     "tags": self.tags(app)})
        deps = ["aws_ecs_cluster.main", f"{m}.aws_ecs_task_definition.this", f"{m}.aws_security_group.this"]
        if public:
            tg = self.put(m, "aws_lb_target_group", "this", 0, deps=["module.network.aws_vpc.this"], attrs={
                "id": self.arn("elasticloadbalancing", f"targetgroup/{self.name}-{app}/{self.hexid(16)}"),
                "name": f"{self.name}-{app}", "port": port, "protocol": "HTTP", "target_type": "ip",
                "vpc_id": vpc["id"], "health_check": [{"path": "/healthz", "matcher": "200", "interval": 15}]})
            self.put(m, "aws_lb_listener_rule", "this", 0, deps=["aws_lb_listener.https", f"{m}.aws_lb_target_group.this"],
                     attrs={"id": self.arn("elasticloadbalancing", f"listener-rule/app/{self.name}/{self.hexid(16)}"),
                            "priority": 100 + port % 97, "action": [{"type": "forward", "target_group_arn": tg["id"]}],
                            "condition": [{"host_header": [{"values": [f"{app}.{self.p['domain']}"]}]}]})
            deps.append(f"{m}.aws_lb_target_group.this")
        self.put(m, "aws_ecs_service", "this", None, deps=deps, attrs={
            "id": self.arn("ecs", f"service/{self.name}/{app}"), "name": app, "cluster": cluster["arn"],
            "desired_count": tasks, "launch_type": "FARGATE",
            "task_definition": self.arn("ecs", f"task-definition/{self.name}-{app}:{rev}"),
            "network_configuration": [{"assign_public_ip": False, "security_groups": [sg["id"]],
                                       "subnets": list(self.outputs["private_subnet_ids"]["value"])}],
            "deployment_circuit_breaker": [{"enable": True, "rollback": True}], "tags": self.tags(app)})

    def set_image(self, app, image, tasks=None):
        m = f'module.app["{app}"]'
        td = self.get(m, "aws_ecs_task_definition", "this")
        td["revision"] += 1
        td["arn"] = self.arn("ecs", f"task-definition/{td['family']}:{td['revision']}")
        c = json.loads(td["container_definitions"])
        c[0]["image"] = c[0]["image"].rsplit(":", 1)[0] + ":" + image
        td["container_definitions"] = json.dumps(c)
        svc = self.get(m, "aws_ecs_service", "this")
        svc["task_definition"] = td["arn"]
        if tasks is not None:
            svc["desired_count"] = tasks

    def service_urls(self):
        apps = sorted(k[0][len('module.app["'):-2] for k in self.resources
                      if k[0].startswith("module.app[") and k[2] == "aws_lb_target_group")
        return {a: f"https://{a}.{self.p['domain']}" for a in apps}

    def dns(self, app):
        zone = self.get("", "aws_route53_zone", "main", mode="data")
        lb = self.get("", "aws_lb", "main")
        self.put("", "aws_route53_record", "service", app, schema=2, deps=["aws_lb.main", "data.aws_route53_zone.main"],
                 attrs={"id": f"{zone['zone_id']}_{app}.{self.p['domain']}_A", "name": f"{app}.{self.p['domain']}",
                        "type": "A", "zone_id": zone["zone_id"], "ttl": None,
                        "alias": [{"name": lb["dns_name"], "zone_id": lb["zone_id"], "evaluate_target_health": True}]})

    def step2(self):
        self.put("", "aws_iam_policy_document", "ecs_assume", None, mode="data", attrs={
            "id": str(self.rng.randrange(10**9, 10**10)), "json": json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})})
        self.put("", "aws_iam_role", "task_execution", None, deps=["data.aws_iam_policy_document.ecs_assume"], attrs={
            "id": f"{self.name}-task-execution", "name": f"{self.name}-task-execution",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/{self.name}-task-execution", "max_session_duration": 3600,
            "unique_id": "AROA" + self.hexid(16).upper(), "tags": self.tags("task-execution")})
        self.put("", "aws_ecs_cluster", "main", None, attrs={
            "id": self.arn("ecs", f"cluster/{self.name}"), "arn": self.arn("ecs", f"cluster/{self.name}"),
            "name": self.name, "capacity_providers": ["FARGATE"],
            "setting": [{"name": "containerInsights", "value": "enabled"}],
            "tags": self.tags("cluster")})
        self.put("", "aws_acm_certificate", "main", None, attrs={
            "id": self.arn("acm", f"certificate/{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"),
            "domain_name": self.p["domain"], "subject_alternative_names": [f"*.{self.p['domain']}"],
            "validation_method": "DNS", "status": "ISSUED"})
        self.get("", "aws_acm_certificate", "main")["arn"] = self.get("", "aws_acm_certificate", "main")["id"]
        name = f"{self.name}-{self.hexid(8)}"
        lb = self.put("", "aws_lb", "main", None, deps=["module.network.aws_subnet.public"], attrs={
            "id": self.arn("elasticloadbalancing", f"loadbalancer/app/{name}/{self.hexid(16)}"),
            "name": name, "internal": False, "load_balancer_type": "application",
            "dns_name": f"{name}-{self.rng.randrange(10**8, 10**9)}.{REGION}.elb.amazonaws.com",
            "zone_id": "Z35SXDOTRQ7X7K", "idle_timeout": 60,
            "subnets": [self.get("module.network", "aws_subnet", "public", az)["id"] for az in self.azs],
            "tags": self.tags("alb")})
        self.put("", "aws_lb_listener", "https", None, deps=["aws_acm_certificate.main", "aws_lb.main"], attrs={
            "id": self.arn("elasticloadbalancing", f"listener/app/{name}/{self.hexid(16)}"),
            "load_balancer_arn": lb["id"], "port": 443, "protocol": "HTTPS",
            "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "certificate_arn": self.get("", "aws_acm_certificate", "main")["arn"],
            "default_action": [{"type": "fixed-response", "fixed_response": [{"status_code": "404"}]}]})
        self.add_app("api", "v1.4.2", self.p["api"][0], 8080, True)
        self.outputs["alb_dns_name"] = {"value": lb["dns_name"], "type": "string"}
        self.outputs["service_urls"] = {"value": self.service_urls(), "type": ["map", "string"]}

    def step3(self):
        self.put("", "aws_route53_zone", "main", None, mode="data", attrs={
            "id": "Z" + self.hexid(13).upper(), "name": self.p["domain"], "private_zone": False})
        self.get("", "aws_route53_zone", "main", mode="data")["zone_id"] = \
            self.get("", "aws_route53_zone", "main", mode="data")["id"]
        self.add_app("web", "2024.06.3", max(1, self.p["api"][0] // 2), 3000, True)
        self.dns("api")
        self.dns("web")
        self.outputs["service_urls"]["value"] = self.service_urls()

    def step4(self):
        m = "module.db"
        vpc = self.get("module.network", "aws_vpc", "this")
        pw = "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(32))
        self.put(m, "random_password", "master", None, schema=3, provider=RANDOM,
                 sensitive=[[{"type": "get_attr", "value": "result"}], [{"type": "get_attr", "value": "bcrypt_hash"}]],
                 attrs={"id": "none", "length": 32, "special": False, "result": pw,
                        "bcrypt_hash": "$2a$10$" + self.hexid(53)})
        self.put(m, "aws_db_subnet_group", "this", None, deps=["module.network.aws_subnet.private"], attrs={
            "id": f"{self.name}-db", "name": f"{self.name}-db",
            "subnet_ids": list(self.outputs["private_subnet_ids"]["value"]), "tags": self.tags("db")})
        self.put(m, "aws_db_parameter_group", "this", None, attrs={
            "id": f"{self.name}-pg16", "family": "postgres16",
            "parameter": [{"name": "log_min_duration_statement", "value": "500", "apply_method": "immediate"},
                          {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"}]})
        sg = self.put(m, "aws_security_group", "db", None, schema=1, deps=["module.network.aws_vpc.this"], attrs={
            "id": f"sg-{self.hexid()}", "name": f"{self.name}-db", "vpc_id": vpc["id"],
            "ingress": [{"from_port": 5432, "to_port": 5432, "protocol": "tcp", "cidr_blocks": [vpc["cidr_block"]],
                         "description": "PostgreSQL from the VPC"}], "tags": self.tags("db")})
        host = f"{self.name}-db.c{self.hexid(11)}.{REGION}.rds.amazonaws.com"
        self.put(m, "aws_db_instance", "this", None, schema=2,
                 deps=[f"{m}.aws_db_parameter_group.this", f"{m}.aws_db_subnet_group.this",
                       f"{m}.aws_security_group.db", f"{m}.random_password.master"],
                 sensitive=[[{"type": "get_attr", "value": "password"}]],
                 attrs={"id": f"db-{self.hexid(26).upper()}", "identifier": f"{self.name}-db",
                        "engine": "postgres", "engine_version": "16.3", "instance_class": self.p["db"][0],
                        "allocated_storage": 100, "storage_encrypted": True, "multi_az": self.name == "prod",
                        "backup_retention_period": 7, "deletion_protection": self.name == "prod",
                        "address": host, "endpoint": f"{host}:5432", "port": 5432, "username": "app",
                        "password": pw, "vpc_security_group_ids": [sg["id"]], "tags": self.tags("db")})
        sid = f"{self.name}/db/master-{self.hexid(6)}"
        self.put(m, "aws_secretsmanager_secret", "db", None, attrs={
            "id": self.arn("secretsmanager", f"secret:{sid}"), "name": f"{self.name}/db/master",
            "recovery_window_in_days": 30, "tags": self.tags("db")})
        self.put(m, "aws_secretsmanager_secret_version", "db", None,
                 deps=[f"{m}.aws_secretsmanager_secret.db", f"{m}.random_password.master"],
                 sensitive=[[{"type": "get_attr", "value": "secret_string"}]],
                 attrs={"id": self.arn("secretsmanager", f"secret:{sid}") + "|" + str(uuid.UUID(
                     int=self.rng.getrandbits(128), version=4)), "secret_string": json.dumps(
                     {"username": "app", "password": pw}), "version_stages": ["AWSCURRENT"]})
        self.outputs["db_endpoint"] = {"value": f"{host}:5432", "type": "string"}
        self.outputs["db_password"] = {"value": pw, "type": "string", "sensitive": True}

    def step5(self):
        self.set_image("api", "v1.5.0", self.p["api"][1])

    def step6(self):
        self.add_app("worker", "v1.5.0", 2 if self.name == "prod" else 1, 9000, False)
        dlq = self.put("", "aws_sqs_queue", "jobs_dlq", None, attrs={
            "id": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name}-jobs-dlq",
            "name": f"{self.name}-jobs-dlq", "arn": self.arn("sqs", f"{self.name}-jobs-dlq"),
            "message_retention_seconds": 1209600, "tags": self.tags("jobs-dlq")})
        q = self.put("", "aws_sqs_queue", "jobs", None, deps=["aws_sqs_queue.jobs_dlq"], attrs={
            "id": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name}-jobs",
            "name": f"{self.name}-jobs", "arn": self.arn("sqs", f"{self.name}-jobs"),
            "visibility_timeout_seconds": 300, "message_retention_seconds": 345600,
            "redrive_policy": json.dumps({"deadLetterTargetArn": dlq["arn"], "maxReceiveCount": 5}),
            "tags": self.tags("jobs")})
        for app in sorted(a[len('module.app["'):-2] for a in self.modules() if a.startswith("module.app[")):
            self.put("", "aws_cloudwatch_metric_alarm", "cpu_high", app, schema=1, deps=["aws_ecs_cluster.main"],
                     attrs={"id": f"{self.name}-{app}-cpu-high", "alarm_name": f"{self.name}-{app}-cpu-high",
                            "metric_name": "CPUUtilization", "namespace": "AWS/ECS", "threshold": 80,
                            "comparison_operator": "GreaterThanThreshold", "evaluation_periods": 3,
                            "period": 60, "statistic": "Average",
                            "dimensions": {"ClusterName": self.name, "ServiceName": app}})
        self.get("", "aws_ecs_cluster", "main")["capacity_providers"] = ["FARGATE", "FARGATE_SPOT"]
        self.outputs["jobs_queue_url"] = {"value": q["id"], "type": "string"}

    def step7(self):
        self.tf = TF_NEW
        self.add_nat(self.p["nat"])
        # the new gateway serves the next zone (with as many gateways as zones, one each)
        self.route_via_nat(self.p["nat"], self.azs[self.p["nat"] % len(self.azs)])

    def step8(self):
        self.drop("", "aws_instance", "bastion")
        self.drop("", "aws_security_group", "bastion")
        self.drop("", "aws_ami", "ubuntu", mode="data")
        self.put("", "aws_iam_role_policy_attachment", "ssm", None, deps=["aws_iam_role.task_execution"], attrs={
            "id": f"{self.name}-task-execution-{self.rng.randrange(10**19, 10**20)}",
            "role": f"{self.name}-task-execution",
            "policy_arn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"})
        del self.outputs["bastion_ip"]

    def step9(self):
        db = self.get("module.db", "aws_db_instance", "this")
        db["instance_class"] = self.p["db"][1]
        db["backup_retention_period"] = 14
        db["engine_version"] = "16.4"

    def step10(self):
        self.drop('module.app["web"]')
        self.drop("", "aws_route53_record", "service", "web")
        self.drop("", "aws_cloudwatch_metric_alarm", "cpu_high", "web")
        bucket = f"{self.name}-web-{self.hexid(8)}"
        self.put("", "aws_s3_bucket", "web", None, attrs={
            "id": bucket, "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "force_destroy": False,
            "tags": self.tags("web")})
        cf = self.put("", "aws_cloudfront_distribution", "web", None, schema=1, deps=["aws_s3_bucket.web"], attrs={
            "id": "E" + self.hexid(13).upper(), "domain_name": f"d{self.hexid(13)}.cloudfront.net",
            "aliases": [f"www.{self.p['domain']}"], "enabled": True, "price_class": "PriceClass_100",
            "origin": [{"domain_name": f"{bucket}.s3.{REGION}.amazonaws.com", "origin_id": "web"}]})
        urls = self.service_urls()
        urls["web"] = f"https://www.{self.p['domain']}"
        self.outputs["service_urls"]["value"] = urls
        self.outputs["cdn_domain_name"] = {"value": cf["domain_name"], "type": "string"}

    def incident(self):
        module = "module.db" if "module.db" in self.modules() else \
            sorted(m for m in self.modules() if m.startswith("module.app["))[-1]
        self.drop(module)
        self.serial += 1
        return INCIDENT.format(module=module)

    # ------------------------------------------------------------------ the file
    def state(self):
        def order(item):
            (module, mode, rtype, name), _ = item
            return (module, mode, rtype, name)

        def key_order(k):
            return (0, k, "") if isinstance(k, int) else (1, 0, k)

        resources = []
        for (module, mode, rtype, name), r in sorted(self.resources.items(), key=order):
            res = {}
            if module:
                res["module"] = module
            res.update({"mode": mode, "type": rtype, "name": name})
            if any(k is not None for k in r["instances"]):
                res["each"] = "list" if all(isinstance(k, int) for k in r["instances"]) else "map"
            res["provider"] = r["provider"]
            res["instances"] = []
            for k in sorted(r["instances"], key=key_order):
                inst = dict(r["instances"][k])
                if k is not None:
                    inst = {"index_key": k, **inst}
                res["instances"].append(inst)
            resources.append(res)
        state = {"version": 4, "terraform_version": self.tf, "serial": self.serial, "lineage": self.lineage,
                 "outputs": dict(sorted(self.outputs.items())), "resources": resources, "check_results": None}
        return json.loads(json.dumps(state))  # a copy: later steps change the model, not this version


def address(res, inst):
    out = res["module"] + "." if res.get("module") else ""
    out += ("data." if res["mode"] == "data" else "") + f"{res['type']}.{res['name']}"
    if "index_key" in inst:
        k = inst["index_key"]
        out += f"[{k}]" if isinstance(k, int) else "[" + json.dumps(k) + "]"
    return out


def instances(state):
    return {address(r, i): json.dumps(i, sort_keys=True) for r in state["resources"] for i in r["instances"]}


def describe(state, prev, message, filename):
    now = instances(state)
    before = instances(prev) if prev else {}
    return {
        "file": filename, "serial": state["serial"], "lineage": state["lineage"],
        "terraform_version": state["terraform_version"], "message": message,
        "resources": len(state["resources"]),
        "managed_resources": sum(1 for r in state["resources"] if r["mode"] == "managed"),
        "data_resources": sum(1 for r in state["resources"] if r["mode"] == "data"),
        "instances": len(now), "outputs": sorted(state["outputs"]),
        "added": sorted(a for a in now if a not in before),
        "removed": sorted(a for a in before if a not in now),
        "changed": sorted(a for a in now if a in before and now[a] != before[a]),
    }


def write(path, state):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder; each environment gets a subfolder")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--env", action="append", metavar="NAME:N",
                    help="an environment and its number of versions (1-10); default prod:8 staging:7 dev:6")
    ap.add_argument("--incident", action="append", default=[], metavar="NAME",
                    help="also write NAME/incident.tfstate: the next version, after a mistaken state rm")
    ap.add_argument("--quiet", action="store_true", help="no table on standard output")
    args = ap.parse_args()

    envs = []
    for spec in args.env or ["prod:8", "staging:7", "dev:6"]:
        name, _, n = spec.partition(":")
        n = int(n or 8)
        if not name or not 1 <= n <= len(STORY):
            ap.error(f"--env {spec}: expected NAME:N with N from 1 to {len(STORY)}")
        envs.append((name, n))
    unknown = set(args.incident) - {e for e, _ in envs}
    if unknown:
        ap.error(f"--incident {', '.join(sorted(unknown))}: not among the environments")

    for name, n in envs:
        env = Env(name, args.seed)
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        history, prev = [], None
        for i in range(1, n + 1):
            env.step(i)
            state = env.state()
            fn = f"{i:03d}.tfstate"
            write(os.path.join(folder, fn), state)
            history.append(describe(state, prev, STORY[i - 1].format(tf_new=TF_NEW), fn))
            prev = state
        if name in args.incident:
            message = env.incident()
            state = env.state()
            write(os.path.join(folder, "incident.tfstate"), state)
            history.append(describe(state, prev, message, "incident.tfstate"))
        with open(os.path.join(folder, "history.json"), "w", encoding="utf-8") as f:
            json.dump({"environment": name, "seed": args.seed, "versions": history}, f, indent=2)
            f.write("\n")
        if not args.quiet:
            print(f"{name}: lineage {env.lineage}")
            for h in history:
                delta = f"+{len(h['added'])} -{len(h['removed'])} ~{len(h['changed'])}"
                print(f"  {h['file']:<17} serial {h['serial']:<4} {h['resources']:>3} resources "
                      f"{h['instances']:>3} instances  {delta:<13} {h['message']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
