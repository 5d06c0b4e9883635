# Cloud SQL for PostgreSQL. The functions reach it through the Cloud SQL connector
# (mTLS, IAM database authentication: no passwords anywhere), on its public IP with
# no authorized networks, or on a private IP when var.database_private_ip is set.

resource "google_sql_database_instance" "main" {
  name                = "${var.name}-db"
  region              = var.region
  database_version    = var.database_version
  deletion_protection = true

  settings {
    tier              = var.database_tier
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
      ssl_mode        = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" # only the connector's client certificates
    }

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    database_flags {
      name  = "max_connections"
      value = tostring(var.database_max_connections)
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "500"
    }

    insights_config {
      query_insights_enabled = true
    }

    maintenance_window {
      day  = 7
      hour = 4
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
}

resource "google_compute_global_address" "private_services" {
  count         = var.database_private_ip ? 1 : 0
  name          = "${var.name}-sql-range"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.private[0].id
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
