# One service account per function with only what it needs; separate identities
# for building, for invoking the internal functions, and for deploying. No default
# compute service account, no project-wide secret access, no editor or viewer.

# Pub/Sub's service agent exists only once something makes it: on a new project, made
# here before it is granted anything.
resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.enabled]
}

locals {
  pubsub_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
  # Functions whose changes write outbox events, published right after commit.
  publishers = ["feedback", "admin", "github_webhook", "sweep", "console", "email_intake"]
  # Functions anyone on the internet may call, through the front door (see ingress).
  public_functions   = [for name, f in local.functions : name if f.trigger == "http"]
  internal_functions = [for name, f in local.functions : name if f.trigger != "http"]

  function_project_roles = ["roles/cloudsql.client", "roles/cloudsql.instanceUser", "roles/logging.logWriter"]
  function_role_grants = {
    for pair in setproduct(keys(local.functions), local.function_project_roles) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], role = pair[1] }
  }

  # What the deployer (Cloud Build running terraform apply and migrations) administers.
  deployer_roles = [
    "roles/cloudfunctions.admin",
    "roles/run.admin",
    "roles/storage.admin",
    "roles/pubsub.admin",
    "roles/cloudscheduler.admin",
    "roles/cloudsql.admin",
    "roles/cloudsql.instanceUser",
    "roles/secretmanager.admin",
    "roles/apigateway.admin",
    "roles/compute.loadBalancerAdmin",
    "roles/compute.securityAdmin",
    "roles/compute.networkAdmin",
    "roles/vpcaccess.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/resourcemanager.projectIamAdmin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/logging.logWriter",
  ]
}

resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = "${substr(var.name, 0, 14)}-${substr(replace(each.key, "_", "-"), 0, 14)}"
  display_name = "${var.name} ${each.key} function"

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "function" {
  for_each = local.function_role_grants
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = toset(local.publishers)
  topic    = google_pubsub_topic.events.id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Pub/Sub push and Cloud Scheduler call the internal functions as this account.
resource "google_service_account" "invoker" {
  account_id   = "${substr(var.name, 0, 20)}-invoker"
  display_name = "${var.name} Pub/Sub push and scheduler invoker"

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = toset(local.internal_functions)
  location = var.region
  service  = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# The public API authenticates every request itself (API keys, JWTs, intake keys);
# ingress admits only the load balancer. (Behind API Gateway, only the gateway's
# account may invoke: api_gateway.tf.)
resource "google_cloud_run_service_iam_member" "public" {
  # checkov:skip=CKV_GCP_102:the public API: ingress admits only the load balancer, and the code authenticates every route
  for_each = toset(local.load_balancer ? local.public_functions : [])
  location = var.region
  service  = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Builds the functions' images (instead of the default compute service account).
resource "google_service_account" "builder" {
  account_id   = "${substr(var.name, 0, 20)}-builder"
  display_name = "${var.name} function builds"

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "builder" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_storage_bucket_iam_member" "builder_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"
}

# Cloud Build's identity: applies this configuration and runs the migrations as
# the database's owner (a database user separate from every function's).
resource "google_service_account" "deployer" {
  account_id   = "${substr(var.name, 0, 19)}-deployer"
  display_name = "${var.name} Cloud Build deployer and migrator"

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "deployer" {
  # checkov:skip=CKV_GCP_41:the deployer creates the functions' service accounts and deploys functions as them
  # checkov:skip=CKV_GCP_49:the deployer creates the functions' service accounts and deploys functions as them
  for_each = toset(local.deployer_roles)
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.deployer.email}"
}

# The project's number names its resources in some audiences (IAP's).
data "google_project" "this" {
  project_id = var.project_id
}
