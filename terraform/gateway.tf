# The production front door (front_door = "load_balancer"): one public HTTPS base URL,
# a global external Application Load Balancer with a serverless NEG per public
# function. It gives your own domain with a managed certificate, path routing with
# wildcards inside the path (/feedback/{id}/respond/ goes to admin), and Cloud Armor's
# per-client rate limit for anonymous submissions; its forwarding rule and Cloud
# Armor are charged by the hour. The API's own authentication (API keys, JWTs, intake
# keys, CORS, problem documents) stays in the code either way. api_gateway.tf is the
# pilot's front door.

locals {
  # The admin and console functions' paths, read from the routes `manage.py gateway-spec`
  # wrote from the code (api_gateway.json.tftpl, read here as plain JSON): each parameter
  # as one path segment, each path with and without its trailing slash, as the code takes both.
  gateway_routes = jsondecode(file("${path.module}/api_gateway.json.tftpl")).paths
  routed_paths = { for group in ["admin", "console"] : group => distinct(flatten([
    for path, operations in local.gateway_routes : [
      replace(path, "/\\{[a-z_]+\\}/", "*"), trimsuffix(replace(path, "/\\{[a-z_]+\\}/", "*"), "/")
    ] if anytrue([for method, op in operations : try(op["x-google-backend"].address, "") == "$${${group}}"])
  ])) }
  admin_paths   = local.routed_paths["admin"]
  console_paths = local.routed_paths["console"]
}

resource "google_compute_global_address" "api" {
  count = local.load_balancer ? 1 : 0
  name  = "${var.name}-api"

  depends_on = [google_project_service.enabled]
}

resource "google_compute_managed_ssl_certificate" "api" {
  count = local.load_balancer ? 1 : 0
  name  = "${var.name}-api"
  managed {
    domains = [var.domain]
  }
  lifecycle {
    precondition {
      condition     = var.domain != ""
      error_message = "The load balancer needs var.domain, the host name its certificate is for."
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_compute_region_network_endpoint_group" "function" {
  for_each              = toset(local.load_balancer ? local.public_functions : [])
  name                  = "${var.name}-${replace(each.key, "_", "-")}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"
  cloud_function {
    function = google_cloudfunctions2_function.function[each.key].name
  }
}

resource "google_compute_backend_service" "function" {
  for_each              = toset(local.load_balancer ? local.public_functions : [])
  name                  = "${var.name}-${replace(each.key, "_", "-")}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.api[0].id
  backend {
    group = google_compute_region_network_endpoint_group.function[each.key].id
  }
  log_config {
    enable      = true
    sample_rate = 1.0
  }
  dynamic "iap" {
    for_each = each.key == "console" && var.console_iap.enabled ? [1] : []
    content {
      enabled = true # Google's own OAuth client
    }
  }
}

# Who may pass Identity-Aware Proxy to the console.
resource "google_iap_web_backend_service_iam_member" "console" {
  for_each            = toset(local.load_balancer && var.console_iap.enabled ? var.console_iap.members : [])
  web_backend_service = google_compute_backend_service.function["console"].name
  role                = "roles/iap.httpsResourceAccessor"
  member              = each.value
}

resource "google_compute_url_map" "api" {
  count           = local.load_balancer ? 1 : 0
  name            = "${var.name}-api"
  default_service = google_compute_backend_service.function["feedback"].id

  host_rule {
    hosts        = [var.domain]
    path_matcher = "api"
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.function["feedback"].id

    route_rules {
      priority = 1
      service  = google_compute_backend_service.function["github_webhook"].id
      match_rules {
        path_template_match = "/api/v1/github/**"
      }
    }

    route_rules {
      priority = 2
      service  = google_compute_backend_service.function["email_intake"].id
      match_rules {
        path_template_match = "/api/v1/email/**"
      }
    }

    dynamic "route_rules" {
      for_each = { for i, path in local.admin_paths : i => path }
      content {
        priority = 10 + route_rules.key
        service  = google_compute_backend_service.function["admin"].id
        match_rules {
          path_template_match = route_rules.value
        }
      }
    }

    dynamic "route_rules" {
      for_each = { for i, path in local.console_paths : i => path }
      content {
        priority = 100 + route_rules.key
        service  = google_compute_backend_service.function["console"].id
        match_rules {
          path_template_match = route_rules.value
        }
      }
    }
  }
}

resource "google_compute_target_https_proxy" "api" {
  count            = local.load_balancer ? 1 : 0
  name             = "${var.name}-api"
  url_map          = google_compute_url_map.api[0].id
  ssl_certificates = [google_compute_managed_ssl_certificate.api[0].id]
  ssl_policy       = google_compute_ssl_policy.modern[0].id
}

resource "google_compute_ssl_policy" "modern" {
  count           = local.load_balancer ? 1 : 0
  name            = "${var.name}-tls12"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"

  depends_on = [google_project_service.enabled]
}

resource "google_compute_global_forwarding_rule" "https" {
  count                 = local.load_balancer ? 1 : 0
  name                  = "${var.name}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.api[0].id
  port_range            = "443"
  target                = google_compute_target_https_proxy.api[0].id
}

# Cloud Armor: anonymous submissions (a POST without credentials) are throttled per
# client address before they reach a function; the service's own per-tenant limits
# still apply behind it.
resource "google_compute_security_policy" "api" {
  count = local.load_balancer ? 1 : 0
  name  = "${var.name}-api"

  rule {
    action   = "throttle"
    priority = 1000
    match {
      expr {
        expression = "request.method == 'POST' && request.path.matches('^/api/v1/feedback/?$') && !has(request.headers['authorization'])"
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.anonymous_rate_limit_per_minute
        interval_sec = 60
      }
    }
    description = "Anonymous submissions per client address"
  }

  rule {
    action   = "deny(403)"
    priority = 900
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
    description = "Known exploit strings (Log4j's among them)"
  }

  rule {
    action   = "allow"
    priority = 2147483647
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    description = "Everything else: the API authenticates it"
  }

  depends_on = [google_project_service.enabled]
}

# Addresses from before the front door became a choice.
moved {
  from = google_compute_global_address.api
  to   = google_compute_global_address.api[0]
}

moved {
  from = google_compute_managed_ssl_certificate.api
  to   = google_compute_managed_ssl_certificate.api[0]
}

moved {
  from = google_compute_url_map.api
  to   = google_compute_url_map.api[0]
}

moved {
  from = google_compute_target_https_proxy.api
  to   = google_compute_target_https_proxy.api[0]
}

moved {
  from = google_compute_ssl_policy.modern
  to   = google_compute_ssl_policy.modern[0]
}

moved {
  from = google_compute_global_forwarding_rule.https
  to   = google_compute_global_forwarding_rule.https[0]
}

moved {
  from = google_compute_security_policy.api
  to   = google_compute_security_policy.api[0]
}
