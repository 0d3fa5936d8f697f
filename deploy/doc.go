// Package deploy holds juicebatch's Kubernetes manifests and the tests that
// keep them deployable. It is a Go module of its own so that the Kubernetes
// API types its tests need never enter the tool's go.mod.
//
// The manifests are Kustomize directories:
//
//	base/                   the nightly sync: CronJob, PVC, Secret, ConfigMap
//	migration/              overlay: a one-off migration Job with --wait (suspends the CronJob)
//	examples/merchant-acme/ overlay: one CronJob per merchant (per API key)
//	examples/indexed/       many merchants' keys in one Indexed Job a night
//
// The tests read every kustomization.yaml under this directory, follow its
// resources and patches, and strictly decode every YAML document into its
// Kubernetes API type, so a misspelt field or a value of the wrong type
// fails the test instead of the kubectl apply. They then check what a
// juicebatch job needs to be right: one job at a time per key
// (concurrencyPolicy Forbid), a termination grace period above --grace,
// flags that juicebatch knows, files that the mounted volumes provide, a
// state file on a persistent volume, a non-root read-only container, and
// resource requests and limits. When kubectl is on PATH they also render
// each directory with `kubectl kustomize` and check the result the same way.
//
// There is no non-test code here beyond this comment.
package deploy
