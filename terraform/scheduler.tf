resource "google_cloud_scheduler_job" "sweep" {
  name        = "${var.name}-outbox-sweep"
  description = "Publishes outbox events whose publish was lost or whose retry is due"
  schedule    = var.sweep_schedule
  region      = var.region

  retry_config {
    retry_count = 0 # the next run is the retry
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function["sweep"].service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.function["sweep"].service_config[0].uri
    }
  }

  depends_on = [google_project_service.enabled]
}

# The team's morning digests: each run makes those whose tenant's morning has come
# (shared/digest.py), so an hourly run reaches every time zone.
resource "google_cloud_scheduler_job" "digest" {
  name        = "${var.name}-digest"
  description = "Mails each admin their morning digest on working days"
  schedule    = var.digest_schedule
  region      = var.region

  retry_config {
    retry_count = 0 # the next run is the retry: a digest not made is made then
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.function["sweep"].service_config[0].uri}/digest"
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.function["sweep"].service_config[0].uri
    }
  }

  depends_on = [google_project_service.enabled]
}
