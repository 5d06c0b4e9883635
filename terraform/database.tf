# Cloud SQL for PostgreSQL with IAM database authentication (no passwords anywhere).
# The functions reach it through the Cloud SQL connector (mTLS) on its public IP with
# no authorized networks, or, with var.database_private_ip, straight to its private
# IP over TLS verified against the instance's CA.

resource "google_sql_database_instance" "main" {
  # checkov:skip=CKV_GCP_60:public IP without authorized networks: only the Cloud SQL connector (mTLS client certificates, IAM authentication) gets in; var.database_private_ip removes it
  # checkov:skip=CKV_GCP_79:PostgreSQL 15 is the version the SQL is tested on here; var.database_version takes newer ones
  # checkov:skip=CKV_GCP_110:pgAudit would write customers' feedback text into the logs; every change is already in the application's audit trail
  # checkov:skip=CKV_GCP_111:statement logging would write customers' feedback text into the logs; Query Insights shows the statements without their values
  # checkov:skip=CKV2_GCP_13:log_duration logs every statement; Query Insights gives latencies without the volume
  name                = "${var.name}-db"
  region              = var.region
  database_version    = var.database_version
  deletion_protection = true

  settings {
    tier              = local.database_tier
    edition           = "ENTERPRISE"
    availability_type = var.database_high_availability ? "REGIONAL" : "ZONAL"
    disk_autoresize   = true

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "03:00"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 14
      }
    }

    ip_configuration {
      ipv4_enabled    = !var.database_private_ip
      private_network = var.database_private_ip ? google_compute_network.private[0].id : null
      # Public: only the connector's client certificates. Private: TLS required.
      ssl_mode = var.database_private_ip ? "ENCRYPTED_ONLY" : "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    }

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    database_flags {
      name  = "max_connections"
      value = tostring(local.database_max_connections)
    }
    # Connections, checkpoints, lock waits and errors are logged; statements are not
    # (their parameters are customers' text): Query Insights covers slow queries.
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }

    insights_config {
      query_insights_enabled = true
    }

    maintenance_window {
      day  = 7
      hour = 4
    }
  }

  lifecycle {
    precondition {
      condition     = local.connections_at_full_scale + local.operator_connections <= local.database_max_connections
      error_message = "The functions at full scale (max_instances x concurrency) plus ${local.operator_connections} for operators need more than max_connections: raise database_max_connections (with a bigger database_tier) or lower max_instances."
    }
  }

  depends_on = [google_project_service.enabled, google_service_networking_connection.private]
}

resource "google_sql_database" "main" {
  name     = "pilot_feedback"
  instance = google_sql_database_instance.main.name
}

# Each function's service account is a database user (IAM authentication). The
# migration run grants them the service role (DB_SERVICE_USERS), nothing more.
resource "google_sql_user" "function" {
  for_each = local.functions
  name     = trimsuffix(google_service_account.function[each.key].email, ".gserviceaccount.com")
  instance = google_sql_database_instance.main.name
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# The migration owner: Cloud Build's service account, a separate database user.
resource "google_sql_user" "migrator" {
  name     = trimsuffix(google_service_account.deployer.email, ".gserviceaccount.com")
  instance = google_sql_database_instance.main.name
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# --- private IP (optional)

resource "google_compute_network" "private" {
  count                   = var.database_private_ip ? 1 : 0
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false

  depends_on = [google_project_service.enabled]
}

resource "google_compute_global_address" "private_services" {
  count         = var.database_private_ip ? 1 : 0
  name          = "${var.name}-sql-range"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.private[0].id
}

# The network holds no machines (only the connector's): nothing may come in.
resource "google_compute_firewall" "deny_ingress" {
  count     = var.database_private_ip ? 1 : 0
  name      = "${var.name}-deny-ingress"
  network   = google_compute_network.private[0].name
  direction = "INGRESS"
  priority  = 65534
  deny {
    protocol = "all"
  }
  source_ranges = ["0.0.0.0/0"]
}

resource "google_service_networking_connection" "private" {
  count                   = var.database_private_ip ? 1 : 0
  network                 = google_compute_network.private[0].id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services[0].name]
}

resource "google_vpc_access_connector" "functions" {
  count         = var.database_private_ip ? 1 : 0
  name          = "${substr(var.name, 0, 16)}-vpc"
  region        = var.region
  network       = google_compute_network.private[0].name
  ip_cidr_range = "10.8.0.0/28"
  min_instances = 2
  max_instances = 3
  machine_type  = "e2-micro"
}
