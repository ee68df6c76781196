{{- define "burner-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "burner-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "burner-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "burner-operator.labels" -}}
app.kubernetes.io/name: {{ include "burner-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "burner-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "burner-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end -}}

{{- define "burner-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "burner-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "burner-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "burner-operator.metricsService" -}}
{{- include "burner-operator.fullname" . }}-metrics
{{- end -}}

{{/* Mount path of metrics.tls.secretName, passed as --metrics-cert-path. */}}
{{- define "burner-operator.metricsCertDir" -}}
/tmp/k8s-metrics-server/metrics-certs
{{- end -}}

{{/* The namespace of the ClusterBurnerIssuers' key Secrets (--cluster-resource-namespace). */}}
{{- define "burner-operator.clusterResourceNamespace" -}}
{{- .Values.clusterResourceNamespace | default .Release.Namespace -}}
{{- end -}}

{{/*
The manager's rules, files/manager-rules.yaml (which `make manifests` generates from the controller's RBAC markers),
split for a namespace-scoped install. Called with (dict "root" $ "select" S): S "cluster" keeps the resources that are
cluster-scoped (namespaces, clusterburnerissuers and their subresources), "namespaced" the others, "events" only the
events (the namespace "default" holds the events about cluster-scoped objects). A rule whose resources are all left
out is dropped; the rest of a rule (apiGroups, verbs) is kept as generated.
*/}}
{{- define "burner-operator.managerRules" -}}
{{- $clusterScoped := list "namespaces" "clusterburnerissuers" -}}
{{- $select := .select -}}
{{- $rules := list -}}
{{- range fromYamlArray (.root.Files.Get "files/manager-rules.yaml") -}}
{{- $resources := list -}}
{{- range .resources -}}
{{- $base := first (splitList "/" .) -}}
{{- $cluster := has $base $clusterScoped -}}
{{- if or (and (eq $select "cluster") $cluster) (and (eq $select "namespaced") (not $cluster)) (and (eq $select "events") (eq $base "events")) -}}
{{- $resources = append $resources . -}}
{{- end -}}
{{- end -}}
{{- if $resources -}}
{{- $rules = append $rules (set (omit . "resources") "resources" $resources) -}}
{{- end -}}
{{- end -}}
{{- toYaml $rules -}}
{{- end -}}

{{/* The namespaces of a namespace-scoped install: the watched ones and the cluster resource namespace. */}}
{{- define "burner-operator.managedNamespaces" -}}
{{- toYaml (uniq (append .Values.watchNamespaces (include "burner-operator.clusterResourceNamespace" .))) -}}
{{- end -}}
