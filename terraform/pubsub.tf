# Outbox events: one topic, and one push subscription per event function that
# takes only its kind (attribute filter), retries with backoff, and after
# max_delivery_attempts moves the message to the dead-letter topic. (The outbox
# row itself stays pending until delivered, so the sweep publishes it again; the
# dead-letter topic keeps the evidence for an operator.)

resource "google_pubsub_topic" "events" {
  # checkov:skip=CKV_GCP_83:messages carry only an outbox event's id and kind, nothing a customer wrote; Google-managed encryption
  name                       = "${var.name}-events"
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83:messages carry only an outbox event's id and kind, nothing a customer wrote; Google-managed encryption
  name       = "${var.name}-events-dead-letter"
  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${var.name}-events-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = "" # never expires
  }
}

locals {
  event_functions = { for name, f in local.functions : name => f if f.trigger == "pubsub" }
}

resource "google_pubsub_subscription" "push" {
  for_each = local.event_functions
  name     = "${var.name}-${replace(each.key, "_", "-")}"
  topic    = google_pubsub_topic.events.id
  filter   = "attributes.kind = \"${each.value.kind}\""

  ack_deadline_seconds = each.value.timeout + 10
  expiration_policy {
    ttl = ""
  }
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 10
  }

  push_config {
    # The path names the topic: functions-framework turns the push body into the
    # same message-published CloudEvent the function receives everywhere else.
    push_endpoint = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/${google_pubsub_topic.events.id}"
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.invoker]
}

# Pub/Sub's own agent signs the push tokens and moves messages to the dead-letter topic.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = google_pubsub_subscription.push
  subscription = each.value.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
