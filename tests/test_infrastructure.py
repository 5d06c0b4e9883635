"""What can be checked of the deployment without Google Cloud: terraform/ parses,
is formatted and passes a security scan, and agrees with the code (entry points,
environment, secrets, routes, connection budget); cloudbuild.yaml runs the
README's test command."""
from __future__ import annotations

import ast
import os
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TF = ROOT / "terraform"
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"
OPERATOR_RESERVE = 10  # connections kept for migrations, manage.py and a psql session

# Settings the deployment leaves at their defaults on purpose, and why.
DEFAULTED = {
    "DATABASE_URL": "functions reach Cloud SQL through the connector (INSTANCE_CONNECTION_NAME)",
    "MIGRATION_DATABASE_URL": "migrations run from Cloud Build through the connector",
    "DB_PASSWORD": "IAM database authentication: no passwords",
    "DB_MIGRATION_USER": "read by manage.py only (set by cloudbuild.yaml)",
    "DB_SERVICE_USERS": "read by manage.py migrate only (set by cloudbuild.yaml)",
    "ANON_LIMIT_PER_IP": "the code's default; Cloud Armor throttles before it",
    "ANON_LIMIT_PER_EMAIL": "the code's default",
    "ANON_LIMIT_PER_TENANT_HOUR": "the code's default",
    "SIGNIN_LIMIT_PER_IP": "the code's default",
    "ANON_WINDOW_SECONDS": "the code's default",
    "JWT_SECRET": "local use; deployed, JWT_SECRET_SECRET names the key's version (HS256 only)",
    "SMTP_STARTTLS": "on by default, as every relay on 587 wants",
    "MAIL_DIR": "unset: only the local demo writes mails to a folder",
    "SMTP_PASSWORD": "local stand-in for SMTP_PASSWORD_SECRET",
    "SMTP_CA_FILE": "public relays present publicly trusted certificates",
    "SECRET_TTL_SECONDS": "the code's default (five minutes)",
    "SECRET_MANAGER_ENDPOINT": "tests' stand-in only",
    "PUBSUB_ENDPOINT": "tests' stand-in only",
    "SQLADMIN_API_ENDPOINT": "tests' stand-in only",
    "GCE_METADATA_HOST": "the platform's metadata server",
    "GITHUB_TOKEN": "local stand-in for GITHUB_TOKEN_SECRET",
    "GITHUB_SECONDS_BETWEEN_WRITES": "the code's default (one second, GitHub's advice)",
    "GITHUB_WEBHOOK_KEY": "local stand-in for GITHUB_WEBHOOK_KEY_SECRET",
    "GITHUB_WEBHOOK_MAX_AGE_SECONDS": "the code's default (a day)",
    "EVENTS_PUSH_URL": "the local server's own event functions",
    "LOCAL_SWEEP_SECONDS": "the local server's sweeper",
    "INTAKE_SMTP_PORT": "the local server's SMTP listener",
    "DIGEST_HOUR": "the code's default (8 in the morning)",
    "MAILGUN_SIGNING_KEY": "local stand-in for MAILGUN_SIGNING_KEY_SECRET",
    "MAILGUN_MAX_AGE_SECONDS": "the code's default (15 minutes)",
    "INTAKE_MAX_MAIL_BYTES": "the code's default (10 MB)",
    "IDEMPOTENCY_RETENTION_HOURS": "the code's default (3 days)",
    "RETENTION_DAYS": "the code's default (30 days)",
    "IAP_JWKS_URL": "Google's published IAP keys (a stand-in's in tests)",
}


