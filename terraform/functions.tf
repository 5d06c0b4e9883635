# One Cloud Function (2nd gen) per endpoint group, all built from one source bundle
# named by its hash (a code change is a new object, so every function redeploys).
# GOOGLE_FUNCTION_SOURCE points the Python buildpack at the group's main.py, exactly
# as `functions-framework --source functions/<group>/main.py` runs it locally.
#
# Concurrency and max_instances come from the profile (profiles.tf): DB_POOL_SIZE is
# the concurrency, so no request waits for a connection. 512 MiB holds pydantic,
# pg8000 and the connector with room.

locals {
  functions = {
    feedback = {
      trigger     = "http"
      kind        = "" # takes no events
      ingress     = local.public_ingress
      timeout     = 60
      description = "The client API: submit, list, read, edit, vote, stats"
    }
    admin = {
      trigger     = "http"
      kind        = "" # takes no events
      ingress     = local.public_ingress
      timeout     = 60
      description = "Triage: the status workflow, answers, assignment, notes, history"
    }
    github_webhook = {
      trigger     = "http"
      kind        = "" # takes no events
      ingress     = local.public_ingress
      timeout     = 60
      description = "GitHub's issues webhook"
    }
    console = {
      trigger     = "http"
      kind        = "" # takes no events
      ingress     = local.public_ingress
      timeout     = 60
      description = "The team's triage console: pages under /console/"
    }
    email_intake = {
      trigger     = "http"
      kind        = "" # takes no events
      ingress     = local.public_ingress
      timeout     = 60
      description = "Feedback by mail: Mailgun's inbound webhook"
    }
    sweep = {
      trigger     = "scheduler"
      kind        = "" # takes no events
      ingress     = "ALLOW_INTERNAL_ONLY"
      timeout     = 120
      description = "Publishes due outbox events again"
    }
    notify = {
      trigger     = "pubsub"
      kind        = "mail"
      ingress     = "ALLOW_INTERNAL_ONLY"
      timeout     = 60
      description = "Mails to submitters"
    }
    github_sync = {
      trigger     = "pubsub"
      kind        = "github"
      ingress     = "ALLOW_INTERNAL_ONLY"
      timeout     = 120
      description = "GitHub issues from feedback"
    }
  }
  # (Every entry has the same attributes, so the map is one type for for_each.)

  # The load balancer admits only itself; API Gateway's calls come from outside the
  # project, so a function behind it takes any caller that holds the invoker role (iam.tf).
  public_ingress  = local.load_balancer ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_ALL"
  public_base_url = local.load_balancer ? "https://${var.domain}" : "https://${google_api_gateway_gateway.api[0].default_hostname}"

  # Secrets each function reads, by the variable that names the secret's version. The
  # HS256 key, when the identity provider signs that way, is read by the functions that
  # take bearer tokens, when first needed: they start before the key has a version.
  hs256_secret_env = { JWT_SECRET_SECRET = "jwt-key" }
  jwt_secret_env   = var.jwt.algorithm == "HS256" ? local.hs256_secret_env : {}
  secret_env = {
    github_sync    = { GITHUB_TOKEN_SECRET = "github-token" }
    github_webhook = { GITHUB_WEBHOOK_KEY_SECRET = "github-webhook-key" }
    notify         = { SMTP_PASSWORD_SECRET = "smtp-password" }
    email_intake   = { MAILGUN_SIGNING_KEY_SECRET = "mailgun-signing-key" }
    feedback       = local.jwt_secret_env
    admin          = local.jwt_secret_env
  }

  # Through the Cloud SQL connector, or straight to the private IP over TLS verified
  # against the instance's CA (no connector to import: a shorter cold start).
  db_env_connector = {
    INSTANCE_CONNECTION_NAME = google_sql_database_instance.main.connection_name
    DB_IP_TYPE               = "PUBLIC"
  }
  db_env_private_ip = {
    DB_HOST      = google_sql_database_instance.main.private_ip_address
    DB_PORT      = "5432"
    DB_SERVER_CA = google_sql_database_instance.main.server_ca_cert[0].cert
  }
  db_env = var.database_private_ip ? local.db_env_private_ip : local.db_env_connector

  common_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    DB_NAME              = google_sql_database.main.name
    DB_IAM_AUTH          = "true"
    API_BASE_PATH        = "/api/v1"
    PUBLIC_BASE_URL      = local.public_base_url
    SLA_TIMEZONE         = var.sla.timezone
    SLA_HOLIDAYS         = join(",", var.sla.holidays)
    EVENTS_TOPIC         = google_pubsub_topic.events.id
    GITHUB_PRIORITIES    = join(",", var.github.priorities)
  }

  api_env = {
    DEFAULT_TENANT_ID = var.default_tenant_id
    # The front end appends the client's address; the load balancer or the gateway, its own.
    FORWARDED_HOPS       = "2"
    AUTHORIZATION_HEADER = local.api_gateway ? "X-Forwarded-Authorization" : "Authorization"
    CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
    JWT_ISSUER           = var.jwt.issuer
    JWT_AUDIENCE         = var.jwt.audience
    JWT_JWKS_URL         = var.jwt.jwks_url
    JWT_ALGORITHM        = var.jwt.algorithm
    JWT_TENANT_CLAIM     = var.jwt.tenant_claim
    JWT_ROLE_CLAIM       = var.jwt.role_claim
  }

  # Where issues are made, and so which issues an admin may link to its items.
  github_env = {
    GITHUB_API_URL    = var.github.api_url
    GITHUB_REPOSITORY = var.github.repository
  }

  # The console verifies Identity-Aware Proxy's assertions when it sits behind it.
  console_env = {
    IAP_AUDIENCE = var.console_iap.enabled ? var.console_iap.audience : ""
  }

  github_sync_env = {
    GITHUB_HOURLY_CAP = tostring(var.github.hourly_cap)
  }

  # Feedback by mail: the intake addresses' domain (mails name it as Reply-To) and our
  # own address, so that a mail of ours coming back is known.
  mail_env = {
    INTAKE_DOMAIN = var.mail_intake.domain
    MAIL_FROM     = var.smtp.mail_from
  }

  smtp_env = {
    SMTP_HOST = var.smtp.host
    SMTP_PORT = tostring(var.smtp.port)
    SMTP_USER = var.smtp.user
  }

  function_env = {
    feedback       = local.api_env
    admin          = merge(local.api_env, local.github_env)
    github_webhook = {}
    sweep          = {}
    notify         = merge(local.mail_env, local.smtp_env)
    email_intake   = local.mail_env
    github_sync    = merge(local.github_env, local.github_sync_env)
    console        = merge(local.github_env, local.console_env)
  }

}

