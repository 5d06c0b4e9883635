output "base_url" {
  description = "The public base URL of the API (behind the load balancer: once DNS points var.domain at ip_address)."
  value       = "${local.public_base_url}/api/v1/feedback/"
}

output "ip_address" {
  description = "The load balancer's address, the A record of var.domain (none behind API Gateway)."
  value       = local.load_balancer ? google_compute_global_address.api[0].address : null
}

output "function_urls" {
  description = "Each function's own URL (internal functions accept only Pub/Sub and the scheduler; public ones only the front door)."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.service_config[0].uri }
}

output "instance_connection_name" {
  description = "The Cloud SQL instance, for INSTANCE_CONNECTION_NAME (migrations, manage.py)."
  value       = google_sql_database_instance.main.connection_name
}

output "migration_user" {
  description = "The database user migrations run as (DB_MIGRATION_USER): Cloud Build's service account."
  value       = google_sql_user.migrator.name
}

output "service_users" {
  description = "The functions' database users; `manage.py migrate` grants them the service role (DB_SERVICE_USERS)."
  value       = join(",", [for user in google_sql_user.function : user.name])
}

output "deployer_service_account" {
  description = "Run Cloud Build's trigger as this account."
  value       = google_service_account.deployer.email
}

output "webhook_url" {
  description = "Where the repository's GitHub webhook posts (content type application/json, Issues events)."
  value       = "${local.public_base_url}/api/v1/github/webhook/"
}

output "database_private_ip_address" {
  description = "The instance's private address (DB_HOST), when var.database_private_ip is set."
  value       = var.database_private_ip ? google_sql_database_instance.main.private_ip_address : null
}

output "database_server_ca" {
  description = "The instance's server CA (DB_SERVER_CA) for direct TLS connections."
  value       = google_sql_database_instance.main.server_ca_cert[0].cert
}

output "console_iap_audience" {
  description = "The audience of IAP's assertions for the console (behind the load balancer): set it as console_iap.audience and apply again."
  value       = local.load_balancer ? "/projects/${data.google_project.this.number}/global/backendServices/${google_compute_backend_service.function["console"].generated_id}" : null
}
