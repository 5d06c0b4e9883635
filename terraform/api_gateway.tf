# The pilot's front door (front_door = "api_gateway"): charged per call, nothing while
# idle. It answers at its own https://<gateway>-<hash>.<region>.gateway.dev (no custom
# domain without a load balancer, no Cloud Armor) and routes each path to the function
# that serves it, as written by `manage.py gateway-spec` from the code's own routes
# (api_gateway.json.tftpl; the test suite checks it is current).
#
# The gateway calls each function as its own service account with a Google ID token in
# Authorization and moves the caller's Authorization to X-Forwarded-Authorization,
# where the functions read it (AUTHORIZATION_HEADER); only that account may invoke them.

locals {
  # A function's cloudfunctions.net address: known before the function exists, so the
  # functions can be told the gateway's host without a cycle.
  gateway_backends = {
    for name in local.public_functions :
    name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name}-${replace(name, "_", "-")}"
  }
}

resource "google_service_account" "gateway" {
  count        = local.api_gateway ? 1 : 0
  account_id   = "${substr(var.name, 0, 20)}-gateway"
  display_name = "${var.name} API Gateway's calls to the functions"

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_run_service_iam_member" "gateway" {
  for_each = toset(local.api_gateway ? local.public_functions : [])
  location = var.region
  service  = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.gateway[0].email}"
}

resource "google_api_gateway_api" "api" {
  count    = local.api_gateway ? 1 : 0
  provider = google-beta
  api_id   = var.name

  depends_on = [google_project_service.enabled]
}

# Each API has a managed service of its own, which must be enabled before it serves.
resource "google_project_service" "gateway_api" {
  count              = local.api_gateway ? 1 : 0
  service            = google_api_gateway_api.api[0].managed_service
  disable_on_destroy = false
}

resource "google_api_gateway_api_config" "api" {
  count                = local.api_gateway ? 1 : 0
  provider             = google-beta
  api                  = google_api_gateway_api.api[0].api_id
  api_config_id_prefix = "${var.name}-"

  openapi_documents {
    document {
      path     = "openapi.json"
      contents = base64encode(templatefile("${path.module}/api_gateway.json.tftpl", local.gateway_backends))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.gateway[0].email
    }
  }

  lifecycle {
    create_before_destroy = true # a new configuration replaces the old one in place
  }
}

resource "google_api_gateway_gateway" "api" {
  count      = local.api_gateway ? 1 : 0
  provider   = google-beta
  gateway_id = var.name
  region     = var.region
  api_config = google_api_gateway_api_config.api[0].id

  depends_on = [google_project_service.gateway_api]
}