resource "google_storage_bucket" "source" {
  # checkov:skip=CKV_GCP_62:holds only build inputs, written by Terraform; the deployer's audit logs record who wrote them
  # checkov:skip=CKV_GCP_78:objects are named by their content's hash and never overwritten, so versions would add nothing
  name                        = "${var.project_id}-${var.name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds only build inputs
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# What the functions run, listed (a tree filtered by exclusion takes whatever else lies
# in the checkout: virtualenvs, caches, build output).
locals {
  source_root = abspath("${path.module}/..")
  source_patterns = [
    "requirements.txt", "functions/*/main.py", "shared/*.py",
    "shared/console_templates/*.html", "shared/console_static/*", # the console's pages
    "shared/page_templates/*", "shared/mail_templates/*.txt",     # pages opened from a mail; mail bodies
    "shared/widget/widget.js",                                    # the web widget's script
  ]
  source_files = sort(distinct(flatten([for p in local.source_patterns : fileset(local.source_root, p)])))
}

data "archive_file" "source" {
  type             = "zip"
  output_path      = "${path.module}/.build/source.zip"
  output_file_mode = "0644" # the hash depends on the files, not on who checked them out
  dynamic "source" {
    for_each = local.source_files
    content {
      content  = file("${local.source_root}/${source.value}")
      filename = source.value
    }
  }
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "function" {
  # checkov:skip=CKV_GCP_124:behind API Gateway the public functions take calls from outside the project, and only the gateway's own service account may invoke them
  for_each    = local.functions
  name        = "${var.name}-${replace(each.key, "_", "-")}"
  location    = var.region
  description = each.value.description

  build_config {
    runtime         = "python311"
    entry_point     = each.key
    service_account = google_service_account.builder.id
    environment_variables = {
      GOOGLE_FUNCTION_SOURCE = "functions/${each.key}/main.py"
    }
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count               = 0 # scale to zero
    max_instance_count               = local.max_instances[each.key]
    max_instance_request_concurrency = local.concurrency[each.key]
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = each.value.timeout
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email
    vpc_connector                    = var.database_private_ip ? google_vpc_access_connector.functions[0].id : null
    vpc_connector_egress_settings    = var.database_private_ip ? "PRIVATE_RANGES_ONLY" : null

    environment_variables = merge(
      local.db_env,
      local.common_env,
      local.function_env[each.key],
      {
        DB_USER      = google_sql_user.function[each.key].name
        DB_POOL_SIZE = tostring(local.concurrency[each.key])
      },
      { for env, secret in lookup(local.secret_env, each.key, {}) :
      env => "${google_secret_manager_secret.secret[secret].id}/versions/latest" },
    )
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.reader,
    google_project_iam_member.builder,
    google_storage_bucket_iam_member.builder_reads_source, # the build reads the bundle
  ]
}
