# Secrets are created empty: their values are added out of band (terraform/README.md),
# so no value is ever in Terraform's state, a tfvars file or a plan.
locals {
  secrets = {
    "github-token"        = "GitHub token that creates issues (github_sync)"
    "github-webhook-key"  = "Shared secret of the GitHub issues webhook (github_webhook)"
    "smtp-password"       = "Password of the SMTP relay (notify)"
    "mailgun-signing-key" = "Mailgun's webhook signing key, which signs its inbound posts (email_intake)"
    "jwt-key"             = "HS256 key of the identity provider's JWTs, if it signs that way (feedback, admin)"
  }

  # Who reads which secret: exactly the functions that use it.
  secret_readers = { for function, secrets in local.secret_env : function => values(secrets) }
  secret_grants = {
    for pair in flatten([
      for function, secrets in local.secret_readers : [for secret in secrets : { function = function, secret = secret }]
    ]) : "${pair.function}/${pair.secret}" => pair
  }
}

resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = "${var.name}-${each.key}"
  labels    = { app = var.name }
  annotations = {
    purpose = each.value
  }
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "reader" {
  for_each  = local.secret_grants
  secret_id = google_secret_manager_secret.secret[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
