#!/usr/bin/env bash
# Deploys an overlay in the order a release needs:
#   1. the settings (ConfigMaps), the service account and the setup Job, then wait until the Job
#      has applied the migrations and created the streams and consumers;
#   2. everything else (Deployments, Services, Ingress, autoscalers), then wait for the rollouts.
# The services of a release never start before its schema: they run with MIGRATE_ON_START=false.
#
#   deploy/rollout.sh staging|production
#
# Needs kubectl with access to the cluster, the namespace and the Secret hhb24-secrets
# (docs/operations.md, "Kubernetes").
set -euo pipefail

overlay="${1:?usage: deploy/rollout.sh staging|production}"
dir="$(cd "$(dirname "$0")" && pwd)/overlays/$overlay"
[[ -d "$dir" ]] || { echo "no overlay $overlay in $(dirname "$dir")" >&2; exit 2; }

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$dir" >"$rendered"
ns="$(awk '$1 == "namespace:" { print $2; exit }' "$rendered")"

kubectl get namespace "$ns" >/dev/null
kubectl -n "$ns" get secret hhb24-secrets >/dev/null

echo "== $overlay: settings and the setup job"
# A Job's pod template cannot change: the finished Job of the previous release goes first.
kubectl -n "$ns" delete job hhb24-setup --ignore-not-found --wait=true
kubectl apply -f "$rendered" -l hhb24.io/phase=before-rollout
for _ in $(seq 1 180); do
  state="$(kubectl -n "$ns" get job hhb24-setup -o jsonpath='{.status.conditions[?(@.status=="True")].type}')"
  case "$state" in
    *Complete*) break ;;
    *Failed*)
      kubectl -n "$ns" logs job/hhb24-setup --tail=50 >&2 || true
      echo "the setup job failed: nothing else was changed" >&2
      exit 1
      ;;
  esac
  sleep 5
done
[[ "${state:-}" == *Complete* ]] || { echo "the setup job did not finish in 15 minutes" >&2; exit 1; }

echo "== $overlay: services"
kubectl apply -f "$rendered"
for deployment in $(kubectl -n "$ns" get deployments -l app.kubernetes.io/part-of=hh-b24 -o name); do
  kubectl -n "$ns" rollout status "$deployment" --timeout=10m
done
echo "== $overlay: done"