def _plain(value: Any) -> Any:
    """python-hcl2's values without the quotes it keeps around strings and keys."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def terraform() -> dict[str, Any]:
    """Every .tf file, merged: locals, variables and resources by type and name."""
    merged: dict[str, Any] = {"locals": {}, "variable": {}, "resource": {}}
    for path in sorted(TF.glob("*.tf")):
        with path.open() as f:
            doc = _plain(hcl2.load(f))
        for block in doc.get("locals", []):
            merged["locals"].update(block)
        for block in doc.get("variable", []):
            merged["variable"].update(block)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                merged["resource"].setdefault(rtype, {}).update(named)
    return merged


def _function_resource() -> dict[str, Any]:
    return terraform()["resource"]["google_cloudfunctions2_function"]["function"]


def _code_functions() -> dict[str, str]:
    """Each functions/<group>/main.py: the name of its decorated entry point."""
    found = {}
    for main in sorted(ROOT.glob("functions/*/main.py")):
        tree = ast.parse(main.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Attribute) and d.attr in ("http", "cloud_event") for d in node.decorator_list
            ):
                found[main.parent.name] = node.name
    return found


def test_every_tf_file_parses():
    files = sorted(TF.glob("*.tf"))
    assert {f.name for f in files} >= {"versions.tf", "variables.tf", "outputs.tf", "database.tf", "functions.tf",
                                       "iam.tf", "secrets.tf", "pubsub.tf", "gateway.tf", "scheduler.tf"}
    for path in files:
        with path.open() as f:
            assert hcl2.load(f), path.name


def test_providers_are_pinned_and_variables_typed_and_described():
    with (TF / "versions.tf").open() as f:
        providers = _plain(hcl2.load(f))["terraform"][0]["required_providers"][0]
    for name in ("google", "google-beta"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", providers[name]["version"]), providers[name]
    for name, variable in terraform()["variable"].items():
        assert variable.get("type") and variable.get("description"), name


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on this machine")
def test_terraform_files_are_formatted():
    done = subprocess.run(["terraform", "fmt", "-check", "-diff", str(TF)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_the_security_scan_passes_and_every_suppression_says_why():
    done = subprocess.run([str(CHECKOV), "-d", str(TF), "--framework", "terraform", "--quiet", "--compact",
                           "-o", "json"], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and report["summary"]["parsing_errors"] == 0
    for path in TF.glob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert len(reason.split()) >= 5, f"{path.name}: {check} needs its reason"


def test_every_function_in_the_code_is_deployed_with_its_entry_point_and_source():
    code = _code_functions()
    assert set(code) == {"feedback", "admin", "notify", "github_sync", "github_webhook", "sweep", "console",
                         "email_intake"}
    assert all(entry == group for group, entry in code.items())  # the entry point is the group's name
    assert set(terraform()["locals"]["functions"]) == set(code)
    build = _function_resource()["build_config"][0]
    assert build["entry_point"] == "${each.key}"
    assert build["environment_variables"]["GOOGLE_FUNCTION_SOURCE"] == "functions/${each.key}/main.py"
    assert build["source"][0]["storage_source"][0]["object"] == "${google_storage_bucket_object.source.name}"
    with (TF / "functions.tf").open() as f:
        bundle = _plain(hcl2.load(f))["resource"]
    objects = [b["google_storage_bucket_object"]["source"] for b in bundle if "google_storage_bucket_object" in b]
    assert objects[0]["name"] == "source-${data.archive_file.source.output_sha256}.zip"  # named by its hash


def test_scale_to_zero_with_bounded_instances():
    service = _function_resource()["service_config"][0]
    assert service["min_instance_count"] == 0
    assert service["max_instance_count"] == "${local.max_instances[each.key]}"
    assert service["max_instance_request_concurrency"] == "${local.concurrency[each.key]}"
    for name, profile in terraform()["locals"]["profiles"].items():
        assert set(profile["max_instances"]) == set(profile["concurrency"]) == set(_code_functions()), name


def _settings_read_by_code() -> set[str]:
    source = (ROOT / "shared" / "config.py").read_text()
    return set(re.findall(r'r\.\w+\(\s*"([A-Z0-9_]+)"', source))


def test_every_setting_the_code_reads_is_set_or_deliberately_defaulted():
    text = (TF / "functions.tf").read_text()
    per_function = set(re.findall(r"^\s+(DB_USER|DB_POOL_SIZE)\s+=", text, re.M))
    assert per_function == {"DB_USER", "DB_POOL_SIZE"}
    read = _settings_read_by_code()
    local = terraform()["locals"]
    set_ = set(local["common_env"]) | set(local["api_env"]) | per_function
    set_ |= set(local["db_env_connector"]) | set(local["db_env_private_ip"])  # one or the other
    set_ |= set(local["github_env"]) | set(local["github_sync_env"]) | set(local["console_env"])  # merged in
    set_ |= set(local["mail_env"]) | set(local["smtp_env"])
    set_ |= set(local["hs256_secret_env"])  # secret_env's, when the identity provider signs with HS256
    for env in list(local["function_env"].values()) + list(local["secret_env"].values()):
        if isinstance(env, dict):  # the others are merges of the locals counted above
            set_ |= set(env)
    assert not (set_ & set(DEFAULTED)), "set and also listed as defaulted"
    assert set_ <= read, f"Terraform sets what the code never reads: {sorted(set_ - read)}"
    assert read - set_ == set(DEFAULTED), f"unaccounted for: {sorted(read - set_ - set(DEFAULTED))}"


def _in_function_process(group: str, expression: str) -> Any:
    """`expression` (JSON) evaluated in a fresh process that has imported the group's main.py,
    as the deployment imports it (importing a group also registers handlers on
    functions-framework's application, which this process must not share)."""
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('main', '{ROOT}/functions/{group}/main.py')\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"print(json.dumps({expression}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def _shared_modules_loaded_by(group: str) -> set[str]:
    return set(_in_function_process(group, "[m for m in sys.modules if m.startswith('shared.')]"))


def test_every_secret_is_granted_to_exactly_the_functions_that_read_it():
    # The settings that name a secret read through Secret Manager, and the modules that read them.
    modules_reading = {}
    for path in (ROOT / "shared").glob("*.py"):
        used = {f.upper() for f in re.findall(r"(?:secrets|secret_manager)\.value\(\s*cfg\.\w+,\s*cfg\.(\w+_secret)\)",
                                              path.read_text())}
        if used:
            modules_reading["shared." + path.stem] = used
    readers_in_code: dict[str, set[str]] = {name: set() for used in modules_reading.values() for name in used}
    for group in _code_functions():
        for module in _shared_modules_loaded_by(group) & set(modules_reading):
            for setting in modules_reading[module]:
                readers_in_code[setting].add(group)
    # The JWT key is read where bearer tokens are taken: github_webhook imports the credential
    # code too, but its one route is signed by GitHub and never reads a token.
    bearer_groups = {g for g in _code_functions() if re.search(r"\b(USER|ANYONE|TRIAGE)\b",
                                                               (ROOT / "functions" / g / "main.py").read_text())}
    assert bearer_groups == {"feedback", "admin"}
    readers_in_code["JWT_SECRET_SECRET"] &= bearer_groups
    assert set(readers_in_code) == {"SMTP_PASSWORD_SECRET", "GITHUB_TOKEN_SECRET", "GITHUB_WEBHOOK_KEY_SECRET",
                                    "JWT_SECRET_SECRET", "MAILGUN_SIGNING_KEY_SECRET"}
    local = terraform()["locals"]
    granted: dict[str, set[str]] = {name: set() for name in readers_in_code}
    for group, env in local["secret_env"].items():
        for setting in (local["hs256_secret_env"] if env == "${local.jwt_secret_env}" else env):
            granted[setting].add(group)
    assert granted == readers_in_code
    assert readers_in_code["GITHUB_TOKEN_SECRET"] == {"github_sync"}
    # HS256 only: the key is named to the functions when the identity provider signs that way.
    assert local["jwt_secret_env"] == '${var.jwt.algorithm == "HS256" ? local.hs256_secret_env : {}}'
    # The grant itself is per secret and per reader: no project-wide accessor anywhere.
    text = "\n".join(p.read_text() for p in TF.glob("*.tf"))
    assert "roles/secretmanager.secretAccessor" not in re.sub(
        r'resource "google_secret_manager_secret_iam_member".*?\n}\n', "", text, flags=re.S)
    for banned in ("roles/editor", "roles/viewer", "roles/owner", "-compute@developer.gserviceaccount.com"):
        assert banned not in text


def test_the_database_has_room_for_every_instance_at_full_concurrency_in_each_profile():
    local = terraform()["locals"]
    assert local["operator_connections"] == OPERATOR_RESERVE
    assert set(local["profiles"]) == {"production", "pilot"}
    for name, profile in local["profiles"].items():
        budget = profile["database_max_connections"] - OPERATOR_RESERVE
        # DB_POOL_SIZE is the function's concurrency (functions.tf), so this is the worst case.
        used = sum(n * profile["concurrency"][f] for f, n in profile["max_instances"].items())
        assert used <= budget, f"{name}: {used} connections at full scale, {budget} available"
    # Overrides are held to the same sum when Terraform plans.
    [check] = terraform()["resource"]["google_sql_database_instance"]["main"]["lifecycle"][0]["precondition"]
    assert check["condition"] == ("${local.connections_at_full_scale + local.operator_connections"
                                  " <= local.database_max_connections}")


def test_a_console_export_streaming_leaves_room_for_its_pages_in_each_profile():
    """An export reads one snapshot in one transaction, holding a connection while it streams:
    each console instance serves another request beside it, on a whole CPU (2nd gen takes
    more than one request at once only with at least one), with a connection for each."""
    service = _function_resource()["service_config"][0]
    assert float(service["available_cpu"]) >= 1
    assert re.search(r"^\s+DB_POOL_SIZE\s+=\s+tostring\(local\.concurrency\[each\.key\]\)$",
                     (TF / "functions.tf").read_text(), re.M)
    for name, profile in terraform()["locals"]["profiles"].items():
        assert profile["concurrency"]["console"] >= 2, name


def test_the_pilot_profile_has_nothing_charged_by_the_hour_but_its_small_database():
    """What bills while idle: the load balancer's forwarding rule, Cloud Armor, and the
    private IP's VPC connector. The pilot makes none of them; its database is shared-core."""
    local = terraform()["locals"]
    pilot = local["profiles"]["pilot"]
    assert pilot["front_door"] == "api_gateway" and pilot["database_tier"] in ("db-f1-micro", "db-g1-small")
    assert local["load_balancer"] == '${local.front_door == "load_balancer"}'
    resources = terraform()["resource"]
    hourly = {("google_compute_global_forwarding_rule", "https"): "${local.load_balancer ? 1 : 0}",
              ("google_compute_security_policy", "api"): "${local.load_balancer ? 1 : 0}",
              ("google_vpc_access_connector", "functions"): "${var.database_private_ip ? 1 : 0}"}
    for (rtype, name), count in hourly.items():
        assert resources[rtype][name]["count"] == count, (rtype, name)
    assert set(resources["google_compute_global_forwarding_rule"]) == {"https"}
    assert terraform()["variable"]["database_private_ip"]["default"] is False
    # The gateway's own parts exist only as the front door.
    for rtype in ("google_api_gateway_api", "google_api_gateway_api_config", "google_api_gateway_gateway"):
        assert resources[rtype]["api"]["count"] == "${local.api_gateway ? 1 : 0}", rtype


def _route_paths(group: str) -> list[str]:
    return _in_function_process(group, "[r.path for r in module.API.routes]")


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on this machine")
def test_the_load_balancer_sends_the_triage_routes_to_admin_and_the_console_to_console(tmp_path):
    """The load balancer's admin and console paths, as Terraform itself evaluates them (the
    locals alone, no provider needed), are those functions' routes, each with and without
    its slash, every parameter one path segment."""
    text = (TF / "gateway.tf").read_text()
    block = re.search(r"locals \{\n  # The admin and console.*?\n\}\n", text, re.S).group(0)
    (tmp_path / "main.tf").write_text(block)
    shutil.copy(TF / "api_gateway.json.tftpl", tmp_path)
    done = subprocess.run(["terraform", "console"], input="jsonencode(local.routed_paths)\n", cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    evaluated = {group: set(paths) for group, paths in json.loads(json.loads(done.stdout.strip().splitlines()[-1])).items()}
    for group, prefix in (("admin", "/api/v1"), ("console", "")):
        expected = set()
        for path in _route_paths(group):
            public = prefix + re.sub(r"<[^>]+>", "*", path)
            expected |= {public, public.rstrip("/")}
        assert evaluated[group] == expected, group
    feedback_paths = {"/api/v1" + re.sub(r"<[^>]+>", "*", p) for p in _route_paths("feedback")}
    assert not feedback_paths & (evaluated["admin"] | evaluated["console"])


def test_cloudbuild_runs_the_readmes_test_command_with_pinned_images_and_no_secret_in_arguments():
    build = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
    readme = (ROOT / "README.md").read_text()
    test_command = re.search(r"## Test it\n.*?```sh\n(.+?)\n```", readme, re.S).group(1).strip()
    assert test_command == "make test"
    steps = {s["id"]: s for s in build["steps"]}
    assert list(steps) == ["postgres", "lint", "test", "terraform-init", "migrate", "deploy", "check"]
    assert "make test" in " ".join(steps["test"]["args"])
    assert any("TEST_DATABASE_URL=postgresql://" in e for e in steps["test"]["env"])
    for step in build["steps"]:
        image = step["name"]
        assert re.search(r":\d+(\.\d+)+[\w.-]*$", image), f"{step['id']}: {image} is not pinned to a version"
        assert "$$GITHUB_TOKEN" not in json.dumps(step.get("args", [])) and "GITHUB_TOKEN=" not in json.dumps(step)
    [secret] = build["availableSecrets"]["secretManager"]
    name = terraform()["variable"]["name"]["default"]
    assert secret["versionName"].endswith(f"/secrets/{name}-github-token/versions/latest")
    assert "github-token" in terraform()["locals"]["secrets"]
    assert steps["check"]["secretEnv"] == [secret["env"]]


def test_the_source_bundle_holds_what_the_functions_run_and_nothing_else(tmp_path):
    """The bundle as Terraform lists it: every function and shared module and the
    requirements; no tests, tools, virtualenvs or caches; small; and enough on its own
    for every function to import."""
    import glob
    import zipfile

    patterns = terraform()["locals"]["source_patterns"]
    files = sorted({f for p in patterns for f in glob.glob(p, root_dir=ROOT)})
    bundle = tmp_path / "source.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        for name in files:
            z.write(ROOT / name, name)
    assert "requirements.txt" in files
    assert {f"functions/{g}/main.py" for g in _code_functions()} <= set(files)
    assert {f"shared/{p.name}" for p in (ROOT / "shared").glob("*.py")} <= set(files)
    assert not [f for f in files if not re.fullmatch(
        r"requirements\.txt|functions/\w+/main\.py|shared/\w+\.py|shared/console_templates/\w+\.html"
        r"|shared/console_static/\w+\.(css|js)|shared/widget/widget\.js"
        r"|shared/page_templates/\w+\.(html|css)|shared/mail_templates/\w+\.txt", f)]
    for folder in ("console_templates", "page_templates", "mail_templates"):
        assert {f"shared/{folder}/{p.name}" for p in (ROOT / "shared" / folder).iterdir()} <= set(files)
    assert bundle.stat().st_size < 512 * 1024, bundle.stat().st_size
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(bundle).extractall(unpacked)
    for group in _code_functions():
        done = subprocess.run(
            [sys.executable, "-I", "-c", "import runpy, sys; runpy.run_path(sys.argv[1])",
             str(unpacked / "functions" / group / "main.py")],
            cwd=unpacked, capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
        assert done.returncode == 0, (group, done.stderr[-2000:])


# The API each resource type needs, by the type's prefix (longest first wins).
SERVICE_OF_TYPE = {
    "google_sql_": "sqladmin.googleapis.com",
    "google_compute_": "compute.googleapis.com",
    "google_service_account": "iam.googleapis.com",  # and its IAM members
    "google_project_iam_": "cloudresourcemanager.googleapis.com",
    "google_storage_": "storage.googleapis.com",
    "google_cloudfunctions2_": "cloudfunctions.googleapis.com",
    "google_cloud_run_": "run.googleapis.com",
    "google_pubsub_": "pubsub.googleapis.com",
    "google_cloud_scheduler_": "cloudscheduler.googleapis.com",
    "google_secret_manager_": "secretmanager.googleapis.com",
    "google_service_networking_": "servicenetworking.googleapis.com",
    "google_vpc_access_": "vpcaccess.googleapis.com",
    "google_project_service_identity": "serviceusage.googleapis.com",
    "google_iap_": "iap.googleapis.com",
    "google_api_gateway_": "apigateway.googleapis.com",
}
_REFERENCE = re.compile(r"\b(google_[a-z0-9_]+)\.([a-z0-9_]+)\b")


def _resource_edges() -> dict[str, set[str]]:
    """Each resource (type.name) and the resources it references or depends on."""
    edges: dict[str, set[str]] = {}
    for rtype, named in terraform()["resource"].items():
        for name, body in named.items():
            text = json.dumps(body)
            edges[f"{rtype}.{name}"] = {f"{t}.{n}" for t, n in _REFERENCE.findall(text)
                                        if t in terraform()["resource"] and n in terraform()["resource"][t]}
    return edges


def test_a_first_apply_enables_every_api_before_what_needs_it():
    """On a new project each resource must wait for its API: every resource of a
    service-backed type reaches google_project_service.enabled through what it references
    or depends on, and that API is in the list enabled."""
    services = set(terraform()["locals"]["services"])
    edges = _resource_edges()
    enabling = "google_project_service.enabled"

    def reaches(node: str, seen: set[str]) -> bool:
        if node == enabling:
            return True
        seen.add(node)
        return any(reaches(n, seen) for n in edges.get(node, ()) if n not in seen)

    missing_api, not_waiting = set(), []
    for node in edges:
        rtype = node.split(".")[0]
        prefix = max((p for p in SERVICE_OF_TYPE if rtype.startswith(p)), key=len, default=None)
        if prefix is None or node == enabling:
            continue
        if SERVICE_OF_TYPE[prefix] not in services:
            missing_api.add(SERVICE_OF_TYPE[prefix])
        if not reaches(node, set()):
            not_waiting.append(node)
    assert not missing_api, f"APIs used but never enabled: {sorted(missing_api)}"
    assert not not_waiting, f"resources that do not wait for their API: {sorted(not_waiting)}"


def test_a_first_apply_creates_what_it_grants_before_granting_it():
    """Pub/Sub's agent is made (google_project_service_identity) before it is granted, and
    a function's build waits for its builder's read grant on the source bucket."""
    edges = _resource_edges()
    resources = terraform()["resource"]
    for rtype, name in (("google_service_account_iam_member", "pubsub_token_creator"),
                        ("google_pubsub_topic_iam_member", "dead_letter_publisher"),
                        ("google_pubsub_subscription_iam_member", "dead_letter_subscriber")):
        assert resources[rtype][name]["member"] == "${local.pubsub_agent}", name
    assert terraform()["locals"]["pubsub_agent"] == "serviceAccount:${google_project_service_identity.pubsub.email}"
    assert "google_storage_bucket_iam_member.builder_reads_source" in edges["google_cloudfunctions2_function.function"]


def _gateway_routes() -> dict[tuple[str, str], str]:
    """(METHOD, path) -> the function the API Gateway configuration sends it to."""
    spec = json.loads((TF / "api_gateway.json.tftpl").read_text())
    return {(method.upper(), path): op["x-google-backend"]["address"].strip("${}")
            for path, item in spec["paths"].items() for method, op in item.items() if method != "parameters"}


def test_the_api_gateway_configuration_is_generated_from_the_code_and_current():
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "gateway-spec"], capture_output=True,
                          text=True, timeout=120, check=True, env={**os.environ, "API_BASE_PATH": "/api/v1"})
    assert done.stdout == (TF / "api_gateway.json.tftpl").read_text(), (
        "stale: run `python manage.py gateway-spec > terraform/api_gateway.json.tftpl`")


def test_the_api_gateway_sends_every_route_to_its_function_and_is_valid_openapi_2(tmp_path):
    routes = _gateway_routes()
    expected = {}
    for group in ("feedback", "admin", "github_webhook", "console", "email_intake"):
        for method, path in _in_function_process(group, "[(r.method, r.path) for r in module.API.routes]"):
            public = ("" if group == "console" else "/api/v1") + re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", path)
            expected[(method, public)] = group
            expected[("OPTIONS", public)] = group  # CORS preflights reach the code that answers them
    assert routes == expected
    # Terraform fills in an address for each public function: exactly the ones routed to.
    functions = terraform()["locals"]["functions"]
    assert set(routes.values()) == {name for name, f in functions.items() if f["trigger"] == "http"}
    assert "for name in local.public_functions" in terraform()["locals"]["gateway_backends"]
    rendered = (TF / "api_gateway.json.tftpl").read_text()
    for group in set(routes.values()):
        rendered = rendered.replace("${" + group + "}", f"https://europe-west1-p.cloudfunctions.net/{group}")
    assert "${" not in rendered and "%{" not in rendered
    (tmp_path / "gateway.json").write_text(rendered)
    done = subprocess.run([str(ROOT / ".venv-tools" / "bin" / "openapi-spec-validator"), "--schema", "2.0",
                           str(tmp_path / "gateway.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_event_kind_has_one_subscriber_as_the_code_names_it():
    from shared.relay import SUBSCRIBERS

    functions = terraform()["locals"]["functions"]
    deployed = {f["kind"]: name for name, f in functions.items() if f["trigger"] == "pubsub"}
    assert deployed == SUBSCRIBERS


def test_the_digest_job_calls_the_sweep_functions_digest_path_hourly():
    job = terraform()["resource"]["google_cloud_scheduler_job"]["digest"]
    target = job["http_target"][0]
    assert target["uri"].endswith('function["sweep"].service_config[0].uri}/digest')
    assert target["oidc_token"][0]["service_account_email"] == "${google_service_account.invoker.email}"
    assert terraform()["variable"]["digest_schedule"]["default"] == "5 * * * *"
